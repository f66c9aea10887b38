using System.Text.Json.Nodes;
using Studies.Orchestrator.Terminal;
using Studies.Trials.Data;
using Studies.Trials.Components;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Tests.Terminal;

/// <summary>The ETA's cost model: an epoch's seconds from a shape's measured costs (worked out by hand), and which kinds the calibration measures.</summary>
public sealed class EpochCostModelTests
{
    private static TrialSpec Spec(string kind = "pnn", int? batch = 1000, string? keepBest = "roc_auc", int validationEvery = 1, int epochs = 10, string device = "cpu") => new()
    {
        Data = new DataSpec
        {
            Source = "gaussian-toy",
            Options = new JsonObject { ["masses"] = new JsonArray(-1.0, 0.0, 1.0), ["events_per_mass"] = 200 },
            Split = new SplitSpec(0.6, 0.2, 0.2),
        },
        Model = new ModelSpec { Kind = kind, Hidden = [4] },
        Schedule = [new PhaseSpec { Loss = "bce", Epochs = epochs, Batch = batch, KeepBest = keepBest }],
        Evaluation = new EvaluationSpec { ValidationEvery = validationEvery },
        Device = device,
    };

    /// <summary>A step costs 1 ms + 1 us an event, a scoring pass 0.5 ms + 0.1 us an event; 10,000 events, 5 trained masses.</summary>
    private static readonly ShapeCost Parametric = new(0.001, 1e-6, 0.0005, 1e-7, UsesMass: true);

    private static readonly DataSize Size = new(10_000, 4);

    [Fact]
    public void An_epoch_is_its_steps_its_validation_loss_and_one_scoring_per_trained_mass_where_it_selects()
    {
        // 6,000 training events in 6 steps of 1,000: 6 x (1 + 1) ms = 12 ms; the validation loss over 2,000 events 0.7 ms;
        // roc_auc every epoch at each of 5 trained masses: 5 x 0.7 = 3.5 ms.
        Assert.Equal(0.0162, EpochCostModel.EpochSeconds(Spec(), 0, Parametric, Size, trainedMasses: 5), 12);
        // A plain net scores the split once for all masses.
        Assert.Equal(0.0134, EpochCostModel.EpochSeconds(Spec(), 0, Parametric with { UsesMass = false }, Size, trainedMasses: 5), 12);
        // Nothing to select by but the validation loss: no scoring per mass.
        Assert.Equal(0.0127, EpochCostModel.EpochSeconds(Spec(keepBest: null), 0, Parametric, Size, trainedMasses: 5), 12);
        // roc_auc every 5th of 10 epochs: 2 of 10 epochs score per mass, 0.2 x 3.5 ms an epoch.
        Assert.Equal(0.0134, EpochCostModel.EpochSeconds(Spec(validationEvery: 5), 0, Parametric, Size, trainedMasses: 5), 12);
        // Drawing the batches, 0.1 us a training event (0.6 ms), and the metrics' own work at a selection epoch, 1 us a validation event (2 ms).
        Assert.Equal(0.0162 + 0.0006 + 0.002, EpochCostModel.EpochSeconds(Spec(), 0, Parametric with { PlanEventSeconds = 1e-7, SelectEventSeconds = 1e-6 }, Size, trainedMasses: 5), 12);
        // The whole training split in one step: 1 ms + 6,000 us.
        Assert.Equal(0.007 + 0.0007 + 0.0035, EpochCostModel.EpochSeconds(Spec(batch: null), 0, Parametric, Size, trainedMasses: 5), 12);
    }

    /// <summary>The end scores validation and test (4,000 events) at all 9 masses, twice (last and kept epoch), and does the
    /// metrics' work at each mass: 2 x (9 x (0.5 ms + 0.4 ms) + 4,000 x 1 us x 9 / 5) = 2 x (8.1 + 7.2) ms.</summary>
    [Fact]
    public void A_trials_end_is_two_evaluations_of_both_splits_at_every_mass()
    {
        Assert.Equal(0.0306, EpochCostModel.EndSeconds(Spec(), Parametric with { SelectEventSeconds = 1e-6 }, Size, trainedMasses: 5, allMasses: 9), 12);
        // A plain net scores each split once.
        Assert.Equal(2 * (0.0009 + 0.0072), EpochCostModel.EndSeconds(Spec(), Parametric with { UsesMass = false, SelectEventSeconds = 1e-6 }, Size, trainedMasses: 5, allMasses: 9), 12);
    }

    [Fact]
    public void The_calibration_measures_each_cpu_kind_once_and_leaves_gpu_trials_to_the_multiply_add_model()
    {
        var trials = new[] { Spec(), Spec() with { Seed = 2 }, Spec(kind: "per-mass"), Spec(device: "cuda:0") };
        var kinds = EpochCostModel.Calibrate(trials, budgetSeconds: 0, CancellationToken.None);
        Assert.Equal(new[] { EtaTrial.KindOf(Spec()), EtaTrial.KindOf(Spec(kind: "per-mass")) }.Order(), kinds.EpochSeconds.Keys.Order());
        Assert.All(kinds.EpochSeconds.Values, v => Assert.True(v.Count == 1 && double.IsFinite(v[0]) && v[0] > 0, $"{v[0]}"));
        Assert.Equal(kinds.EpochSeconds.Keys.Order(), kinds.EndSeconds.Keys.Order());
        Assert.All(kinds.EndSeconds.Values, v => Assert.True(double.IsFinite(v) && v > 0, $"{v}"));
    }
}
