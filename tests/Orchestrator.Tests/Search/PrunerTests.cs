using Studies.Orchestrator.Search;
using Studies.Orchestrator.Search.Pruners;

namespace Studies.Orchestrator.Tests.Search;

public sealed class PrunerTests
{
    private static readonly Dictionary<string, double> Nowhere = new();

    private static SearchTrial Trial(int number, SearchTrialState state, params (int Step, double Value)[] curve) =>
        new(number, Nowhere, state, state == SearchTrialState.Complete ? curve[^1].Value : null, curve);

    private static SearchTrial Finished(int number, params double[] values) =>
        Trial(number, SearchTrialState.Complete, values.Select((v, i) => (i + 1, v)).ToArray());

    [Fact]
    public void The_median_pruner_compares_the_best_so_far_with_the_median_of_finished_trials_at_that_step()
    {
        var finished = Enumerable.Range(0, 5).Select(i => Finished(i, 10, 5 + i, 1)).ToList(); // step 2: 5..9, median 7
        var pruner = PercentilePruner.Median();
        Assert.True(pruner.Decide(Trial(9, SearchTrialState.Running, (1, 9), (2, 7.5)), finished).Prune);
        Assert.False(pruner.Decide(Trial(9, SearchTrialState.Running, (1, 9), (2, 6.9)), finished).Prune);
        // The best so far counts, not the latest value.
        Assert.False(pruner.Decide(Trial(9, SearchTrialState.Running, (1, 6), (2, 8)), finished).Prune);
        // Start-up and warm-up.
        Assert.False(pruner.Decide(Trial(9, SearchTrialState.Running, (1, 9), (2, 7.5)), finished.Take(4).ToList()).Prune);
        Assert.False(PercentilePruner.Median(warmupSteps: 3).Decide(Trial(9, SearchTrialState.Running, (1, 9), (2, 7.5)), finished).Prune);
        // The 25th percentile of 5..9 is 6 (numpy's linear rule).
        Assert.Equal(6, PercentilePruner.Percentile([9, 5, 7, 6, 8], 25), 12);
        Assert.True(new PercentilePruner(25).Decide(Trial(9, SearchTrialState.Running, (1, 9), (2, 6.5)), finished).Prune);
    }

    [Fact]
    public void Asha_keeps_the_best_1_over_eta_at_each_rung_counting_itself()
    {
        var pruner = new SuccessiveHalvingPruner(minResource: 1, reductionFactor: 2);
        Assert.Equal([1, 2, 4, 8], Enumerable.Range(0, 4).Select(pruner.RungStep));
        var others = new[] { Finished(0, 1, 1, 1, 1), Finished(1, 2, 2, 2, 2), Finished(2, 3, 3, 3, 3) };
        // Rung 0 holds 1, 2, 3 and the trial's value: 4 values, the best 2 go on (cut at 2).
        Assert.True(pruner.Decide(Trial(7, SearchTrialState.Running, (1, 2.5)), others).Prune);
        Assert.False(pruner.Decide(Trial(7, SearchTrialState.Running, (1, 2.0)), others).Prune);
        // The first trial at a rung always goes on; a later, worse one of two does not.
        Assert.False(pruner.Decide(Trial(7, SearchTrialState.Running, (1, 99)), []).Prune);
        Assert.True(pruner.Decide(Trial(7, SearchTrialState.Running, (1, 99)), others.Take(1).ToList()).Prune);
        // At step 2 it is judged at rung 0 and at rung 1: good at rung 0, bad at rung 1.
        var decision = pruner.Decide(Trial(7, SearchTrialState.Running, (1, 1.5), (2, 2.5)), others);
        Assert.True(decision.Prune);
        Assert.Contains("rung 1", decision.Reason);
        Assert.True(pruner.Decide(Trial(7, SearchTrialState.Running, (1, double.NaN)), others).Prune);
    }

    [Fact]
    public void Asha_saves_most_epochs_and_keeps_the_best_trial_on_curves_that_rank_early()
    {
        // 60 trials of 27 epochs whose curves decay to a trial-specific floor plus noise: the ranking is
        // visible early, as it is for learning-rate scans.
        var random = new Random(3);
        var floors = Enumerable.Range(0, 60).Select(_ => random.NextDouble()).ToArray();
        double Value(int t, int epoch) => floors[t] + 2.0 / epoch + 0.02 * random.NextDouble();
        var pruner = new SuccessiveHalvingPruner(minResource: 1, reductionFactor: 3);
        var done = new List<SearchTrial>();
        var spent = 0;
        for (var t = 0; t < 60; t++)
        {
            var curve = new List<(int, double)>();
            for (var epoch = 1; epoch <= 27; epoch++)
            {
                curve.Add((epoch, Value(t, epoch)));
                spent++;
                if (pruner.Decide(new SearchTrial(t, Nowhere, SearchTrialState.Running, null, curve), done).Prune) break;
            }
            done.Add(new SearchTrial(t, Nowhere, curve.Count == 27 ? SearchTrialState.Complete : SearchTrialState.Pruned, curve.Count == 27 ? curve[^1].Item2 : null, curve));
        }
        var saved = 1 - spent / (60.0 * 27);
        Assert.True(saved >= 0.5, $"saved {saved:P0}");
        var bestTrial = Array.IndexOf(floors, floors.Min());
        Assert.Equal(SearchTrialState.Complete, done[bestTrial].State);
    }

