using System.Text.Json.Nodes;
using Studies.Trials.Components;
using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>
/// Stops a phase when the watched metric has not improved by more than <c>min_delta</c> for
/// <c>patience</c> epochs, or for <c>minutes</c> of wall-clock training, whichever comes first
/// (Keras' EarlyStopping with a time budget). Only an improvement beyond <c>min_delta</c> moves the
/// reference value. With <c>minutes</c> the epoch it stops at depends on the machine's speed, so a
/// rerun may stop elsewhere; with <c>patience</c> alone it is reproducible.
/// </summary>
public sealed class MinDeltaStopping(EarlyStoppingSpec spec) : IStoppingRule
{
    public static readonly StoppingRuleEntry Entry = new("min-delta",
        "Stop when `metric` has not improved by more than `min_delta` for `patience` epochs, or for `minutes` of training.",
        [
            new OptionSpec("min_delta", OptionType.Number, "The smallest change of `metric` that counts as an improvement.") { Min = 0, Default = "0" },
            OptionSpec.Positive("minutes", "Also stop after this many wall-clock minutes without such an improvement; none: epochs only."),
        ],
        spec => new MinDeltaStopping(spec));

    private readonly double minDelta = spec.Options?["min_delta"]?.GetValue<double>() ?? 0;
    private readonly double? minutes = spec.Options?["minutes"]?.GetValue<double>();
    private State state = new(double.NaN, 0, 0);

    public bool ShouldStop(double value, double phaseSeconds)
    {
        if (double.IsNaN(value)) return Worse(phaseSeconds);
        var improved = double.IsNaN(state.Best)
            || (MetricDirection.HigherIsBetter(spec.Metric) ? value > state.Best + minDelta : value < state.Best - minDelta);
        if (!improved) return Worse(phaseSeconds);
        state = new State(value, 0, phaseSeconds);
        return false;
    }

    private bool Worse(double phaseSeconds)
    {
        state = state with { Epochs = state.Epochs + 1 };
        return state.Epochs >= spec.Patience || phaseSeconds - state.ImprovedAtSeconds >= minutes * 60;
    }

    JsonNode IStoppingRule.State() => SpecJson.ToNode(state);

    public void Restore(JsonNode state) => this.state = SpecJson.FromNode<State>(state);

    /// <param name="ImprovedAtSeconds">The phase's wall-clock seconds at the last improvement.</param>
    private sealed record State(double Best, int Epochs, double ImprovedAtSeconds);
}
