namespace Studies.Orchestrator.Search.Pruners;

/// <summary>
/// Stops a trial whose best value so far is worse than the given percentile of the finished trials'
/// values at the same step (Optuna's PercentilePruner; the median pruner is its 50th percentile).
/// Nothing is pruned before <paramref name="startupTrials"/> trials have finished, before
/// <paramref name="warmupSteps"/>, or between checks <paramref name="interval"/> steps apart.
/// </summary>
public sealed class PercentilePruner(double percentile, int startupTrials = 5, int warmupSteps = 0, int interval = 1) : IPruner
{
    public static PercentilePruner Median(int startupTrials = 5, int warmupSteps = 0, int interval = 1) => new(50, startupTrials, warmupSteps, interval);

    public PruneDecision Decide(SearchTrial trial, IReadOnlyList<SearchTrial> others)
    {
        if (trial.Curve.Count == 0) return PruneDecision.Continue;
        var step = trial.Curve[^1].Step;
        var finished = others.Where(t => t.State == SearchTrialState.Complete).ToList();
        if (finished.Count < startupTrials || step < warmupSteps || (step - warmupSteps) % interval != 0) return PruneDecision.Continue;
        var atStep = finished.Select(t => Curves.Exactly(t.Curve, step)).OfType<double>().Where(double.IsFinite).ToArray();
        if (atStep.Length == 0) return PruneDecision.Continue;
        var best = trial.Curve.Select(c => c.Value).Where(v => !double.IsNaN(v)).DefaultIfEmpty(double.NaN).Min();
        if (double.IsNaN(best)) return PruneDecision.Stop($"no finite value by step {step}");
        var threshold = Percentile(atStep, percentile);
        return best > threshold
            ? PruneDecision.Stop($"best {best:G4} by step {step} is worse than the {percentile:G3}th percentile {threshold:G4} of {atStep.Length} finished trials there")
            : PruneDecision.Continue;
    }

    /// <summary>numpy's default (linear) percentile.</summary>
    internal static double Percentile(double[] values, double q)
    {
        var sorted = values.Order().ToArray();
        var position = q / 100 * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
    }
}
