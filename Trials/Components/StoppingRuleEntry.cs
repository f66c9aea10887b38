using System.Text.Json.Nodes;
using Studies.Trials.Specs;

namespace Studies.Trials.Components;

/// <summary>
/// Decides, epoch by epoch, when a phase should stop early. Fed the phase's watched validation
/// metric (<c>early_stopping.metric</c>) every epoch it is measured; its state survives a restart.
/// </summary>
public interface IStoppingRule
{
    /// <param name="value">The watched metric at this epoch.</param>
    /// <param name="phaseSeconds">Wall-clock seconds the phase has trained so far (over restarts).</param>
    /// <returns>True when the phase should stop after this epoch.</returns>
    bool ShouldStop(double value, double phaseSeconds);

    JsonNode State();

    void Restore(JsonNode state);
}

/// <summary>
/// An early-stopping rule a phase may name (<c>early_stopping.rule</c>). Every rule reads
/// <see cref="EarlyStoppingSpec.Patience"/> and <see cref="EarlyStoppingSpec.Metric"/>; its own
/// options reach <see cref="Create"/> in <see cref="EarlyStoppingSpec.Options"/>, already checked
/// against <see cref="Options"/>.
/// </summary>
public sealed record StoppingRuleEntry(string Name, string Doc, IReadOnlyList<OptionSpec> Options, Func<EarlyStoppingSpec, IStoppingRule> Create)
    : IComponentEntry;
