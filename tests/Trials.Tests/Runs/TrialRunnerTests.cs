using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Tests.Training;
using Studies.Trials.Training;

namespace Studies.Trials.Tests.Runs;

/// <summary>
/// The trial runner end to end on a small synthetic data set built here (independent of the data
/// sources): no held-out leakage, divergence, determinism and checkpoint resume.
/// </summary>
public sealed class TrialRunnerTests
{
    private static readonly TrialRunner Runner = new(new SyntheticData(), new PhaseLossFactory(), new MassEvaluator());

    private static TrialSpec Spec(string kind, params PhaseSpec[] schedule) => new()
    {
        Data = new DataSpec { Source = "synthetic" },
        Model = new ModelSpec { Kind = kind, Hidden = [8, 4], Activation = "tanh", Balance = kind == "dnn" ? "none" : "class" },
        Schedule = schedule,
        Seed = 3,
    };

    private static PhaseSpec Bce(int epochs, string? keepBest = null) =>
        new() { Loss = "bce", Epochs = epochs, Optimizer = "adam", LearningRate = 0.02, Batch = 64, KeepBest = keepBest };

    [Theory]
    [InlineData("dnn")]
    [InlineData("pnn")]
    [InlineData("affine-pnn")]
    [InlineData("per-mass")]
    public void Heldout_signal_enters_no_training_or_model_selection_batch(string kind)
    {
        var data = new SyntheticData().Load(new DataSpec { Source = "synthetic" }, 1);
        var seen = new Dictionary<BatchUse, int>();
        var leaked = new List<long>();
        var spec = Spec(kind, Bce(2, MetricNames.RocAuc),
            new PhaseSpec { Loss = "punzi", Epochs = 1, Optimizer = "sgd", LearningRate = 0.01, Batch = null },
            new PhaseSpec { Loss = "lovasz", Epochs = 1, Optimizer = "adam", LearningRate = 0.001, Batch = 128, KeepBest = MetricNames.SigmaMinBestCut });
        var result = Runner.Run(spec, new TrialRunOptions
        {
            OnBatch = (use, events) =>
            {
                seen[use] = seen.GetValueOrDefault(use) + 1;
                foreach (var i in events.Span) if (data.IsHeldoutSignal(i)) leaked.Add(i);
            },
        }, CancellationToken.None);

        Assert.True(result.Outcome == TrialOutcome.Completed, result.Error);
        Assert.True(seen.GetValueOrDefault(BatchUse.Training) > 0 && seen.GetValueOrDefault(BatchUse.ModelSelection) > 0);
        Assert.Empty(leaked);
        // Every mass, held out or not, is evaluated on both splits at the best and the last epoch.
        Assert.Equal(7 * 2 * 2, result.Masses.Count);
        Assert.All(result.Masses.Where(m => m.Heldout), m => Assert.Contains(m.Mass, new[] { -1.5, 1.5 }));
    }

    [Fact]
    public void A_loss_that_becomes_nan_ends_the_trial_as_diverged_naming_epoch_and_phase()
    {
        var spec = Spec("dnn", Bce(1), new PhaseSpec { Loss = "bce", Epochs = 5, Optimizer = "sgd", LearningRate = 1e38, Batch = 64 });
        var result = Runner.Run(spec, new TrialRunOptions(), CancellationToken.None);
        Assert.Equal(TrialOutcome.Diverged, result.Outcome);
        Assert.Matches("loss is (NaN|infinite) at epoch [1-5] of phase 2 \\(bce\\)", result.Error);
    }

    [Fact]
    public void The_same_seed_gives_the_same_result_and_another_seed_does_not()
    {
        var spec = Spec("pnn", Bce(3));
        var a = Runner.Run(spec, new TrialRunOptions(), CancellationToken.None);
        var b = Runner.Run(spec, new TrialRunOptions(), CancellationToken.None);
        var c = Runner.Run(spec with { Seed = 4 }, new TrialRunOptions(), CancellationToken.None);
        Assert.Equal(Losses(a), Losses(b));
        Assert.NotEqual(Losses(a), Losses(c));
    }

