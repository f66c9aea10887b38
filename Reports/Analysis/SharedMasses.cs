using Studies.Reports.Input;
using Studies.Trials.Data;
using Studies.Trials.Results;

namespace Studies.Reports.Analysis;

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
    /// <summary>Test-split, best-epoch metrics of a trial sorted by mass; cached per result, as every pair of methods asks again.</summary>
    private static MassMetrics[] TestBest(TrialResult r) => SortedCache.GetValue(r, x =>
        x.Masses.Where(m => m.Split == SplitKind.Test && m.EpochKind == EpochKind.Best).OrderBy(m => m.Mass).ToArray());

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<TrialResult, MassMetrics[]> SortedCache = new();

    /// <summary>
    /// The two trials' entries at the masses both evaluated, in role <paramref name="role"/>, by a
    /// merge of the mass-sorted lists (the report benchmark pairs 50-mass trials thousands of times).
    /// Held-out: masses both held out; when exactly one of them held nothing out (a reference
    /// trained at every mass), the other's held-out masses, at which the reference was trained.
    /// </summary>
    public static List<(MassMetrics A, MassMetrics B)> Matched(TrialResult a, TrialResult b, MassRole role)
    {
        var ma = TestBest(a);
        var mb = TestBest(b);
        var aHolds = ma.Any(m => m.Heldout);
        var bHolds = mb.Any(m => m.Heldout);
        var matched = new List<(MassMetrics, MassMetrics)>();
        for (int i = 0, j = 0; i < ma.Length && j < mb.Length;)
        {
            if (MassGrid.Same(ma[i].Mass, mb[j].Mass))
            {
                var (x, y) = (ma[i], mb[j]);
                var keep = role == MassRole.Trained ? !x.Heldout && !y.Heldout
                    : aHolds && bHolds ? x.Heldout && y.Heldout
                    : aHolds ? x.Heldout && !y.Heldout
                    : bHolds && y.Heldout && !x.Heldout;
                if (keep && (matched.Count == 0 || !MassGrid.Same(matched[^1].Item1.Mass, x.Mass))) matched.Add((x, y));
                i++;
                j++;
            }
            else if (ma[i].Mass < mb[j].Mass) i++;
            else j++;
        }
        return matched;
    }

    /// <summary>The masses two trials share in <paramref name="role"/>, sorted (see <see cref="Matched"/>).</summary>
    public static IReadOnlyList<double> Shared(TrialResult a, TrialResult b, MassRole role) =>
        Matched(a, b, role).Select(m => m.A.Mass).ToList();

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
            var matched = Matched(ra, rb, role);
            if (matched.Count == 0) continue;
            var masses = matched.Select(m => m.A.Mass).ToList();
            var va = ReportMath.FiniteMean(matched.Select(m => m.A.Metrics.GetValueOrDefault(metric, double.NaN)));
            var vb = ReportMath.FiniteMean(matched.Select(m => m.B.Metrics.GetValueOrDefault(metric, double.NaN)));
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
