using Studies.Trials.Engine;
using Studies.Trials.Specs;

namespace Studies.Trials.Fusion;

/// <summary>
/// A pack member's optimiser as its callbacks see it: its learning rate (the plateau schedule changes
/// it), its own Adam moments or SGD momentum buffer over its parameters laid end to end, and its step
/// count. The pack (<see cref="PackOptimizer"/>) updates every member at once from these and writes
/// them back after each epoch, so a member's checkpoint holds its own state.
/// </summary>
/// <remarks>Its <c>optim.pt</c> holds these tensors, not libtorch's optimiser archive: a member checkpointed in a
/// pack resumes in a pack (a trial resumed alone finds it unreadable and restarts from scratch, as with a damaged one).</remarks>
internal sealed class MemberOptimizer : Optimizer
{
    /// <param name="parameters">The member's parameters in model order (kernels: names ending in "weight").</param>
    public MemberOptimizer(PhaseSpec phase, ModelSpec model, IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        Rule = phase.Optimizer;
        if (!FusionKey.Optimizers.Contains(Rule)) throw new ArgumentException($"optimizer '{Rule}' cannot be fused ({string.Join(", ", FusionKey.Optimizers)})");
        LearningRate = phase.LearningRate;
        Momentum = phase.Momentum;
        // The same groups as Optimizers.Create: kernels and biases, each with its L2 as weight decay 2*lambda.
        var decay = parameters.SelectMany(p => Enumerable.Repeat(
            (float)(phase.WeightDecay + 2 * (p.Name.EndsWith("weight", StringComparison.Ordinal) ? model.L2Kernel : model.L2Bias)), (int)p.Parameter.NumEl)).ToArray();
        var device = parameters[0].Parameter.Device;
        Decay = TensorScope.Detach(Torch.Tensor(decay, [decay.Length], device));
        HasDecay = decay.Any(d => d != 0);
        First = TensorScope.Detach(Torch.Zeros([decay.Length], device: device));
        Second = TensorScope.Detach(Torch.Zeros([decay.Length], device: device));
    }

    /// <summary>adam or sgd.</summary>
    public string Rule { get; }
    public override double LearningRate { get; set; }
    public double Momentum { get; }
    public double Beta1 => 0.9;
    public double Beta2 => 0.999;
    public double Eps => 1e-8;
    /// <summary>Weight decay of each parameter element.</summary>
    public Tensor Decay { get; }
    public bool HasDecay { get; }
    /// <summary>Adam's first moment, or SGD's momentum buffer.</summary>
    public Tensor First { get; }
    /// <summary>Adam's second moment (unused by SGD).</summary>
    public Tensor Second { get; }
    public long Steps { get; set; }

    public override void Step() => throw new InvalidOperationException("a pack member is stepped by its pack");
    public override void ZeroGrad() => throw new InvalidOperationException("a pack member is stepped by its pack");

    public override void Save(string path)
    {
        using var scope = TensorScope.Begin();
        Torch.Save(path, [("exp_avg", First), ("exp_avg_sq", Second), ("step", Torch.Tensor(new[] { Steps }, [1]))]);
    }

    public override void Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"optimiser state not found: {path}", path);
        using var scope = TensorScope.Begin();
        var step = Torch.Zeros([1], ScalarType.Int64);
        Torch.Load(path, [("exp_avg", First), ("exp_avg_sq", Second), ("step", step)]);
        Steps = step.ToArray<long>()[0];
    }

    public override void Dispose()
    {
        Decay.Dispose();
        First.Dispose();
        Second.Dispose();
    }
}
