using System.Text.Json.Nodes;
using Studies.Trials.Data;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Training;
using Xunit.Abstractions;

namespace Studies.Trials.Tests.Training;

/// <summary>
/// The parametric-NN paper's central claim on its own toy (methods.md section 7): a pNN trained at
/// theta in {-2..2} reaches the Bayes-optimal AUC at held-out theta; a net without the mass does not.
/// </summary>
public sealed class ParametricClaimTests(ITestOutputHelper output)
{
    private static readonly TrialRunner Runner = new(new TrialDataProvider(), new PhaseLossFactory(), new MassEvaluator());

    private static TrialResult Train(string kind)
    {
        var spec = new TrialSpec
        {
            Data = new DataSpec
            {
                Source = "gaussian-toy",
                Options = new JsonObject { ["masses"] = new JsonArray(-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2), ["events_per_mass"] = 4000 },
                Holdout = HoldoutSpec.List(-1.5, -0.5, 0.5, 1.5),
                MassScale = 2,
            },
            Model = new ModelSpec { Kind = kind, Hidden = [16, 16], Activation = "relu", Balance = "class", WeightInit = "pytorch", BiasInit = "pytorch" },
            Schedule = [new PhaseSpec { Loss = "bce", Epochs = 12, Optimizer = "adam", LearningRate = 3e-3, Batch = 256 }],
            Seed = 5,
        };
        var result = Runner.Run(spec, new TrialRunOptions(), CancellationToken.None);
        Assert.True(result.Outcome == TrialOutcome.Completed, result.Error);
        return result;
    }

    private static IReadOnlyList<MassMetrics> HeldoutTest(TrialResult r) =>
        r.Masses.Where(m => m.Heldout && m.Split == SplitKind.Test && m.EpochKind == EpochKind.Last).OrderBy(m => m.Mass).ToList();

    [Fact]
    public void A_pnn_reaches_the_optimal_auc_at_heldout_masses_and_a_dnn_does_not()
    {
        var pnn = HeldoutTest(Train("pnn"));
        Assert.Equal(new[] { -1.5, -0.5, 0.5, 1.5 }, pnn.Select(m => m.Mass));
        foreach (var m in pnn)
        {
            var optimal = m.Metrics[MetricNames.Optimal(MetricNames.RocAuc)];
            Assert.True(Math.Abs(m.Metrics[MetricNames.RocAuc] - optimal) <= 0.01,
                $"pnn at theta = {m.Mass}: AUC {m.Metrics[MetricNames.RocAuc]:F4}, optimal {optimal:F4}");
        }

        var dnn = HeldoutTest(Train("dnn"));
        var dnnGap = dnn.Average(m => m.Metrics[MetricNames.Optimal(MetricNames.RocAuc)] - m.Metrics[MetricNames.RocAuc]);
        var pnnGap = pnn.Average(m => m.Metrics[MetricNames.Optimal(MetricNames.RocAuc)] - m.Metrics[MetricNames.RocAuc]);
        foreach (var (p, d) in pnn.Zip(dnn))
            output.WriteLine($"theta {p.Mass,5}: optimal {p.Metrics[MetricNames.Optimal(MetricNames.RocAuc)]:F4}  pnn {p.Metrics[MetricNames.RocAuc]:F4}  dnn {d.Metrics[MetricNames.RocAuc]:F4}");
        Assert.True(dnnGap > 0.03 && dnnGap > 5 * Math.Max(pnnGap, 0.001), $"dnn mean gap to the optimum {dnnGap:F4}, pnn {pnnGap:F4}");
    }

    [Fact]
    public void Signal_where_no_background_can_be_still_gets_optimal_metrics()
    {
        // theta = 4: half of its signal lies beyond the background's [-4, 4], where the likelihood ratio is infinite.
        var spec = new TrialSpec
        {
            Data = new DataSpec
            {
                Source = "gaussian-toy",
                Options = new JsonObject { ["masses"] = new JsonArray(1, 2, 3, 4), ["events_per_mass"] = 300 },
                Holdout = HoldoutSpec.List(3),
            },
            Model = new ModelSpec { Kind = "pnn", Hidden = [8], Activation = "relu" },
            Schedule = [new PhaseSpec { Loss = "bce", Epochs = 1, Optimizer = "adam", LearningRate = 1e-3, Batch = 128 }],
        };
        var result = Runner.Run(spec, new TrialRunOptions(), CancellationToken.None);
        Assert.True(result.Outcome == TrialOutcome.Completed, result.Error);
        var atFour = result.Masses.Single(m => m.Mass == 4 && m.Split == SplitKind.Test && m.EpochKind == EpochKind.Last);
        Assert.InRange(atFour.Metrics[MetricNames.Optimal(MetricNames.RocAuc)], 0.9, 1.0);
    }
}