    [Fact]
    public void Hyperband_assigns_brackets_stably_by_budget_and_trials_compete_only_within_theirs()
    {
        var pruner = new HyperbandPruner(minResource: 1, maxResource: 27, reductionFactor: 3);
        Assert.Equal(4, pruner.Brackets);
        var counts = new int[4];
        for (var n = 0; n < 4000; n++) counts[pruner.BracketOf(n)]++;
        // Budgets ceil(4·3^s/(s+1)) for s = 3..0: 27, 12, 6, 4 of 49.
        var expected = new[] { 27, 12, 6, 4 }.Select(b => 4000.0 * b / 49).ToArray();
        for (var i = 0; i < 4; i++) Assert.InRange(counts[i], expected[i] * 0.85, expected[i] * 1.15);
        Assert.Equal(pruner.BracketOf(123), new HyperbandPruner(1, 27, 3).BracketOf(123));

        var trial = Enumerable.Range(0, 100).First(n => pruner.BracketOf(n) == 0);
        var sameBracket = Enumerable.Range(200, 100).Where(n => pruner.BracketOf(n) == 0).Take(3).ToList();
        var otherBracket = Enumerable.Range(200, 100).Where(n => pruner.BracketOf(n) != 0).Take(3).ToList();
        var better = otherBracket.Select(n => Finished(n, 0.1)).ToList();
        Assert.False(pruner.Decide(Trial(trial, SearchTrialState.Running, (1, 5)), better).Prune);
        Assert.True(pruner.Decide(Trial(trial, SearchTrialState.Running, (1, 5)), sameBracket.Select(n => Finished(n, 0.1)).ToList()).Prune);
    }
}

public sealed class PairedSeedPrunerTests
{
    /// <summary>The oracle: every one of the 2^n sign patterns of the ranks, counted directly.</summary>
    private static double BruteForceWilcoxon(double[] d)
    {
        var nonzero = d.Where(x => x != 0).ToArray();
        var abs = nonzero.Select(Math.Abs).ToArray();
        // Average ranks by counting: rank = (number smaller) + (number equal + 1) / 2.
        var ranks = abs.Select(a => abs.Count(b => b < a) + (abs.Count(b => b == a) + 1) / 2.0).ToArray();
        var observed = nonzero.Select((x, i) => x > 0 ? ranks[i] : 0).Sum();
        var atLeast = 0;
        for (var mask = 0; mask < 1 << nonzero.Length; mask++)
        {
            var w = 0.0;
            for (var i = 0; i < nonzero.Length; i++) if ((mask & (1 << i)) != 0) w += ranks[i];
            if (w >= observed - 1e-9) atLeast++;
        }
        return nonzero.Length == 0 ? 1 : atLeast / (double)(1 << nonzero.Length);
    }

    [Fact]
    public void The_exact_wilcoxon_p_value_equals_counting_every_sign_pattern()
    {
        var random = new Random(17);
        for (var round = 0; round < 300; round++)
        {
            var n = random.Next(1, 13);
            // Rounded values make ties and zeros common.
            var d = Enumerable.Range(0, n).Select(_ => Math.Round(random.NextDouble() * 4 - 1.5, 1)).ToArray();
            Assert.Equal(BruteForceWilcoxon(d), PairedSeedPruner.WilcoxonGreater(d), 12);
        }
        Assert.Equal(1.0 / 32, PairedSeedPruner.WilcoxonGreater([0.1, 0.2, 0.3, 0.4, 0.5]), 12);
    }

    private static SeedScore Score(string configuration, int seed, params (double Mass, double Value)[] values) =>
        new(configuration, seed, values.ToDictionary(v => v.Mass, v => v.Value));

    /// <summary>The oracle decision: best by brute-force means, differences paired by hand, p by enumeration.</summary>
    private static bool OraclePrunes(string configuration, IReadOnlyList<SeedScore> scores, double alpha, int minSeeds)
    {
        var configurations = scores.Select(s => s.Configuration).Distinct().Where(c => c != configuration)
            .Where(c => scores.Count(s => s.Configuration == c) >= minSeeds).ToList();
        if (configurations.Count == 0) return false;
        double Mean(string c) => scores.Where(s => s.Configuration == c).Select(s => s.ByMass.Values.Sum() / s.ByMass.Count).Average();
        var best = configurations.OrderBy(Mean).ThenBy(c => c, StringComparer.Ordinal).First();
        var d = new List<double>();
        foreach (var s in scores.Where(s => s.Configuration == configuration))
        {
            var o = scores.SingleOrDefault(x => x.Configuration == best && x.Seed == s.Seed);
            if (o is null) continue;
            var shared = s.ByMass.Keys.Where(o.ByMass.ContainsKey).ToList();
            if (shared.Count > 0) d.Add(shared.Select(m => s.ByMass[m] - o.ByMass[m]).Sum() / shared.Count);
        }
        return d.Count >= minSeeds && BruteForceWilcoxon(d.ToArray()) < alpha;
    }