    [Fact]
    public void A_resumed_trial_ends_exactly_as_an_uninterrupted_one()
    {
        var spec = Spec("affine-pnn", Bce(3, MetricNames.RocAuc), Bce(3));
        var whole = Runner.Run(spec, new TrialRunOptions(), CancellationToken.None);

        var directory = InterruptedAtEpoch4(spec);
        try
        {
            var resumed = Runner.Run(spec, new TrialRunOptions { CheckpointDirectory = directory }, CancellationToken.None);

            Assert.Equal(TrialOutcome.Completed, resumed.Outcome);
            Assert.Equal(Losses(whole), Losses(resumed));
            Assert.Equal(whole.BestEpoch, resumed.BestEpoch);
            Assert.Equal(Metrics(whole), Metrics(resumed));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A checkpoint folder as a run cancelled after epoch 4 of 6 leaves it: slot of epoch 4 named by checkpoint.json, the other slot at epoch 3.</summary>
    private static string InterruptedAtEpoch4(TrialSpec spec)
    {
        var directory = Directory.CreateTempSubdirectory("studies-damaged-").FullName;
        using var cancel = new CancellationTokenSource();
        var first = Runner.Run(spec, new TrialRunOptions
        {
            CheckpointDirectory = directory,
            OnEpoch = (record, _) => { if (record.Epoch == 4) cancel.Cancel(); },
        }, cancel.Token);
        Assert.Equal(TrialOutcome.Cancelled, first.Outcome);
        return directory;
    }

    private static string SlotOfEpoch(string directory, int epoch) =>
        new[] { "a", "b" }.Single(slot => File.ReadAllText(Path.Combine(directory, slot, "state.json")).Contains($"\"global_epoch\":{epoch},", StringComparison.Ordinal));

    private static void Truncate(string path) => File.WriteAllBytes(path, File.ReadAllBytes(path)[..(int)(new FileInfo(path).Length / 2)]);

    [Theory]
    [InlineData("newest slot", "resuming from the checkpoint at epoch 3")]
    [InlineData("both slots", "restarting the trial from scratch")]
    [InlineData("checkpoint.json", "resuming from slot")]
    public void A_damaged_checkpoint_is_discarded_with_a_warning_and_the_trial_ends_as_an_uninterrupted_one(string damaged, string warning)
    {
        var spec = Spec("pnn", Bce(3, MetricNames.RocAuc), Bce(3));
        var whole = Runner.Run(spec, new TrialRunOptions(), CancellationToken.None);
        var directory = InterruptedAtEpoch4(spec);
        try
        {
            var newest = SlotOfEpoch(directory, 4);
            switch (damaged)
            {
                case "newest slot":
                    Truncate(Path.Combine(directory, newest, "model.pt"));
                    break;
                case "both slots":
                    Truncate(Path.Combine(directory, newest, "optim.pt"));
                    Truncate(Path.Combine(directory, Checkpoint.OtherSlot(newest), "model.pt"));
                    break;
                default:
                    Truncate(Path.Combine(directory, "checkpoint.json"));
                    break;
            }
            var warnings = new List<string>();
            var resumed = Runner.Run(spec, new TrialRunOptions { CheckpointDirectory = directory, OnWarning = warnings.Add }, CancellationToken.None);

            Assert.True(resumed.Outcome == TrialOutcome.Completed, resumed.Error);
            Assert.Contains(warnings, w => w.Contains(warning, StringComparison.Ordinal));
            Assert.Equal(Losses(whole), Losses(resumed));
            Assert.Equal(whole.BestEpoch, resumed.BestEpoch);
            Assert.Equal(Metrics(whole), Metrics(resumed));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_checkpoint_that_cannot_be_written_interrupts_the_trial_instead_of_failing_it()
    {
        // A folder below a plain file cannot be created, even by root: the nearest stand-in for a full or read-only disk here.
        var file = Path.GetTempFileName();
        try
        {
            var result = Runner.Run(Spec("dnn", Bce(2)), new TrialRunOptions { CheckpointDirectory = Path.Combine(file, "trial") }, CancellationToken.None);
            Assert.Equal(TrialOutcome.Cancelled, result.Outcome);
            Assert.StartsWith($"interrupted: the checkpoint could not be written to {Path.Combine(file, "trial")}", result.Error);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static double[] Losses(TrialResult r) => r.Epochs.Select(e => e.Metrics[MetricNames.Loss]).ToArray();

    private static double[] Metrics(TrialResult r) =>
        r.Masses.OrderBy(m => (m.Split, m.EpochKind, m.Mass)).Select(m => m.Metrics[MetricNames.RocAuc]).ToArray();
}
