namespace Studies.Orchestrator.Search.Pruners;

/// <summary>A trial's curve of several objectives (all minimised), e.g. the trained-mass and the held-out-mass headline.</summary>
public sealed record ObjectiveCurve(int Number, IReadOnlyList<(int Step, double[] Values)> Points)
{
    public double[]? At(int step) => Points.FirstOrDefault(p => p.Step >= step).Values;
}

/// <summary>
/// Successive halving for two or more objectives, which Optuna's pruners do not support (#3450):
/// at each rung the competing trials are sorted into Pareto fronts (front 0: dominated by none;
/// front k: dominated only by earlier fronts). A trial goes on if it is on the first front, or if
/// its front is no worse than that of the trial at the best-1/η cut. So the whole current Pareto
/// front always survives, and at least the best 1/η by front.
/// </summary>
public sealed class ParetoSuccessiveHalvingPruner(int minResource = 1, int reductionFactor = 4)
{
    public PruneDecision Decide(ObjectiveCurve trial, IReadOnlyList<ObjectiveCurve> others)
    {
        if (trial.Points.Count == 0) return PruneDecision.Continue;
        var step = trial.Points[^1].Step;
        for (var rung = 0; ; rung++)
        {
            var rungStep = checked(minResource * (int)Math.Pow(reductionFactor, rung));
            if (step < rungStep) return PruneDecision.Continue;
            var mine = trial.At(rungStep)!;
            if (mine.Any(double.IsNaN)) return PruneDecision.Stop($"no value at rung {rung} (step {rungStep})");
            var competing = others.Where(o => o.Number != trial.Number).Select(o => o.At(rungStep))
                .OfType<double[]>().Where(v => !v.Any(double.IsNaN)).Prepend(mine).ToList();
            var fronts = Fronts(competing);
            var sorted = fronts.Order().ToArray();
            var cut = sorted[Math.Max(competing.Count / reductionFactor - 1, 0)];
            if (fronts[0] > 0 && fronts[0] > cut)
                return PruneDecision.Stop($"on Pareto front {fronts[0]} at rung {rung} (step {rungStep}); the best 1/{reductionFactor} of {competing.Count} trials reach front {cut}");
        }
    }

    /// <summary>Whether <paramref name="a"/> is no worse than <paramref name="b"/> in every objective and better in one.</summary>
    public static bool Dominates(double[] a, double[] b)
    {
        var better = false;
        for (var i = 0; i < a.Length; i++)
        {
            if (a[i] > b[i]) return false;
            if (a[i] < b[i]) better = true;
        }
        return better;
    }

    /// <summary>Each point's front (NSGA-II's fast non-dominated sort, O(n² m)).</summary>
    public static int[] Fronts(IReadOnlyList<double[]> points)
    {
        var n = points.Count;
        var dominatedBy = new int[n];
        var dominates = Enumerable.Range(0, n).Select(_ => new List<int>()).ToArray();
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                if (Dominates(points[i], points[j])) { dominates[i].Add(j); dominatedBy[j]++; }
                else if (Dominates(points[j], points[i])) { dominates[j].Add(i); dominatedBy[i]++; }
            }
        }
        var front = new int[n];
        var current = Enumerable.Range(0, n).Where(i => dominatedBy[i] == 0).ToList();
        for (var k = 0; current.Count > 0; k++)
        {
            var next = new List<int>();
            foreach (var i in current)
            {
                front[i] = k;
                foreach (var j in dominates[i])
                {
                    if (--dominatedBy[j] == 0) next.Add(j);
                }
            }
            current = next;
        }
        return front;
    }
}
