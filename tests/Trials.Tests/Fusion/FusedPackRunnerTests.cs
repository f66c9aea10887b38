using Studies.Trials.Catalog;
using Studies.Trials.Engine;
using Studies.Trials.Fusion;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Tests.Training;
using Studies.Trials.Training;

namespace Studies.Trials.Tests.Fusion;

/// <summary>
/// A fused pack against the same trials run one by one (the oracle): every member's weights after 10
/// steps, for every loss and model kind; a member that diverges or is stopped leaves alone and stops
/// costing steps.
/// </summary>
public sealed class FusedPackRunnerTests : IDisposable
{
    private static readonly TrialRunner Runner = new(new SyntheticData(), new PhaseLossFactory(), new MassEvaluator());
    private readonly DirectoryInfo dir = Directory.CreateTempSubdirectory("fusion-test-");

    public void Dispose() => dir.Delete(recursive: true);

    private static int TrainCount(ulong seed)
    {
        var data = new SyntheticData().Load(new DataSpec { Source = "synthetic" }, seed);
        return data.Train.Count(i => !data.IsHeldoutSignal(i));
    }

    private static TrialSpec Spec(string kind, string loss, ulong seed, double lr, int epochs, string optimizer = "adam", double momentum = 0, double decay = 0)
    {
        // Ten steps: one epoch of ten batches, or ten epochs of the full-batch Punzi loss.
        var tenth = (TrainCount(seed) + 9) / 10;
        var phase = new PhaseSpec
        {
            Loss = loss, Epochs = loss == "punzi" ? 10 * epochs : epochs, Optimizer = optimizer, LearningRate = lr, Momentum = momentum, WeightDecay = decay,
            Batch = loss == "punzi" ? null : tenth,
        };
        return new TrialSpec
        {
            Data = new DataSpec { Source = "synthetic" },
            Model = new ModelSpec { Kind = kind, Hidden = [8, 4], Activation = "tanh", Balance = kind == "dnn" ? "none" : "class", L2Kernel = decay, Dropout = 0 },
            Schedule = [phase],
            Seed = seed,
        };
    }

    /// <summary>The weights of the checkpoint a run left in <paramref name="directory"/>.</summary>
    private static float[][] Weights(TrialSpec spec, string directory)
    {
        var state = new Checkpoint(directory).TryLoadState(Checkpoint.HashOf(spec)) ?? throw new InvalidOperationException("no checkpoint");
        using var scope = TensorScope.Begin();
        using var generator = new Generator(1);
        var data = new SyntheticData().Load(spec.Data, spec.Seed);
        using var model = ModelFactory.Create(spec.Model, 1, data.TrainedMasses.Select(m => m / 2).ToList(), generator);
        model.Load(Path.Combine(directory, state.Slot, "model.pt"));
        return model.Parameters().Select(p => p.ToArray<float>()).ToArray();
    }

    private (TrialResult Result, float[][] Weights) Alone(TrialSpec spec, string name)
    {
        var path = Path.Combine(dir.FullName, "alone-" + name);
        var result = Runner.Run(spec, new TrialRunOptions { CheckpointDirectory = path }, CancellationToken.None);
        return (result, result.Outcome == TrialOutcome.Completed ? Weights(spec, path) : []);
    }

    private (IReadOnlyList<TrialResult> Results, FusedPackRunner Pack) Fused(IReadOnlyList<TrialSpec> specs, Func<int, ITrainingController?>? controller = null,
        string prefix = "fused", Action<int, EpochRecord>? onEpoch = null, CancellationToken cancellation = default, bool nativeKernel = true)
    {
        var pack = new FusedPackRunner(Runner) { NativeKernel = nativeKernel };
        var results = pack.Run(specs.Select((s, k) => new PackMember(s, new TrialRunOptions
        {
            CheckpointDirectory = Path.Combine(dir.FullName, $"{prefix}-{k}"), Controller = controller?.Invoke(k),
            OnEpoch = (record, _) => onEpoch?.Invoke(k, record),
        })).ToList(), cancellation);
        return (results, pack);
    }

