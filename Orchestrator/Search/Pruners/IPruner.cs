namespace Studies.Orchestrator.Search.Pruners;

/// <summary>A pruner's word on a running trial after a validation epoch: go on, or stop with the rule's reason.</summary>
public sealed record PruneDecision(bool Prune, string Reason)
{
    public static readonly PruneDecision Continue = new(false, "");

    public static PruneDecision Stop(string reason) => new(true, reason);
}

/// <summary>
/// Decides, after each validation epoch of a trial, whether it goes on (Optuna's
/// <c>should_prune</c>, Ray Tune's <c>on_trial_result</c>). A pure function of the trial's curve and
/// the other trials as recorded in the store at that moment, so any orchestrator or Slurm task that
/// observes the trial decides the same. Values are minimised; a pruned trial is recorded as pruned
/// with the epoch and the reason, not as a failure.
/// </summary>
public interface IPruner
{
    PruneDecision Decide(SearchTrial trial, IReadOnlyList<SearchTrial> others);
}

/// <summary>Never prunes: the default, and the baseline that pruning's savings are measured against.</summary>
public sealed class NoPruner : IPruner
{
    public PruneDecision Decide(SearchTrial trial, IReadOnlyList<SearchTrial> others) => PruneDecision.Continue;
}

internal static class Curves
{
    /// <summary>The value at the first recorded step at or after <paramref name="step"/>, if the curve got there.</summary>
    public static double? At(IReadOnlyList<(int Step, double Value)> curve, int step)
    {
        foreach (var (s, v) in curve)
        {
            if (s >= step) return v;
        }
        return null;
    }

    /// <summary>The value recorded at exactly <paramref name="step"/>.</summary>
    public static double? Exactly(IReadOnlyList<(int Step, double Value)> curve, int step)
    {
        foreach (var (s, v) in curve)
        {
            if (s == step) return v;
        }
        return null;
    }
}
