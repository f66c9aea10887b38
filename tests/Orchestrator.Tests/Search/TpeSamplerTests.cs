using Studies.Orchestrator.Search;
using Studies.Orchestrator.Search.Samplers;

namespace Studies.Orchestrator.Tests.Search;

public sealed class TpeSamplerTests
{
    private static readonly SearchSpace Quadratic = new([SearchDimension.Float("x", 0, 1), SearchDimension.Float("y", 0, 1)]);

    private static double Bowl(IReadOnlyDictionary<string, double> p) => Math.Pow(p["x"] - 0.3, 2) + Math.Pow(p["y"] - 0.7, 2);

    /// <summary>Runs <paramref name="n"/> sequential ask/tell steps on <paramref name="f"/> and returns the best value.</summary>
    private static (double Best, List<SearchTrial> History) Minimise(ISampler sampler, SearchSpace space, Func<IReadOnlyDictionary<string, double>, double> f, int n, ulong seed)
    {
        var history = new List<SearchTrial>();
        for (var i = 0; i < n; i++)
        {
            var point = sampler.Ask(space, history, SearchRandom.For(seed, i));
            history.Add(new SearchTrial(i, point, SearchTrialState.Complete, f(point)));
        }
        return (history.Min(t => t.Value!.Value), history);
    }

