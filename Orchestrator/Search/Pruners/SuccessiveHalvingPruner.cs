namespace Studies.Orchestrator.Search.Pruners;

/// <summary>
/// Asynchronous successive halving (ASHA; Li et al. 2020; Optuna's SuccessiveHalvingPruner). Rung k
/// sits at step r·η^(s+k) (r the minimum resource, η the reduction factor, s the minimum
/// early-stopping rate). A trial reaching a rung goes on only if its value there is among the best
/// 1/η of the values every trial recorded at that rung so far (itself included); while fewer than η
/// have, only the best goes on. Nothing waits for a rung to fill, so workers never idle.
/// </summary>
public sealed class SuccessiveHalvingPruner(int minResource = 1, int reductionFactor = 4, int minEarlyStoppingRate = 0) : IPruner
{
    public int MinResource { get; } = minResource >= 1 ? minResource : throw new ArgumentOutOfRangeException(nameof(minResource));

    public int ReductionFactor { get; } = reductionFactor >= 2 ? reductionFactor : throw new ArgumentOutOfRangeException(nameof(reductionFactor));

    public PruneDecision Decide(SearchTrial trial, IReadOnlyList<SearchTrial> others) => Decide(trial, others, _ => true);

    /// <summary>As <see cref="Decide(SearchTrial, IReadOnlyList{SearchTrial})"/>, competing only with the trials <paramref name="competes"/> admits (a Hyperband bracket).</summary>
    internal PruneDecision Decide(SearchTrial trial, IReadOnlyList<SearchTrial> others, Func<SearchTrial, bool> competes)
    {
        if (trial.Curve.Count == 0) return PruneDecision.Continue;
        var step = trial.Curve[^1].Step;
        for (var rung = 0; ; rung++)
        {
            var rungStep = RungStep(rung);
            if (step < rungStep) return PruneDecision.Continue;
            var value = Curves.At(trial.Curve, rungStep)!.Value;
            if (double.IsNaN(value)) return PruneDecision.Stop($"no value at rung {rung} (step {rungStep})");
            var competing = others.Where(t => t.Number != trial.Number && competes(t))
                .Select(t => Curves.At(t.Curve, rungStep)).OfType<double>().Where(v => !double.IsNaN(v))
                .Append(value).Order().ToArray();
            var promotable = Math.Max(competing.Length / ReductionFactor - 1, 0);
            if (value > competing[promotable])
                return PruneDecision.Stop($"value {value:G4} at rung {rung} (step {rungStep}) is outside the best 1/{ReductionFactor} of {competing.Length} trials there (cut {competing[promotable]:G4})");
        }
    }

    public int RungStep(int rung) => checked(MinResource * (int)Math.Pow(ReductionFactor, minEarlyStoppingRate + rung));
}
