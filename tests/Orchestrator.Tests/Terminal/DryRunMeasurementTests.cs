using System.Text.Json.Nodes;
using Studies.Orchestrator.Studies;
using Studies.Orchestrator.Terminal;
using Studies.Trials.Results;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Tests.Terminal;

/// <summary>The dry run's measured estimate with the ETA's calibrated cost model: which kinds are trained, and how the others are scaled.</summary>
public sealed class DryRunMeasurementTests
{
    /// <summary>Trains nothing: reports each epoch of the (shortened) schedule at once and counts the trials it was asked to run.</summary>
    private sealed class CountingRunner : ITrialRunner
    {
        public List<string> Kinds { get; } = [];

        public TrialResult Run(TrialSpec spec, TrialRunOptions options, CancellationToken cancellation)
        {
            lock (Kinds) Kinds.Add(spec.Model.Kind);
            var total = spec.Schedule.Sum(p => p.Epochs);
            var epoch = 0;
            for (var p = 0; p < spec.Schedule.Count; p++)
                for (var e = 0; e < spec.Schedule[p].Epochs; e++)
                    options.OnEpoch?.Invoke(new EpochRecord(p, ++epoch, new Dictionary<string, double>()), total);
            return new TrialResult { Outcome = TrialOutcome.Completed };
        }
    }

    private static PlannedTrial Trial(string id, string kind, string loss = "bce") => new(id, new TrialSpec
    {
        Data = new DataSpec { Source = "gaussian-toy", Options = new JsonObject { ["masses"] = new JsonArray(-1.0, 1.0), ["events_per_mass"] = 200 } },
        Model = new ModelSpec { Kind = kind, Hidden = [4] },
        Schedule = [new PhaseSpec { Loss = loss, Epochs = 10, Batch = 64 }],
    }, new Dictionary<string, string>());

    [Fact]
    public void Each_kind_is_trained_once()
    {
        var runner = new CountingRunner();
        var estimate = DryRunMeasurement.Estimate([Trial("a", "pnn"), Trial("b", "dnn"), Trial("c", "pnn")], slots: 1, runner, worker: null, CancellationToken.None);
        Assert.Equal(["pnn", "dnn"], runner.Kinds);
        Assert.Equal(2, estimate.Costs.Count);
    }

    /// <summary>
    /// Kinds a and b share data and schedule (group g) and differ in the model, which the calibration puts at 0.02 and 0.04 s an
    /// epoch; c is alone in its group; d is in g but not calibrated (a GPU trial). Each of a and b is the median of its own
    /// measurement and the other's scaled by the calibrated ratio; the start, set-up and end are pooled unscaled.
    /// </summary>
    [Fact]
    public void A_kinds_costs_are_pooled_with_its_groups_scaled_by_the_calibrated_ratio()
    {
        var measured = new Dictionary<string, KindCost>
        {
            ["a"] = new(1, [0.2], [0], [0.03], 2),
            ["b"] = new(3, [0.6], [0.1], [0.09], 4),
            ["c"] = new(5, [5], [0], [0], 5),
            ["d"] = new(7, [7], [0], [0], 7),
        };
        var groups = new Dictionary<string, string> { ["a"] = "g", ["b"] = "g", ["c"] = "h", ["d"] = "g" };
        var calibrated = new Dictionary<string, IReadOnlyList<double>> { ["a"] = [0.02], ["b"] = [0.04], ["c"] = [1] };
        var pooled = DryRunMeasurement.Pool(measured, groups, calibrated);
        // a: median of 0.2 and 0.6 x 0.02 / 0.04 = 0.3; b: median of 0.6 and 0.2 x 2 = 0.4.
        Assert.Equal(0.25, pooled["a"].EpochSeconds[0], 12);
        Assert.Equal(0.5, pooled["b"].EpochSeconds[0], 12);
        Assert.Equal(0.0375, pooled["a"].EvaluationSeconds[0], 12);
        Assert.Equal((2.0, 3.0, 0.05), (pooled["a"].StartSeconds, pooled["a"].EndSeconds, pooled["a"].PhaseStartSeconds[0]));
        Assert.Equal((5.0, 5.0, 5.0), (pooled["c"].StartSeconds, pooled["c"].EpochSeconds[0], pooled["c"].EndSeconds));
        Assert.Same(measured["d"], pooled["d"]);
    }
}
