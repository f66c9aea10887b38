using Studies.Trials.Engine;

namespace Studies.Trials.Fusion;

/// <summary>
/// One optimiser for a pack: every member's Adam or SGD update in a dozen tensor operations over the
/// stacked parameters [members, P], with each member's own learning rate, momentum, betas, weight decay
/// and step count. The update rules are libtorch 1.13's (torch/csrc/api/src/optim/adam.cpp, sgd.cpp),
/// with the same scalars computed in double and rounded to float as libtorch does, so a member moves as
/// its unfused run would. A member gets no gradient from another's loss, so members stay independent.
/// </summary>
internal sealed class PackOptimizer : IDisposable
{
    private readonly MemberOptimizer[] members;
    private readonly string kind;
    private readonly Device device;
    private Tensor first, second;
    private readonly Tensor? decay;
    private readonly Tensor lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, momentum;
    private readonly long[] steps;

    public PackOptimizer(IReadOnlyList<MemberOptimizer> members)
    {
        this.members = [.. members];
        kind = members[0].Rule;
        if (members.Any(m => m.Rule != kind)) throw new ArgumentException("a pack's members share one optimiser kind");
        device = members[0].First.Device;
        using var scope = TensorScope.Begin();
        first = Keep(scope, Torch.Stack(members.Select(m => m.First).ToList()));
        second = Keep(scope, Torch.Stack(members.Select(m => m.Second).ToList()));
        decay = members.Any(m => m.HasDecay) ? Keep(scope, Torch.Stack(members.Select(m => m.Decay).ToList())) : null;
        lr = Keep(scope, Column(members.Select(m => m.LearningRate)));
        beta1 = Keep(scope, Column(members.Select(m => m.Beta1)));
        oneMinusBeta1 = Keep(scope, Column(members.Select(m => 1 - m.Beta1)));
        beta2 = Keep(scope, Column(members.Select(m => m.Beta2)));
        oneMinusBeta2 = Keep(scope, Column(members.Select(m => 1 - m.Beta2)));
        momentum = Keep(scope, Column(members.Select(m => m.Momentum)));
        steps = members.Select(m => m.Steps).ToArray();
    }

    /// <summary>Updates the members of <paramref name="stepping"/> (all when null); the others keep parameters and state.</summary>
    public void Step(Tensor flat, bool[]? stepping = null)
    {
        using var scope = TensorScope.Begin();
        using var noGrad = Torch.NoGrad();
        var mask = stepping is null ? null : Torch.Tensor(stepping.Select(s => s ? 1f : 0f).ToArray(), [stepping.Length, 1], device);
        for (var k = 0; k < steps.Length; k++) if (stepping?[k] ?? true) steps[k]++;
        var g = flat.Grad ?? throw new InvalidOperationException("the pack's parameters have no gradient");
        if (decay is not null) g = g + decay * flat;
        Tensor delta;
        if (kind == "adam")
        {
            var m = first * beta1 + g * oneMinusBeta1;
            var v = second * beta2 + g * g * oneMinusBeta2;
            // libtorch: denom = sqrt(v) / sqrt(1 - beta2^t) + eps; p -= lr / (1 - beta1^t) * m / denom.
            var sqrtCorrection = Column(members.Select((o, k) => Math.Sqrt(1 - Math.Pow(o.Beta2, steps[k]))));
            var stepSize = Column(members.Select((o, k) => o.LearningRate / (1 - Math.Pow(o.Beta1, steps[k]))));
            var eps = Column(members.Select(o => o.Eps));
            delta = m / (v.Sqrt() / sqrtCorrection + eps) * stepSize;
            first = Replace(first, m, mask, scope);
            second = Replace(second, v, mask, scope);
        }
        else
        {
            // libtorch SGD without dampening: buf = momentum * buf + g (buf = g at the first step, which a zero buffer gives).
            if (members.Any(o => o.Momentum != 0))
            {
                var buffer = first * momentum + g;
                first = Replace(first, buffer, mask, scope);
                g = first;
            }
            delta = g * lr;
        }
        if (mask is not null) delta = delta * mask;
        flat.Add_(delta, -1);
    }

    /// <summary>Hands each member its state back (after an epoch, before its callbacks checkpoint it).</summary>
    public void WriteBack()
    {
        using var scope = TensorScope.Begin();
        using var noGrad = Torch.NoGrad();
        for (var k = 0; k < members.Length; k++)
        {
            members[k].First.Copy_(first.Narrow(0, k, 1).Squeeze(0));
            members[k].Second.Copy_(second.Narrow(0, k, 1).Squeeze(0));
            members[k].Steps = steps[k];
        }
    }

    private Tensor Column(IEnumerable<double> values)
    {
        var v = values.Select(x => (float)x).ToArray();
        return Torch.Tensor(v, [v.Length, 1], device);
    }

    private static Tensor Keep(TensorScope scope, Tensor t) => TensorScope.Detach(scope.MoveToOuter(t));

    /// <summary>The new state tensor (kept out of the step's scope), the old one disposed; masked members keep their old rows.</summary>
    private static Tensor Replace(Tensor old, Tensor updated, Tensor? mask, TensorScope scope)
    {
        var next = mask is null ? updated : Torch.Where(mask.Gt(0.5), updated, old);
        next = next.Contiguous();
        if (ReferenceEquals(next, old)) return old;
        TensorScope.Detach(next);
        old.Dispose();
        return next;
    }

    public void Dispose()
    {
        foreach (var t in new[] { first, second, decay, lr, beta1, oneMinusBeta1, beta2, oneMinusBeta2, momentum }) t?.Dispose();
    }
}
