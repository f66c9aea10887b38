using System.Text.Json.Nodes;
using Studies.Trials.Data;
using Xunit.Abstractions;

namespace Studies.Trials.Tests.Data;

public sealed class RecoilToyTests(ITestOutputHelper output)
{
    private static readonly RecoilToy Toy = new();

    private static EventSet Small(ulong seed) =>
        Toy.Load(new JsonObject { ["masses"] = new JsonArray(1.0, 4.0), ["signal_per_mass"] = 500, ["background_events"] = 800 }, seed);

    [Fact]
    public void Generation_is_reproducible_for_a_seed_and_differs_for_another()
    {
        var a = Small(7);
        var b = Small(7);
        var c = Small(8);
        Assert.Equal(a.Features, b.Features);
        Assert.Equal(a.Window, b.Window);
        Assert.Equal(a.Weight, b.Weight);
        Assert.NotEqual(a.Features, c.Features);
        Assert.NotEqual(a.Window, c.Window);
    }

    [Fact]
    public void Weights_are_cross_section_times_luminosity_per_generated_event()
    {
        var set = Toy.Load(new JsonObject
        {
            ["masses"] = new JsonObject { ["from"] = 1, ["to"] = 3, ["step"] = 1 }, ["signal_per_mass"] = 100,
            ["background_events"] = new JsonObject { ["mumu"] = 200 }, ["luminosity"] = 10, ["signal_cross_section"] = 2,
        }, 1);
        Assert.Equal([1.0, 2.0, 3.0], set.Masses);
        var yields = set.YieldPerProcess();
        Assert.Equal(3 * 2 * 10, yields[0], 9);               // each mass: sigma_s L
        Assert.Equal(RecoilToy.DefaultCrossSections[0] * 10, yields[1], 6);
        Assert.Equal(RecoilToy.DefaultCrossSections[2] * 10, yields[3], 6);
        Assert.Equal(200, set.Process.Count(p => p == 1));
        Assert.Equal(20_000, set.Process.Count(p => p == 2));
        Assert.Equal(RecoilToy.Width(2), set.Windows!.Width[1]);
        Assert.Equal(4, set.Windows.Center[1], 12);
    }

    [Theory]
    [InlineData(0, 0.5)]
    [InlineData(0, 8.5)]
    [InlineData(1, 0)]
    [InlineData(2, 0)]
    [InlineData(3, 0)]
    public void Every_factor_integrates_to_one(int process, double mass)
    {
        (double Lo, double Hi)[] supports = [(0, 40), (0, 1), (0, 1), (0, 20), (RecoilToy.VLow, RecoilToy.VHigh)];
        for (int variable = 0; variable < supports.Length; variable++)
        {
            var (lo, hi) = supports[variable];
            double integral = DataTestKit.Simpson(v => Math.Exp(RecoilToy.LogFactor(process, variable, v, mass)), lo, hi, 200_000);
            Assert.True(Math.Abs(integral - 1) < 1e-6, $"process {process}, variable {variable}: integral {integral}");
        }
    }

    [Fact]
    public void Sample_means_match_the_densities()
    {
        var set = Toy.Load(new JsonObject { ["masses"] = new JsonArray(2.0, 7.0), ["signal_per_mass"] = 20_000, ["background_events"] = 20_000 }, 3);
        (double Lo, double Hi)[] supports = [(0, 40), (0, 1), (0, 1), (0, 20), (RecoilToy.VLow, RecoilToy.VHigh)];
        foreach (var (process, mass) in new[] { (0, 2.0), (0, 7.0), (1, double.NaN), (2, double.NaN), (3, double.NaN) })
        {
            var rows = set.Where(i => set.Process[i] == process && (process != 0 || set.Mass[i] == mass));
            for (int variable = 0; variable < 5; variable++)
            {
                var values = rows.Select(i => variable < 4 ? (double)set.Features[i * 4 + variable] : set.Window![i]).ToArray();
                var (lo, hi) = supports[variable];
                double mean = DataTestKit.Simpson(v => v * Math.Exp(RecoilToy.LogFactor(process, variable, v, mass)), lo, hi, 200_000);
                double second = DataTestKit.Simpson(v => v * v * Math.Exp(RecoilToy.LogFactor(process, variable, v, mass)), lo, hi, 200_000);
                double error = Math.Sqrt((second - mean * mean) / values.Length);
                Assert.True(Math.Abs(values.Average() - mean) < 5 * error,
                    $"process {process} mass {mass} variable {variable}: sample mean {values.Average()} vs density mean {mean} (+- {error})");
            }
        }
    }

    [Fact]
    public void Bayes_optimal_scores_rank_signal_above_background_at_every_default_mass()
    {
        var set = Toy.Load(new JsonObject(), 11);
        var optimal = Toy.BayesOptimal(new JsonObject());
        var background = set.Where(i => set.Label[i] == 0);
        for (int k = 0; k < set.Masses.Length; k++)
        {
            double m = set.Masses[k];
            var signalScores = set.Where(i => set.MassIndex[i] == k).Select(i => optimal.Score(set, i, m)).ToArray();
            var windows = MassWindows.Of(set.Windows!, set.Masses);
            var inWindow = background.Where(i => windows.Contains(m, set.Window![i], 2)).ToArray();
            var windowScores = inWindow.Select(i => optimal.Score(set, i, m)).ToArray();
            var allScores = background.Select(i => optimal.Score(set, i, m)).ToArray();
            double aucWindow = DataTestKit.Auc(signalScores, windowScores, inWindow.Select(i => set.Weight[i]).ToArray());
            double aucAll = DataTestKit.Auc(signalScores, allScores, background.Select(i => set.Weight[i]).ToArray());
            output.WriteLine($"m = {m}: AUC vs in-window background {aucWindow:F4} ({inWindow.Length} events), vs all background {aucAll:F4}");
            Assert.True(signalScores.Average() > allScores.Where(double.IsFinite).Average());
            Assert.InRange(aucWindow, 0.75, 0.995);
            Assert.True(aucAll >= aucWindow - 0.01, "the window variable itself must help against out-of-window background");
        }
    }

    [Fact]
    public void Bad_options_are_named()
    {
        var e = Assert.Throws<DataException>(() => Toy.Load(new JsonObject { ["mass"] = 1 }, 1));
        Assert.Contains("unknown option 'mass'", e.Message);
        e = Assert.Throws<DataException>(() => Toy.Load(new JsonObject { ["masses"] = new JsonArray(1.0, 12.0) }, 1));
        Assert.Contains("option 'masses'", e.Message);
        Assert.Contains("12", e.Message);
        e = Assert.Throws<DataException>(() => Toy.Load(new JsonObject { ["cross_sections"] = new JsonObject { ["qq"] = 3 } }, 1));
        Assert.Contains("unknown key 'qq'", e.Message);
    }
}
