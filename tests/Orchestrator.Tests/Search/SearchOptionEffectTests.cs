using System.Text.Json.Nodes;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Search;
using Studies.Orchestrator.Search.Components;
using Studies.Orchestrator.Search.Samplers;

namespace Studies.Orchestrator.Tests.Search;

/// <summary>
/// The option walker of <c>search.sampler</c> and <c>search.pruner</c> (docs/study-format.md's generated tables): every
/// option of every registered sampler and pruner, set to its alternative below, changes what the component decides on a
/// fixed synthetic study. An option without an alternative here fails the test, so a new option must show its effect.
/// </summary>
public sealed class SearchOptionEffectTests
{
    private static readonly Dictionary<(string Component, string Option), JsonNode> Alternatives = new()
    {
        [("tpe", "startup_trials")] = 50,
        [("tpe", "multivariate")] = true,
        [("gp", "startup_trials")] = 50,
        [("median", "startup_trials")] = 200,
        [("median", "warmup_epochs")] = 20,
        [("percentile", "percentile")] = 75,
        [("percentile", "startup_trials")] = 200,
        [("percentile", "warmup_epochs")] = 20,
        [("asha", "min_epochs")] = 3,
        [("asha", "reduction")] = 2,
        [("hyperband", "min_epochs")] = 3,
        [("hyperband", "reduction")] = 2,
    };

    private static readonly SearchSpace Space = new([SearchDimension.Float("lr", 1e-4, 1e-1, log: true), SearchDimension.Float("x", 0, 1)]);

    /// <summary>Twenty finished trials whose value is lowest near lr 3e-3, x 0.3.</summary>
    private static IReadOnlyList<SearchTrial> History()
    {
        var random = new Random(5);
        return Enumerable.Range(0, 20).Select(i =>
        {
            var lr = Math.Exp(Math.Log(1e-4) + random.NextDouble() * Math.Log(1e3));
            var x = random.NextDouble();
            return new SearchTrial(i, new Dictionary<string, double> { ["lr"] = lr, ["x"] = x }, SearchTrialState.Complete,
                Math.Pow(Math.Log10(lr) + 2.5, 2) + Math.Pow(x - 0.3, 2));
        }).ToList();
    }

    /// <summary>Forty trials with noisy falling curves over 27 epochs; the decisions on each at every epoch.</summary>
    private static string PrunerFingerprint(PrunerEntry entry, JsonObject options)
    {
        var random = new Random(9);
        var curves = Enumerable.Range(0, 40).Select(i =>
        {
            var level = random.NextDouble();
            return new TrialCurve($"t{i}", i, i < 30 ? Trials.Results.TrialState.Completed : Trials.Results.TrialState.Running, null,
                Enumerable.Range(1, 27).Select(e => (e, new[] { level + 1.0 / e + 0.05 * random.NextDouble() })).ToList());
        }).ToList();
        var pruner = entry.Create(new PrunerContext(options, 27));
        var decisions = new List<string>();
        foreach (var trial in curves.Skip(25))
        for (var epoch = 1; epoch <= 27; epoch++)
        {
            var partial = trial with { Points = trial.Points.Take(epoch).ToList() };
            var d = pruner.Decide(partial.AsSearchTrial(), curves.Where(c => c != trial).Select(c => c.AsSearchTrial()).ToList());
            decisions.Add(d.Prune ? $"{trial.TrialId}@{epoch}" : "");
        }
        return string.Join(",", decisions);
    }

    private static string SamplerFingerprint(SamplerEntry entry, JsonObject options)
    {
        var sampler = entry.Create(options)!;
        var points = Enumerable.Range(0, 5).Select(k => sampler.Ask(Space, History(), new Random(k)));
        return string.Join(";", points.Select(p => $"{p["lr"]:R},{p["x"]:R}"));
    }

    [Fact]
    public void Every_sampler_and_pruner_option_changes_what_it_decides()
    {
        var missing = new List<string>();
        var without = new List<string>();
        foreach (var entry in SearchComponents.Samplers.Entries.Where(e => e.Adaptive))
        foreach (var option in entry.Options)
        {
            if (!Alternatives.TryGetValue((entry.Name, option.Key), out var value)) { missing.Add($"{entry.Name}.{option.Key}"); continue; }
            if (SamplerFingerprint(entry, []) == SamplerFingerprint(entry, new JsonObject { [option.Key] = value.DeepClone() }))
                without.Add($"sampler {entry.Name}.{option.Key}");
        }
        foreach (var entry in SearchComponents.Pruners.Entries)
        foreach (var option in entry.Options)
        {
            if (!Alternatives.TryGetValue((entry.Name, option.Key), out var value)) { missing.Add($"{entry.Name}.{option.Key}"); continue; }
            if (PrunerFingerprint(entry, []) == PrunerFingerprint(entry, new JsonObject { [option.Key] = value.DeepClone() }))
                without.Add($"pruner {entry.Name}.{option.Key}");
        }
        Assert.True(missing.Count == 0, "options without an alternative here: " + string.Join(", ", missing));
        Assert.True(without.Count == 0, "options that change nothing: " + string.Join(", ", without));
        // And the walker can fail: an option the component never reads leaves its fingerprint unchanged.
        var asha = SearchComponents.Pruners.Get("asha");
        Assert.Equal(PrunerFingerprint(asha, []), PrunerFingerprint(asha, new JsonObject { ["warmup_epochs"] = 20 }));
        // Every pruner but none prunes something on this study, so the comparisons above are not between empty decisions.
        Assert.All(SearchComponents.Pruners.Entries.Where(e => e.Name != SearchComponents.NoPruner),
            e => Assert.Contains("@", PrunerFingerprint(e, [])));
    }
}
