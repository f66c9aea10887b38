using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Trials.Tests.Training;

/// <summary>
/// Pins what the training loop produces, bit for bit: every epoch's metrics and every per-mass
/// metric of short trials that use every part of the loop (batches, full batch, balanced batches,
/// the three background-mass modes, plateau on either loss, early stopping, keep-best on a
/// validation metric, validation every other epoch, several phases). The expected text was written
/// by the release before the loop became phases/epochs/steps with callbacks (6b2b100), so a
/// refactoring of the loop that changes any number, or the order of any random draw, fails here.
/// A checkpoint folder written by that release must resume to the same numbers.
/// Rewrite the fixtures only on purpose: <c>STUDIES_WRITE_PINS=1 dotnet test --filter TrainingPinTests</c>.
/// </summary>
public sealed class TrainingPinTests
{
    private static readonly TrialRunner Runner = new(new SyntheticData(), new PhaseLossFactory(), new MassEvaluator());

    private static PhaseSpec Bce(int epochs) => new() { Loss = "bce", Epochs = epochs, Optimizer = "adam", LearningRate = 0.02, Batch = 64 };

    /// <summary>The pinned trials, by name.</summary>
    public static readonly IReadOnlyDictionary<string, TrialSpec> Cases = new Dictionary<string, TrialSpec>
    {
        ["dnn-plateau-early"] = new()
        {
            Data = new DataSpec { Source = "synthetic" },
            Model = new ModelSpec { Kind = "dnn", Hidden = [8, 4] },
            Schedule =
            [
                Bce(10) with { LearningRate = 0.2, Plateau = new PlateauSpec(0.5, 0), EarlyStopping = new EarlyStoppingSpec(2, MetricNames.RocAuc), KeepBest = MetricNames.RocAuc },
                new PhaseSpec { Loss = "punzi", Epochs = 4, Optimizer = "sgd", LearningRate = 0.05, Batch = null, Plateau = new PlateauSpec(0.5, 0, Monitor: "train_loss") },
            ],
            Seed = 3,
        },
        ["pnn-resampled-batch"] = new()
        {
            Data = new DataSpec { Source = "synthetic" },
            Model = new ModelSpec { Kind = "pnn", Hidden = [8, 4], Balance = "class", BackgroundMassMode = "resampled-batch" },
            Schedule =
            [
                Bce(3),
                new PhaseSpec { Loss = "lovasz", Epochs = 2, Optimizer = "adamw", LearningRate = 0.001, Batch = 128, KeepBest = MetricNames.SigmaMinBestCut },
            ],
            Seed = 5,
        },
        ["affine-resampled-every-2"] = new()
        {
            Data = new DataSpec { Source = "synthetic" },
            Model = new ModelSpec { Kind = "affine-pnn", Hidden = [8, 4], BackgroundMassMode = "resampled", BackgroundMass = "uniform", Dropout = 0.1 },
            Schedule = [Bce(3) with { KeepBest = MetricNames.RocAuc, Optimizer = "radam" }],
            Evaluation = new EvaluationSpec { ValidationEvery = 2 },
            Seed = 7,
        },
        ["per-mass"] = new()
        {
            Data = new DataSpec { Source = "synthetic" },
            Model = new ModelSpec { Kind = "per-mass", Hidden = [4] },
            Schedule = [Bce(2) with { Optimizer = "sgd", Momentum = 0.9, WeightDecay = 1e-3 }],
            Seed = 11,
        },
    };

    /// <summary>The case a checkpoint fixture was cut from, and the epoch it was interrupted after (mid-phase, plateau and early stopping under way).</summary>
    private const string CheckpointCase = "dnn-plateau-early";
    private const int CheckpointEpoch = 3;

    [Theory]
    [InlineData("dnn-plateau-early")]
    [InlineData("pnn-resampled-batch")]
    [InlineData("affine-resampled-every-2")]
    [InlineData("per-mass")]
    public void A_trial_trains_to_exactly_the_numbers_of_the_release_before_the_callback_loop(string name)
    {
        var result = Runner.Run(Cases[name], new TrialRunOptions(), CancellationToken.None);
        Assert.True(result.Outcome == TrialOutcome.Completed, result.Error);
        Check(Path.Combine(FixtureDirectory(), $"{name}.txt"), Describe(result));
    }

