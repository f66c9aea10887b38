using System.Text.Json.Nodes;
using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>Ends a phase when its <c>early_stopping</c> rule says so, fed the watched validation metric every epoch it is measured.</summary>
internal sealed class EarlyStop : ITrainingCallback
{
    private EarlyStopping? _rule;

    public string Name => "early_stopping";

    public void OnPhaseStart(TrainingContext run) => _rule = run.PhaseSpec.EarlyStopping is { } spec ? new EarlyStopping(spec) : null;

    public EpochDecision OnEpochEnd(TrainingContext run) =>
        _rule is not null && run.Metrics.TryGetValue(run.PhaseSpec.EarlyStopping!.Metric, out var watched) && _rule.ShouldStop(watched)
            ? EpochDecision.StopPhase
            : EpochDecision.Continue;

    public JsonNode? State() => _rule is null ? null : SpecJson.ToNode(new EarlyStoppingState(_rule.Best, _rule.EpochsWithoutImprovement));

    public void Restore(JsonNode state)
    {
        var saved = SpecJson.FromNode<EarlyStoppingState>(state);
        _rule?.Restore(saved.Best, saved.Epochs);
    }
}

internal sealed record EarlyStoppingState(double Best, int Epochs);
