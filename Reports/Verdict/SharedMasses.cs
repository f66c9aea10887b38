using Studies.Reports.Analysis;
using Studies.Reports.Input;
using Studies.Trials.Data;
using Studies.Trials.Results;

namespace Studies.Reports.Verdict;

/// <summary>Which masses a headline is averaged over.</summary>
public enum MassRole
{
    /// <summary>Masses both trials of a pair were trained at.</summary>
    Trained,
    /// <summary>Masses both trials held out; against a method that held nothing out (a per-mass reference), the other's held-out masses.</summary>
    Heldout,
}

/// <summary>One seed pair's headline difference, over the masses both trials share in the role.</summary>
/// <param name="Key">The values of every non-compared axis (seed, ...) that pair the two trials.</param>
/// <param name="Masses">The masses the two averages are taken over (the same for both sides).</param>
public sealed record SeedDifference(string Key, IReadOnlyList<double> Masses, double ValueA, double ValueB)
{
    public double Difference => ValueA - ValueB;
}

/// <summary>
/// Pairs the trials of two methods seed by seed and averages each side over the masses BOTH trials
/// have in the same role (issue 28: averaging each trial over its own masses compared pnn at 500 and
/// 1500 GeV with per-mass nets at 500, 1000 and 1500 GeV and called the difference significant).
/// </summary>
public static class SharedMasses
{
    /// <summary>Test-split, best-epoch metrics of a trial by mass, with the mass's role.</summary>
    private static List<MassMetrics> TestBest(TrialResult r) =>
        r.Masses.Where(m => m.Split == SplitKind.Test && m.EpochKind == EpochKind.Best).ToList();

    /// <summary>
    /// The masses two trials share in <paramref name="role"/>, sorted. Held-out: masses both held out;
    /// when exactly one of them held nothing out (a reference trained at every mass), the other's
    /// held-out masses at which the reference was evaluated, i.e. "interpolated against trained there".
    /// </summary>
    public static IReadOnlyList<double> Shared(TrialResult a, TrialResult b, MassRole role)
    {
        var ma = TestBest(a);
        var mb = TestBest(b);
        bool In(List<MassMetrics> list, double mass, bool heldout) => list.Any(m => m.Heldout == heldout && MassGrid.Same(m.Mass, mass));
        if (role == MassRole.Trained)
            return ma.Where(m => !m.Heldout && In(mb, m.Mass, false)).Select(m => m.Mass).Distinct().Order().ToList();
        var aHolds = ma.Any(m => m.Heldout);
        var bHolds = mb.Any(m => m.Heldout);
        if (aHolds && bHolds)
            return ma.Where(m => m.Heldout && In(mb, m.Mass, true)).Select(m => m.Mass).Distinct().Order().ToList();
        if (aHolds) return ma.Where(m => m.Heldout && In(mb, m.Mass, false)).Select(m => m.Mass).Distinct().Order().ToList();
        if (bHolds) return mb.Where(m => m.Heldout && In(ma, m.Mass, false)).Select(m => m.Mass).Distinct().Order().ToList();
        return [];
    }

    /// <summary>A trial's metric averaged over the given masses (test split, best epoch); NaN when none is finite.</summary>
    public static double AverageAt(TrialResult r, string metric, IReadOnlyList<double> masses) => ReportMath.MassAverageAt(r, metric, masses);

    /// <summary>The key that pairs trials: every non-compared axis value (seed and any other repetition axis).</summary>
    public static string PairKey(StudyRecord study, TrialRecord trial) =>
        string.Join("\u001f", trial.Axes.Where(kv => !study.CompareAxes.Contains(kv.Key))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));

    /// <summary>
    /// Seed pairs of A and B (same study, same non-compared axis values) with a finite headline on
    /// both sides over their shared masses; a trial without a partner or without shared masses is left out.
    /// </summary>
    public static IReadOnlyList<SeedDifference> Pairs(MethodGroup a, MethodGroup b, string metric, MassRole role)
    {
        var byKey = new Dictionary<string, TrialResult>(StringComparer.Ordinal);
        foreach (var (trial, result) in b.Completed) byKey.TryAdd(PairKey(b.Study, trial), result);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pairs = new List<SeedDifference>();
        foreach (var (trial, ra) in a.Completed)
        {
            var key = PairKey(a.Study, trial);
            if (!seen.Add(key) || !byKey.TryGetValue(key, out var rb)) continue;
            var masses = Shared(ra, rb, role);
            if (masses.Count == 0) continue;
            var va = AverageAt(ra, metric, masses);
            var vb = AverageAt(rb, metric, masses);
            if (double.IsFinite(va) && double.IsFinite(vb)) pairs.Add(new SeedDifference(key, masses, va, vb));
        }
        return pairs;
    }

    /// <summary>
    /// The interpolation question, mass by mass: at each mass A held out and B trained at, the seed
    /// pairs' values there (A interpolating, B trained there).
    /// </summary>
    public static IReadOnlyList<(double Mass, IReadOnlyList<SeedDifference> Pairs)> HeldoutAgainstTrained(MethodGroup a, MethodGroup b, string metric)
    {
        var byKey = new Dictionary<string, TrialResult>(StringComparer.Ordinal);
        foreach (var (trial, result) in b.Completed) byKey.TryAdd(PairKey(b.Study, trial), result);
        var perMass = new SortedDictionary<double, List<SeedDifference>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (trial, ra) in a.Completed)
        {
            var key = PairKey(a.Study, trial);
            if (!seen.Add(key) || !byKey.TryGetValue(key, out var rb)) continue;
            var trainedB = TestBest(rb).Where(m => !m.Heldout).ToList();
            foreach (var m in TestBest(ra).Where(m => m.Heldout))
            {
                var other = trainedB.FirstOrDefault(x => MassGrid.Same(x.Mass, m.Mass));
                if (other is null) continue;
                var va = m.Metrics.GetValueOrDefault(metric, double.NaN);
                var vb = other.Metrics.GetValueOrDefault(metric, double.NaN);
                if (!double.IsFinite(va) || !double.IsFinite(vb)) continue;
                if (!perMass.TryGetValue(m.Mass, out var list)) perMass[m.Mass] = list = [];
                list.Add(new SeedDifference(key, [m.Mass], va, vb));
            }
        }
        return perMass.Select(kv => (kv.Key, (IReadOnlyList<SeedDifference>)kv.Value)).ToList();
    }
}
