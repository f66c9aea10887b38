using System.Text.Json.Nodes;
using Studies.Trials.Components;
using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>Ends a phase after <c>patience</c> epochs without improvement of the monitored validation metric.</summary>
public sealed class EarlyStopping(EarlyStoppingSpec spec) : IStoppingRule
{
    public static readonly StoppingRuleEntry Entry = new("patience",
        "Stop after `patience` epochs without any improvement of `metric` (the default).", [], spec => new EarlyStopping(spec));

    public double Best { get; private set; } = double.NaN;
    public int EpochsWithoutImprovement { get; private set; }

    /// <summary>Feeds one epoch's value; true when the phase should stop.</summary>
    public bool ShouldStop(double value)
    {
        if (MetricDirection.IsBetter(spec.Metric, value, Best))
        {
            Best = value;
            EpochsWithoutImprovement = 0;
            return false;
        }
        return ++EpochsWithoutImprovement >= spec.Patience;
    }

    public bool ShouldStop(double value, double phaseSeconds) => ShouldStop(value);

    public void Restore(double best, int epochsWithoutImprovement)
    {
        Best = best;
        EpochsWithoutImprovement = epochsWithoutImprovement;
    }

    /// <summary>The same form checkpoints of the release before the callback loop are migrated to (<see cref="CheckpointState.CallbackStates"/>).</summary>
    public JsonNode State() => SpecJson.ToNode(new EarlyStoppingState(Best, EpochsWithoutImprovement));

    public void Restore(JsonNode state)
    {
        var saved = SpecJson.FromNode<EarlyStoppingState>(state);
        Restore(saved.Best, saved.Epochs);
    }
}

internal sealed record EarlyStoppingState(double Best, int Epochs);
