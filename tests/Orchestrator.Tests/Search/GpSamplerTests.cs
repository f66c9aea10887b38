using Studies.Orchestrator.Search;
using Studies.Orchestrator.Search.Samplers;

namespace Studies.Orchestrator.Tests.Search;

public sealed class GpSamplerTests
{
    private static readonly SearchSpace Bowl2 = new([SearchDimension.Float("x", 0, 1), SearchDimension.Float("y", 1e-3, 1, log: true)]);

    private static double F(IReadOnlyDictionary<string, double> p) => Math.Pow(p["x"] - 0.3, 2) + Math.Pow(Math.Log10(p["y"]) + 2, 2) / 9;

    private static double Best(ISampler sampler, ulong seed, int n)
    {
        var history = new List<SearchTrial>();
        for (var i = 0; i < n; i++)
        {
            var p = sampler.Ask(Bowl2, history, SearchRandom.For(seed, i));
            history.Add(new SearchTrial(i, p, SearchTrialState.Complete, F(p)));
        }
        return history.Min(t => t.Value!.Value);
    }

    [Fact]
    public void The_gp_sampler_beats_random_search_and_is_reproducible()
    {
        var gp = Enumerable.Range(0, 7).Select(s => Best(new GpSampler(candidates: 256), (ulong)s, 25)).Order().ToList();
        var random = Enumerable.Range(0, 7).Select(s => Best(new RandomSampler(), (ulong)s, 25)).Order().ToList();
        Assert.True(gp[3] < 0.3 * random[3], $"median best: GP {gp[3]:G3}, random {random[3]:G3}");
        Assert.Equal(Best(new GpSampler(candidates: 256), 1, 14), Best(new GpSampler(candidates: 256), 1, 14));
    }

    [Fact]
    public void The_fitted_process_follows_its_data_and_is_uncertain_away_from_it()
    {
        var x = Enumerable.Range(0, 12).Select(i => new[] { i / 11.0 }).ToArray();
        var y = x.Select(p => Math.Sin(6 * p[0])).ToArray();
        var gp = GaussianProcess.Fit(x, y);
        for (var i = 0; i < x.Length; i++) Assert.Equal(y[i], gp.Predict(x[i]).Mean, 1);
        Assert.Equal(Math.Sin(6 * 0.5), gp.Predict([0.5]).Mean, 1);
        Assert.True(gp.Predict([0.5]).Sd < gp.Predict([3.0]).Sd);
    }

    [Fact]
    public void Conditional_dimensions_appear_only_where_their_condition_holds()
    {
        var space = new SearchSpace([
            SearchDimension.Categorical("schedule", 2),
            SearchDimension.Float("lr", 1e-4, 1e-1, log: true),
            SearchDimension.Float("punzi_lr", 1e-4, 1e-2, log: true, when: new Condition("schedule", [1])),
        ]);
        var history = new List<SearchTrial>();
        for (var i = 0; i < 20; i++)
        {
            var p = new GpSampler(candidates: 128).Ask(space, history, SearchRandom.For(2, i));
            Assert.Equal(p["schedule"] == 1, p.ContainsKey("punzi_lr"));
            Assert.All(space.ActiveAt(p), d => Assert.True(d.Contains(p[d.Name]), $"{d.Name} = {p[d.Name]}"));
            history.Add(new SearchTrial(i, p, SearchTrialState.Complete, Math.Abs(Math.Log10(p["lr"]) + 2) + p["schedule"]));
        }
    }
}