    [Fact]
    public void A_checkpoint_written_by_the_release_before_the_callback_loop_resumes_to_the_same_numbers()
    {
        var fixture = Path.Combine(FixtureDirectory(), "checkpoint-6b2b100");
        // Never with STUDIES_WRITE_PINS: this fixture stands for what the old release wrote, which the current code cannot reproduce.
        if (Environment.GetEnvironmentVariable("STUDIES_WRITE_OLD_CHECKPOINT_FIXTURE") == "1") WriteCheckpointFixture(fixture);
        var directory = Directory.CreateTempSubdirectory("studies-pin-").FullName;
        try
        {
            foreach (var file in Directory.EnumerateFiles(fixture, "*", SearchOption.AllDirectories))
            {
                var target = Path.Combine(directory, Path.GetRelativePath(fixture, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
            var epochs = new List<int>();
            var resumed = Runner.Run(Cases[CheckpointCase], new TrialRunOptions { CheckpointDirectory = directory, OnEpoch = (r, _) => epochs.Add(r.Epoch) },
                CancellationToken.None);

            Assert.True(resumed.Outcome == TrialOutcome.Completed, resumed.Error);
            // Resumed, not restarted: the first epoch trained here is the one after the checkpoint.
            Assert.Equal(CheckpointEpoch + 1, epochs[0]);
            Assert.Equal(File.ReadAllText(Path.Combine(FixtureDirectory(), $"{CheckpointCase}.txt")), Describe(resumed));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static void WriteCheckpointFixture(string fixture)
    {
        if (Directory.Exists(fixture)) Directory.Delete(fixture, recursive: true);
        using var cancel = new CancellationTokenSource();
        var first = Runner.Run(Cases[CheckpointCase], new TrialRunOptions
        {
            CheckpointDirectory = fixture,
            OnEpoch = (record, _) => { if (record.Epoch == CheckpointEpoch) cancel.Cancel(); },
        }, cancel.Token);
        Assert.Equal(TrialOutcome.Cancelled, first.Outcome);
    }

    /// <summary>Every number of a result as round-trip text, one line each, in a fixed order.</summary>
    public static string Describe(TrialResult result)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"best {result.BestEpoch} last {result.LastEpoch}\n");
        foreach (var phase in result.Phases) text.Append(CultureInfo.InvariantCulture, $"phase {phase.Phase} {phase.Loss} epochs {phase.Epochs}\n");
        foreach (var epoch in result.Epochs)
        {
            foreach (var (name, value) in epoch.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal))
                text.Append(CultureInfo.InvariantCulture, $"epoch {epoch.Phase}/{epoch.Epoch} {name} {value:R}\n");
        }
        foreach (var mass in result.Masses.OrderBy(m => (m.EpochKind, m.Split, m.Mass)))
        {
            foreach (var (name, value) in mass.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal))
                text.Append(CultureInfo.InvariantCulture, $"mass {mass.EpochKind} {mass.Split} {mass.Mass:R} {(mass.Heldout ? "heldout" : "trained")} epoch {mass.Epoch} {name} {value:R}\n");
        }
        return text.ToString();
    }

    private static void Check(string path, string actual)
    {
        if (Environment.GetEnvironmentVariable("STUDIES_WRITE_PINS") == "1") File.WriteAllText(path, actual);
        var expected = File.ReadAllText(path);
        if (expected == actual) return;
        var first = expected.Split('\n').Zip(actual.Split('\n')).Select((pair, line) => (pair, line)).FirstOrDefault(x => x.pair.First != x.pair.Second);
        Assert.Fail($"{Path.GetFileName(path)} line {first.line + 1}: expected '{first.pair.First}', got '{first.pair.Second}'");
    }

    private static string FixtureDirectory([CallerFilePath] string source = "") => Path.Combine(Path.GetDirectoryName(source)!, "Pins");
}