    /// <param name="wholeNet">Relative to the member's largest weight rather than to each tensor's.</param>
    private static void AssertClose(float[][] expected, float[][] actual, string what, bool wholeNet = false)
    {
        Assert.Equal(expected.Length, actual.Length);
        var largest = expected.SelectMany(t => t).Max(Math.Abs);
        for (var t = 0; t < expected.Length; t++)
        {
            double diff = 0, norm = 0;
            for (var i = 0; i < expected[t].Length; i++)
            {
                diff = Math.Max(diff, Math.Abs(expected[t][i] - actual[t][i]));
                norm = Math.Max(norm, Math.Abs(expected[t][i]));
            }
            if (wholeNet) norm = largest;
            Assert.True(diff <= 1e-5 * Math.Max(norm, 1e-3), $"{what}, tensor {t}: max difference {diff:G3} at max magnitude {norm:G3}");
        }
    }

    [Theory]
    [InlineData("dnn", "bce")]
    [InlineData("dnn", "punzi")]
    [InlineData("dnn", "lovasz")]
    [InlineData("pnn", "bce")]
    [InlineData("pnn", "punzi")]
    [InlineData("pnn", "lovasz")]
    [InlineData("affine-pnn", "bce")]
    [InlineData("affine-pnn", "punzi")]
    [InlineData("affine-pnn", "lovasz")]
    public void Each_member_after_ten_steps_has_the_weights_of_its_unfused_run(string kind, string loss)
    {
        // Two members share a seed (same data and batches, different learning rates); the third has its own.
        TrialSpec[] specs = [Spec(kind, loss, 3, 0.02, 1), Spec(kind, loss, 3, 0.005, 1), Spec(kind, loss, 5, 0.02, 1)];
        var (results, pack) = Fused(specs);
        Assert.Equal(10 * 3, pack.MemberSteps);
        for (var k = 0; k < specs.Length; k++)
        {
            Assert.True(results[k].Outcome == TrialOutcome.Completed, results[k].Error);
            var (alone, weights) = Alone(specs[k], $"{k}");
            AssertClose(weights, Weights(specs[k], Path.Combine(dir.FullName, $"fused-{k}")), $"member {k} ({kind}, {loss})");
            Assert.Equal(alone.Epochs.Count, results[k].Epochs.Count);
            Assert.Equal(alone.Epochs[^1].Metrics[MetricNames.Loss], results[k].Epochs[^1].Metrics[MetricNames.Loss], 4);
        }
        // Members are really different nets: the learning rate moved them apart.
        Assert.NotEqual(Weights(specs[0], Path.Combine(dir.FullName, "fused-0"))[0], Weights(specs[1], Path.Combine(dir.FullName, "fused-1"))[0]);
    }

    [Fact]
    public void Sgd_members_with_their_own_momentum_and_weight_decay_match_their_unfused_runs()
    {
        TrialSpec[] specs = [Spec("pnn", "bce", 3, 0.05, 1, "sgd", 0.9, 1e-3), Spec("pnn", "bce", 4, 0.1, 1, "sgd", 0, 0)];
        var (results, _) = Fused(specs);
        for (var k = 0; k < specs.Length; k++)
        {
            Assert.True(results[k].Outcome == TrialOutcome.Completed, results[k].Error);
            AssertClose(Alone(specs[k], $"{k}").Weights, Weights(specs[k], Path.Combine(dir.FullName, $"fused-{k}")), $"sgd member {k}");
        }
    }

    [Fact]
    public void A_member_whose_loss_turns_nan_diverges_alone()
    {
        TrialSpec[] specs = [Spec("dnn", "bce", 3, 0.02, 3, "sgd"), Spec("dnn", "bce", 3, 1e38, 3, "sgd"), Spec("dnn", "bce", 5, 0.02, 3, "sgd")];
        var (results, pack) = Fused(specs);
        Assert.Equal(TrialOutcome.Diverged, results[1].Outcome);
        Assert.Matches("loss is (NaN|infinite) at epoch", results[1].Error);
        foreach (var k in new[] { 0, 2 })
        {
            Assert.True(results[k].Outcome == TrialOutcome.Completed, results[k].Error);
            AssertClose(Alone(specs[k], $"{k}").Weights, Weights(specs[k], Path.Combine(dir.FullName, $"fused-{k}")), $"member {k} beside a diverging one");
        }
        // The diverged member left the pack after its bad epoch.
        var divergedEpochs = results[1].Epochs.Count;
        Assert.Equal(10 * (3 + 3 + divergedEpochs), pack.MemberSteps);
    }

