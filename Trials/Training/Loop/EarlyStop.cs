using System.Text.Json.Nodes;
using Studies.Trials.Components;

namespace Studies.Trials.Training;

/// <summary>Ends a phase when its <c>early_stopping</c> rule says so, fed the watched validation metric every epoch it is measured.</summary>
internal sealed class EarlyStop(Registry<StoppingRuleEntry> rules) : ITrainingCallback
{
    private IStoppingRule? rule;

    public string Name => "early_stopping";

    public void OnPhaseStart(TrainingContext run) =>
        rule = run.PhaseSpec.EarlyStopping is { } spec ? rules.Get(spec.Rule ?? EarlyStopping.Entry.Name).Create(spec) : null;

    public EpochDecision OnEpochEnd(TrainingContext run) =>
        rule is not null && run.Metrics.TryGetValue(run.PhaseSpec.EarlyStopping!.Metric, out var watched) && rule.ShouldStop(watched, run.PhaseSeconds)
            ? EpochDecision.StopPhase
            : EpochDecision.Continue;

    public JsonNode? State() => rule?.State();

    public void Restore(JsonNode state) => rule?.Restore(state);
}
