namespace Studies.Orchestrator.Search.Pruners;

/// <summary>One finished seed of a configuration: its headline (minimised) at each mass it was evaluated at.</summary>
public sealed record SeedScore(string Configuration, int Seed, IReadOnlyDictionary<double, double> ByMass);

/// <summary>
/// For method comparisons scored over several seeds (Optuna #433 asks for it; its WilcoxonPruner
/// compares per-instance values within one trial): stop a configuration's remaining seeds once a
/// paired test over the seeds it shares with the best configuration says it is worse.
/// - The best configuration is the one with the lowest mean headline among those with at least
///   <paramref name="minSeeds"/> seeds.
/// - Each shared seed gives one difference: the mean over the masses both evaluated of (this - best).
///   Masses are averaged within a seed, not paired on their own, because one seed's masses share a
///   network and a data split: treating them as independent pairs would make the test
///   overconfident (a 5-seed, 9-mass study is 5 independent pairs, not 45).
/// - The test is the one-sided exact Wilcoxon signed-rank test (ties get average ranks, zero
///   differences are dropped): robust to the heavy-tailed seed spread of small nets. With 5 seeds
///   the smallest p-value is 1/32, so alpha 0.05 can prune after 5 shared seeds at the earliest.
/// </summary>
public sealed class PairedSeedPruner(double alpha = 0.05, int minSeeds = 3)
{
    public PruneDecision Decide(string configuration, IReadOnlyList<SeedScore> scores)
    {
        var byConfiguration = scores.GroupBy(s => s.Configuration).ToDictionary(g => g.Key, g => g.ToDictionary(s => s.Seed));
        if (!byConfiguration.TryGetValue(configuration, out var mine)) return PruneDecision.Continue;
        var best = byConfiguration.Where(c => c.Key != configuration && c.Value.Count >= minSeeds)
            .OrderBy(c => c.Value.Values.Average(s => s.ByMass.Values.Average())).ThenBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => (Name: c.Key, Seeds: c.Value)).FirstOrDefault();
        if (best.Seeds is null) return PruneDecision.Continue;
        var differences = new List<double>();
        foreach (var (seed, score) in mine)
        {
            if (!best.Seeds.TryGetValue(seed, out var other)) continue;
            var masses = score.ByMass.Keys.Intersect(other.ByMass.Keys).ToList();
            if (masses.Count > 0) differences.Add(masses.Average(m => score.ByMass[m] - other.ByMass[m]));
        }
        if (differences.Count < minSeeds) return PruneDecision.Continue;
        var p = WilcoxonGreater(differences);
        return p < alpha
            ? PruneDecision.Stop($"worse than {best.Name} over {differences.Count} shared seeds (mean difference {differences.Average():G3}, one-sided Wilcoxon p = {p:G3} < {alpha:G3})")
            : PruneDecision.Continue;
    }

    /// <summary>
    /// One-sided exact p-value of the Wilcoxon signed-rank test that the differences are shifted
    /// above zero: P(W+ >= observed) over the 2^n equally likely sign patterns, counted by dynamic
    /// programming over doubled (integer) average ranks.
    /// </summary>
    public static double WilcoxonGreater(IReadOnlyList<double> differences)
    {
        var d = differences.Where(x => x != 0).ToArray();
        if (d.Length == 0) return 1;
        var doubled = DoubledRanks(d.Select(Math.Abs).ToArray());
        var observed = 0;
        for (var i = 0; i < d.Length; i++) if (d[i] > 0) observed += doubled[i];
        var total = doubled.Sum();
        var ways = new double[total + 1];
        ways[0] = 1;
        foreach (var r in doubled)
        {
            for (var s = total; s >= r; s--) ways[s] += ways[s - r];
        }
        var atLeast = 0.0;
        for (var s = observed; s <= total; s++) atLeast += ways[s];
        return atLeast / Math.Pow(2, d.Length);
    }

    /// <summary>Twice the average rank of each value (1-based, ties share their mean rank).</summary>
    internal static int[] DoubledRanks(double[] values)
    {
        var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        var ranks = new int[values.Length];
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            // Ranks start+1 .. end+1 averaged, doubled: (start + end + 2).
            for (var k = start; k <= end; k++) ranks[order[k]] = start + end + 2;
            start = end + 1;
        }
        return ranks;
    }
}