    private sealed class StopAt(int epoch) : ITrainingController
    {
        public EpochDecision OnEpochEnd(EpochRecord record, int totalEpochs) => record.Epoch >= epoch ? EpochDecision.StopTrial : EpochDecision.Continue;
    }

    [Fact]
    public void A_stopped_member_leaves_the_pack_and_costs_no_more_steps()
    {
        TrialSpec[] specs = [Spec("pnn", "bce", 3, 0.02, 6), Spec("pnn", "bce", 4, 0.02, 6), Spec("pnn", "bce", 5, 0.02, 6)];
        var (results, pack) = Fused(specs, k => k == 1 ? new StopAt(2) : null);
        Assert.All(results, r => Assert.Equal(TrialOutcome.Completed, r.Outcome));
        Assert.Equal(2, results[1].LastEpoch);
        Assert.Equal(6, results[0].LastEpoch);
        // Ten steps an epoch: six epochs for two members, two for the stopped one, and no pack step spent on it afterwards.
        Assert.Equal(10 * (6 + 2 + 6), pack.MemberSteps);
        Assert.Equal(10 * 6, pack.PackSteps);
        AssertClose(Alone(specs[2], "2").Weights, Weights(specs[2], Path.Combine(dir.FullName, "fused-2")), "member beside a stopped one");
    }

    [Fact]
    public void An_interrupted_pack_resumes_each_member_from_its_checkpoint_and_ends_as_an_uninterrupted_one()
    {
        TrialSpec[] specs = [Spec("pnn", "bce", 3, 0.02, 4), Spec("pnn", "bce", 4, 0.01, 4), Spec("pnn", "bce", 5, 0.02, 4)];
        var (whole, _) = Fused(specs, prefix: "whole");

        using var stop = new CancellationTokenSource();
        var (interrupted, _) = Fused(specs, onEpoch: (k, record) => { if (record.Epoch == 2) stop.Cancel(); }, cancellation: stop.Token);
        Assert.All(interrupted, r => Assert.Equal(TrialOutcome.Cancelled, r.Outcome));
        Assert.All(interrupted, r => Assert.Equal(2, r.Epochs.Count));

        var resumedEpochs = new int[specs.Length];
        var (resumed, pack) = Fused(specs, onEpoch: (k, _) => resumedEpochs[k]++);
        // Only the two epochs left are trained again, for every member: nothing lost, nothing done twice.
        Assert.Equal([2, 2, 2], resumedEpochs);
        Assert.Equal(10 * 2 * 3, pack.MemberSteps);
        for (var k = 0; k < specs.Length; k++)
        {
            Assert.True(resumed[k].Outcome == TrialOutcome.Completed, resumed[k].Error);
            Assert.Equal(whole[k].Epochs.Select(e => e.Epoch), resumed[k].Epochs.Select(e => e.Epoch));
            Assert.Equal(whole[k].Epochs[^1].Metrics[MetricNames.Loss], resumed[k].Epochs[^1].Metrics[MetricNames.Loss], 5);
            AssertClose(Weights(specs[k], Path.Combine(dir.FullName, $"whole-{k}")), Weights(specs[k], Path.Combine(dir.FullName, $"fused-{k}")), $"resumed member {k}");
        }
    }

    [Fact]
    public void A_members_final_metrics_are_its_unfused_runs_within_the_seed_spread()
    {
        TrialSpec[] specs = [Spec("pnn", "bce", 3, 0.02, 3), Spec("pnn", "bce", 5, 0.02, 3)];
        var (fused, _) = Fused(specs);
        var alone = specs.Select((s, k) => Alone(s, $"{k}").Result).ToList();
        static double Headline(TrialResult r) => r.Masses.Where(m => m.Split == SplitKind.Test && m.EpochKind == EpochKind.Best)
            .Average(m => m.Metrics[MetricNames.RocAuc]);
        var spread = Math.Abs(Headline(alone[0]) - Headline(alone[1]));
        Assert.True(spread > 0, "the two seeds give different nets");
        for (var k = 0; k < specs.Length; k++)
        {
            Assert.Equal(alone[k].BestEpoch, fused[k].BestEpoch);
            Assert.True(Math.Abs(Headline(fused[k]) - Headline(alone[k])) <= spread / 10,
                $"member {k}: test ROC AUC {Headline(fused[k]):F6} fused, {Headline(alone[k]):F6} alone, seed spread {spread:F6}");
        }
    }