    [Fact]
    public void The_pruner_decides_as_the_brute_force_oracle_on_random_studies()
    {
        var random = new Random(5);
        var pruned = 0;
        for (var round = 0; round < 200; round++)
        {
            var scores = new List<SeedScore>();
            foreach (var (configuration, shift) in new[] { ("a", 0.0), ("b", random.NextDouble()), ("c", random.NextDouble() * 2) })
            {
                foreach (var seed in Enumerable.Range(1, random.Next(2, 9)))
                {
                    // Masses differ between configurations (held out by one, trained by another).
                    var masses = new[] { 1.0, 2.0, 3.0 }.Where(_ => random.NextDouble() < 0.8).DefaultIfEmpty(2.0).Distinct();
                    scores.Add(Score(configuration, seed, masses.Select(m => (m, shift + m * 0.1 + random.NextDouble())).ToArray()));
                }
            }
            foreach (var c in new[] { "a", "b", "c" })
            {
                var decision = new PairedSeedPruner(0.05, 3).Decide(c, scores);
                Assert.Equal(OraclePrunes(c, scores, 0.05, 3), decision.Prune);
                if (decision.Prune) pruned++;
            }
        }
        Assert.InRange(pruned, 20, 580); // both outcomes exercised
    }

    [Fact]
    public void A_configuration_worse_on_all_five_shared_seeds_is_pruned_and_one_better_on_one_is_not()
    {
        var scores = new List<SeedScore>();
        for (var seed = 1; seed <= 5; seed++)
        {
            scores.Add(Score("best", seed, (1, 1.0), (2, 1.0)));
            scores.Add(Score("worse", seed, (1, 1.5), (2, 1.2), (3, -100))); // mass 3 is not shared: ignored
            scores.Add(Score("mixed", seed, (1, seed == 3 ? 0.5 : 1.2), (2, 1.0)));
        }
        var decision = new PairedSeedPruner().Decide("worse", scores);
        Assert.True(decision.Prune, decision.Reason);
        Assert.Contains("best", decision.Reason);
        Assert.False(new PairedSeedPruner().Decide("mixed", scores).Prune);
        Assert.False(new PairedSeedPruner().Decide("best", scores).Prune);
    }
}

public sealed class ParetoPrunerTests
{
    /// <summary>The oracle: peel off the points no remaining point dominates, front by front.</summary>
    private static int[] PeeledFronts(IReadOnlyList<double[]> points)
    {
        var front = Enumerable.Repeat(-1, points.Count).ToArray();
        for (var k = 0; front.Contains(-1); k++)
        {
            var remaining = Enumerable.Range(0, points.Count).Where(i => front[i] == -1).ToList();
            foreach (var i in remaining.Where(i => !remaining.Any(j => j != i && points[j].Zip(points[i]).All(p => p.First <= p.Second) && points[j].Zip(points[i]).Any(p => p.First < p.Second))).ToList())
                front[i] = k;
        }
        return front;
    }

    [Fact]
    public void Fronts_equal_peeling_on_random_points_with_ties()
    {
        var random = new Random(9);
        for (var round = 0; round < 200; round++)
        {
            var points = Enumerable.Range(0, random.Next(1, 30)).Select(_ => new[] { (double)random.Next(6), random.Next(6) }).ToList();
            Assert.Equal(PeeledFronts(points), ParetoSuccessiveHalvingPruner.Fronts(points));
        }
    }

    [Fact]
    public void The_pruner_keeps_every_non_dominated_trial_and_decides_as_the_oracle()
    {
        var random = new Random(4);
        var prunedSome = false;
        for (var round = 0; round < 200; round++)
        {
            var others = Enumerable.Range(0, random.Next(0, 20)).Select(i => new ObjectiveCurve(i, [(1, new[] { random.NextDouble(), random.NextDouble() })])).ToList();
            var mine = new[] { random.NextDouble(), random.NextDouble() };
            var decision = new ParetoSuccessiveHalvingPruner(1, 3).Decide(new ObjectiveCurve(99, [(1, mine)]), others);
            var all = others.Select(o => o.Points[0].Item2).Prepend(mine).ToList();
            var fronts = PeeledFronts(all);
            var cut = fronts.Order().ElementAt(Math.Max(all.Count / 3 - 1, 0));
            Assert.Equal(fronts[0] > 0 && fronts[0] > cut, decision.Prune);
            if (!others.Any(o => ParetoSuccessiveHalvingPruner.Dominates(o.Points[0].Item2, mine))) Assert.False(decision.Prune);
            prunedSome |= decision.Prune;
        }
        Assert.True(prunedSome);
    }
}