    [Fact]
    public void A_proposal_is_a_pure_function_of_seed_and_history()
    {
        var (_, history) = Minimise(new TpeSampler(), Quadratic, Bowl, 20, seed: 7);
        var a = new TpeSampler().Ask(Quadratic, history, SearchRandom.For(7, 20));
        var b = new TpeSampler().Ask(Quadratic, history, SearchRandom.For(7, 20));
        var c = new TpeSampler().Ask(Quadratic, history, SearchRandom.For(8, 20));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void The_first_startup_trials_are_random_draws()
    {
        var history = new List<SearchTrial>();
        for (var i = 0; i < 10; i++)
        {
            var tpe = new TpeSampler().Ask(Quadratic, history, SearchRandom.For(3, i));
            var random = new RandomSampler().Ask(Quadratic, history, SearchRandom.For(3, i));
            Assert.Equal(random, tpe);
            history.Add(new SearchTrial(i, tpe, SearchTrialState.Complete, Bowl(tpe)));
        }
        Assert.NotEqual(new RandomSampler().Ask(Quadratic, history, SearchRandom.For(3, 10)), new TpeSampler().Ask(Quadratic, history, SearchRandom.For(3, 10)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Tpe_finds_a_better_minimum_than_random_search_at_the_same_budget(bool multivariate)
    {
        var tpe = new List<double>();
        var random = new List<double>();
        for (ulong seed = 0; seed < 15; seed++)
        {
            tpe.Add(Minimise(new TpeSampler(new TpeOptions(Multivariate: multivariate)), Quadratic, Bowl, 50, seed).Best);
            random.Add(Minimise(new RandomSampler(), Quadratic, Bowl, 50, seed).Best);
        }
        var medianTpe = tpe.Order().ElementAt(7);
        var medianRandom = random.Order().ElementAt(7);
        Assert.True(medianTpe < 0.5 * medianRandom, $"TPE median best {medianTpe:G3}, random {medianRandom:G3}");
    }

    [Fact]
    public void Proposals_respect_bounds_whole_numbers_log_scales_and_conditions()
    {
        var space = new SearchSpace([
            SearchDimension.Float("lr", 1e-5, 1e-1, log: true),
            SearchDimension.Integer("width", 4, 64, log: true),
            SearchDimension.Integer("depth", 1, 4),
            SearchDimension.Categorical("schedule", 3),
            SearchDimension.Float("punzi_lr", 1e-4, 1e-2, log: true, when: new Condition("schedule", [1, 2])),
        ]);
        double F(IReadOnlyDictionary<string, double> p) =>
            Math.Abs(Math.Log10(p["lr"]) + 3) + Math.Abs(p["width"] - 16) / 16 + p["depth"] + (p.TryGetValue("punzi_lr", out var q) ? Math.Abs(Math.Log10(q) + 3) : 1);
        foreach (var options in new[] { new TpeOptions(), new TpeOptions(Multivariate: true) })
        {
            var (_, history) = Minimise(new TpeSampler(options), space, F, 40, seed: 11);
            foreach (var t in history)
            {
                foreach (var d in space.Dimensions.Where(d => t.Point.ContainsKey(d.Name))) Assert.True(d.Contains(t.Point[d.Name]), $"{d.Name} = {t.Point[d.Name]}");
                Assert.Equal(t.Point["schedule"] != 0, t.Point.ContainsKey("punzi_lr"));
            }
            // TPE learns the good region of the log-scaled rate: later proposals sit nearer 1e-3 than early ones.
            var early = history.Take(10).Average(t => Math.Abs(Math.Log10(t.Point["lr"]) + 3));
            var late = history.Skip(25).Average(t => Math.Abs(Math.Log10(t.Point["lr"]) + 3));
            Assert.True(late < early, $"early {early:F2}, late {late:F2}");
        }
    }

    [Fact]
    public void The_constant_liar_lowers_the_score_where_other_workers_already_train()
    {
        var (_, history) = Minimise(new TpeSampler(), Quadratic, Bowl, 30, seed: 5);
        var best = history.MinBy(t => t.Value)!.Point;
        // Four workers already train at the best point: with the liar they count as bad results there.
        var running = Enumerable.Range(0, 4).Select(i => new SearchTrial(30 + i, best, SearchTrialState.Running)).ToList();
        foreach (var dims in new[] { Quadratic.Dimensions.Take(1).ToList(), Quadratic.Dimensions.ToList() })
        {
            var liar = new TpeSampler(new TpeOptions(ConstantLiar: true)).Score(dims, [.. history, .. running], best);
            var plain = new TpeSampler().Score(dims, [.. history, .. running], best);
            var alone = new TpeSampler(new TpeOptions(ConstantLiar: true)).Score(dims, history, best);
            Assert.Equal(alone, plain, 12);
            Assert.True(liar < plain - 0.1, $"log l/g at the running trials' point: {liar:F2} with the liar, {plain:F2} without");
        }
    }

    [Fact]
    public void Pruned_trials_rank_after_complete_ones_and_late_pruned_before_early_pruned()
    {
        var p = new Dictionary<string, double> { ["x"] = 0.5 };
        var trials = new List<SearchTrial>
        {
            new(0, p, SearchTrialState.Pruned, null, [(1, 0.1)]),
            new(1, p, SearchTrialState.Complete, 5.0),
            new(2, p, SearchTrialState.Pruned, null, [(1, 0.2), (3, 9.0)]),
        };
        // 20 trials: the best ceil(20/10) = 2 are below. Early-pruned trials with better values lose to the late one.
        trials.AddRange(Enumerable.Range(3, 17).Select(i => new SearchTrial(i, p, SearchTrialState.Pruned, null, [(1, 0.01 * i)])));
        var (below, above) = TpeSampler.Split(trials);
        Assert.Equal([1, 2], below.Select(t => t.Number));
        Assert.Equal(18, above.Count);
    }
}

public sealed class ParzenEstimatorTests
{
    private static IReadOnlyDictionary<string, double> P(string name, double v) => new Dictionary<string, double> { [name] = v };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_float_density_integrates_to_one_over_its_range(bool log)
    {
        var d = SearchDimension.Float("x", 0.01, 10, log);
        var e = new ParzenEstimator([d], [P("x", 0.02), P("x", 0.5), P("x", 3), P("x", 9.9)], multivariate: false);
        // Brute force: a fine midpoint rule on the search scale (log density w.r.t. log x on a log scale).
        const int steps = 200_000;
        double lo = log ? Math.Log(0.01) : 0.01, hi = log ? Math.Log(10) : 10, h = (hi - lo) / steps, sum = 0;
        for (var i = 0; i < steps; i++)
        {
            var s = lo + (i + 0.5) * h;
            sum += Math.Exp(e.LogDensity(P("x", log ? Math.Exp(s) : s))) * h;
        }
        Assert.Equal(1.0, sum, 3);
    }

    [Fact]
    public void Int_and_categorical_masses_sum_to_one()
    {
        var i = SearchDimension.Integer("n", 1, 40, log: true);
        var ei = new ParzenEstimator([i], [P("n", 2), P("n", 30)], multivariate: false);
        Assert.Equal(1.0, Enumerable.Range(1, 40).Sum(n => Math.Exp(ei.LogDensity(P("n", n)))), 9);
        var c = SearchDimension.Categorical("c", 4);
        var ec = new ParzenEstimator([c], [P("c", 1), P("c", 1), P("c", 3)], multivariate: false);
        Assert.Equal(1.0, Enumerable.Range(0, 4).Sum(k => Math.Exp(ec.LogDensity(P("c", k)))), 12);
        Assert.True(ec.LogDensity(P("c", 1)) > ec.LogDensity(P("c", 3)));
    }

    [Fact]
    public void Observation_weights_follow_optunas_default_ramp()
    {
        Assert.Equal(Enumerable.Repeat(1.0, 24), ParzenEstimator.ObservationWeights(24));
        var w = ParzenEstimator.ObservationWeights(30);
        // numpy: concatenate([linspace(1/30, 1, 5), ones(25)])
        Assert.Equal(1.0 / 30, w[0], 12);
        Assert.Equal(1.0 / 30 + 2 * (1 - 1.0 / 30) / 4, w[2], 12);
        Assert.Equal(1.0, w[4], 12);
        Assert.All(w[5..], x => Assert.Equal(1.0, x));
    }

    [Fact]
    public void Draws_follow_the_density()
    {
        var d = SearchDimension.Float("x", 0, 1);
        var e = new ParzenEstimator([d], [P("x", 0.2), P("x", 0.25), P("x", 0.8)], multivariate: false);
        var random = new Random(1);
        var draws = Enumerable.Range(0, 20_000).Select(_ => e.Sample(random)["x"]).ToArray();
        Assert.All(draws, x => Assert.InRange(x, 0, 1));
        // The share below 0.5 against the density's integral there (midpoint rule).
        var below = draws.Count(x => x < 0.5) / (double)draws.Length;
        var integral = Enumerable.Range(0, 5000).Sum(k => Math.Exp(e.LogDensity(P("x", (k + 0.5) / 10_000))) / 10_000);
        Assert.Equal(integral, below, 1);
    }
}
