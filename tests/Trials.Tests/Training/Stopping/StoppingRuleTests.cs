using System.Text.Json.Nodes;
using Studies.Trials.Catalog;
using Studies.Trials.Components;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Trials.Tests.Training.Stopping;

/// <summary>The <c>min-delta</c> early-stopping rule by its effect, alone and in a trial.</summary>
public sealed class StoppingRuleTests
{
    private static IStoppingRule MinDelta(string metric, int patience, double? minDelta = null, double? minutes = null)
    {
        var options = new JsonObject();
        if (minDelta is { } d) options["min_delta"] = d;
        if (minutes is { } m) options["minutes"] = m;
        return ComponentCatalog.BuiltIn.StoppingRules.Get("min-delta").Create(new EarlyStoppingSpec(patience, metric) { Rule = "min-delta", Options = options });
    }

    [Fact]
    public void Improvements_smaller_than_min_delta_do_not_count()
    {
        double[] losses = [1.0, 0.97, 0.96, 0.5];
        var patience = new EarlyStopping(new EarlyStoppingSpec(2, MetricNames.Loss));
        var minDelta = MinDelta(MetricNames.Loss, 2, minDelta: 0.05);
        Assert.Equal([false, false, false, false], losses.Select(v => patience.ShouldStop(v, 0)));
        Assert.Equal([false, false, true], losses.Take(3).Select(v => minDelta.ShouldStop(v, 0)));
        // Higher is better for an AUC: +0.04 is below a min_delta of 0.05 and does not count, +0.10 does.
        var auc = MinDelta(MetricNames.RocAuc, 2, minDelta: 0.05);
        Assert.Equal([false, false, false, false, true], new[] { 0.70, 0.74, 0.80, 0.82, 0.84 }.Select(v => auc.ShouldStop(v, 0)));
    }

    [Fact]
    public void Minutes_without_improvement_stop_the_phase_whatever_the_patience()
    {
        var rule = MinDelta(MetricNames.Loss, 1000, minutes: 1);
        Assert.False(rule.ShouldStop(1.0, 0));
        Assert.False(rule.ShouldStop(1.0, 59));
        Assert.False(rule.ShouldStop(0.9, 70)); // an improvement restarts the clock
        Assert.False(rule.ShouldStop(0.95, 129));
        Assert.True(rule.ShouldStop(0.95, 130));
    }

    [Fact]
    public void The_state_survives_a_restart()
    {
        var rule = MinDelta(MetricNames.Loss, 3, minDelta: 0.1);
        rule.ShouldStop(1.0, 0);
        rule.ShouldStop(0.95, 1);
        var restored = MinDelta(MetricNames.Loss, 3, minDelta: 0.1);
        restored.Restore(rule.State());
        Assert.False(restored.ShouldStop(0.95, 2));
        Assert.True(restored.ShouldStop(0.95, 3));
    }

    [Theory]
    [InlineData(0.02, null, 4)] // roc_auc 0.665, 0.698 (+0.033), 0.704, 0.711: neither beats 0.698 by 0.02
    [InlineData(0.0, 1e-9, 5)] // epoch 5 is the first without improvement, and any time is over 1e-9 minutes
    public void In_a_trial_the_rule_ends_the_phase_where_the_pinned_curve_says(double minDelta, double? minutes, int epochs)
    {
        var spec = TrainingPinTests.Cases["dnn-plateau-early"];
        var options = new JsonObject { ["min_delta"] = minDelta };
        if (minutes is { } m) options["minutes"] = m;
        var first = spec.Schedule[0] with
        {
            EarlyStopping = new EarlyStoppingSpec(minutes is null ? 2 : 1000, MetricNames.RocAuc) { Rule = "min-delta", Options = options },
        };
        var runner = new TrialRunner(new SyntheticData(), new PhaseLossFactory(), new MassEvaluator());
        var result = runner.Run(spec with { Schedule = [first, spec.Schedule[1]] }, new TrialRunOptions(), CancellationToken.None);
        var pinned = runner.Run(spec, new TrialRunOptions(), CancellationToken.None);

        Assert.True(result.Outcome == TrialOutcome.Completed, result.Error);
        Assert.Equal(epochs, result.Phases[0].Epochs);
        // The patience rule of the pinned trial stops at 6; up to the stop both trained the same epochs.
        Assert.Equal(6, pinned.Phases[0].Epochs);
        Assert.Equal(pinned.Epochs.Take(epochs).Select(e => e.Metrics[MetricNames.RocAuc]), result.Epochs.Take(epochs).Select(e => e.Metrics[MetricNames.RocAuc]));
    }
}