    [Theory]
    [InlineData("dnn", "tanh", "adam", "fixed")]
    [InlineData("dnn", "relu", "adam", "fixed")]
    [InlineData("pnn", "tanh", "adam", "fixed")]
    [InlineData("pnn", "tanh", "adam", "resampled-batch")]
    [InlineData("affine-pnn", "tanh", "adam", "fixed")]
    [InlineData("affine-pnn", "relu", "sgd", "resampled-batch")]
    [InlineData("pnn", "tanh", "sgd", "fixed")]
    public void The_native_step_moves_each_member_as_its_unfused_run_and_as_the_libtorch_pack_does(string kind, string activation, string optimizer, string backgroundMass)
    {
        TrialSpec Member(ulong seed, double lr, double momentum) => Spec(kind, "bce", seed, lr, 1, optimizer, momentum) with
        {
            Model = Spec(kind, "bce", seed, lr, 1).Model with { Activation = activation, BackgroundMassMode = backgroundMass },
        };
        TrialSpec[] specs = [Member(3, 0.02, 0.9), Member(3, 0.005, 0), Member(5, 0.02, 0.5)];
        var (native, nativePack) = Fused(specs, prefix: "native");
        var (libtorch, libtorchPack) = Fused(specs, prefix: "libtorch", nativeKernel: false);
        // Ten steps of the pack, every one through the kernel (and none in the libtorch run).
        Assert.Equal(10, nativePack.KernelSteps);
        Assert.Equal(0, libtorchPack.KernelSteps);
        for (var k = 0; k < specs.Length; k++)
        {
            Assert.True(native[k].Outcome == TrialOutcome.Completed, native[k].Error);
            Assert.True(libtorch[k].Outcome == TrialOutcome.Completed, libtorch[k].Error);
            var what = $"member {k} ({kind}, {activation}, {optimizer}, {backgroundMass})";
            var weights = Weights(specs[k], Path.Combine(dir.FullName, $"native-{k}"));
            AssertClose(Alone(specs[k], $"{k}").Weights, weights, what + " against its unfused run");
            // Against the libtorch pack relative to the member's largest weight: that pack's own float sums differ from the unfused
            // run's (affine-pnn's output bias, 9e-4 after ten Adam steps, by 1.7e-8), so per tensor it is no sharper an oracle.
            AssertClose(Weights(specs[k], Path.Combine(dir.FullName, $"libtorch-{k}")), weights, what + " against the libtorch pack", wholeNet: true);
            Assert.Equal(libtorch[k].Epochs[^1].Metrics[MetricNames.Loss], native[k].Epochs[^1].Metrics[MetricNames.Loss], 5);
            // The validation loss the pack computed natively for every member at once, against the member's own libtorch loss.
            Assert.Equal(libtorch[k].Epochs[^1].Metrics[MetricNames.ValidationLoss], native[k].Epochs[^1].Metrics[MetricNames.ValidationLoss], 5);
        }
    }

    [Theory]
    [InlineData("punzi")]
    [InlineData("lovasz")]
    public void Packs_of_losses_the_kernel_does_not_compute_step_through_libtorch(string loss)
    {
        var (results, pack) = Fused([Spec("pnn", loss, 3, 0.02, 1), Spec("pnn", loss, 5, 0.01, 1)]);
        Assert.All(results, r => Assert.Equal(TrialOutcome.Completed, r.Outcome));
        Assert.Equal(10, pack.PackSteps);
        Assert.Equal(0, pack.KernelSteps);
    }

    [Fact]
    public void Packs_of_nets_wider_than_the_kernels_limit_step_through_libtorch()
    {
        // NativePackStep.MaxWidth is 128: a 129-wide hidden layer goes to libtorch's BLAS; 128 stays native.
        TrialSpec Wide(int width, ulong seed) => Spec("dnn", "bce", seed, 0.01, 1) with { Model = Spec("dnn", "bce", seed, 0.01, 1).Model with { Hidden = [width] } };
        var (wide, widePack) = Fused([Wide(129, 3), Wide(129, 5)], prefix: "wide");
        var (narrow, narrowPack) = Fused([Wide(128, 3), Wide(128, 5)], prefix: "narrow");
        Assert.All(wide.Concat(narrow), r => Assert.Equal(TrialOutcome.Completed, r.Outcome));
        Assert.Equal(0, widePack.KernelSteps);
        Assert.Equal(10, narrowPack.KernelSteps);
    }
}
