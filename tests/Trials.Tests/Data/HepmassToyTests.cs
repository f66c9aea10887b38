using System.Text.Json.Nodes;
using Studies.Trials.Data;

namespace Studies.Trials.Tests.Data;

public sealed class HepmassToyTests
{
    private static EventSet Load(double[] masses, int perMass, int background, ulong seed = 1) =>
        new HepmassToy().Load(new JsonObject
        {
            ["masses"] = new JsonArray(masses.Select(m => (JsonNode)m).ToArray()),
            ["signal_per_mass"] = perMass, ["background_events"] = background,
        }, seed);

    private static double Mean(EventSet set, Func<int, bool> rows, int feature) =>
        set.Where(rows).Average(i => (double)set.Features[i * HepmassToy.Features.Length + feature]);

    [Fact]
    public void Signal_moves_with_the_mass_and_background_does_not_depend_on_the_masses()
    {
        var low = Load([500], 4000, 4000);
        var high = Load([1500], 4000, 4000);
        Assert.Equal(HepmassToy.Features.Length, low.FeatureNames.Count);
        // The reconstructed mass peaks at m; the momenta scale with m; the W mass does not move.
        Assert.Equal(500, Mean(low, i => low.Label[i] == 1, 0), 500 * 0.01);
        Assert.Equal(1500, Mean(high, i => high.Label[i] == 1, 0), 1500 * 0.01);
        Assert.True(Mean(high, i => high.Label[i] == 1, 5) > 2.5 * Mean(low, i => low.Label[i] == 1, 5));
        Assert.Equal(Mean(low, i => low.Label[i] == 1, 2), Mean(high, i => high.Label[i] == 1, 2), 1.0);
        // Background rows are the same draws whatever the signal masses.
        Assert.Equal(low.Features.AsSpan(4000 * 11).ToArray(), high.Features.AsSpan(4000 * 11).ToArray());
        Assert.All(low.Where(i => low.Label[i] == 0), i => Assert.True(double.IsNaN(low.Mass[i])));
        Assert.NotEqual(Load([500], 200, 200, 1).Features, Load([500], 200, 200, 2).Features);
    }

    [Theory]
    [InlineData(750)]
    [InlineData(1000)]
    public void The_bayes_score_is_the_exact_likelihood_ratio(double mass)
    {
        // For the true log ratio s = log p_s/p_b and any cut c: E_signal[1{s > c} e^-s] = P_background(s > c)
        // (the weights are at most e^-c, so the estimate is steady); E_background[e^s] = 1 checks p_b.
        var toy = new HepmassToy();
        var set = Load([mass], 200_000, 200_000, 3);
        var signal = set.Where(i => set.Label[i] == 1).Select(i => toy.Score(set, i, mass)).ToArray();
        var background = set.Where(i => set.Label[i] == 0).Select(i => toy.Score(set, i, mass)).ToArray();
        foreach (var cut in new[] { 0.0, 2.0 })
        {
            var weighted = signal.Average(s => s > cut ? Math.Exp(-s) : 0);
            var passing = background.Average(s => s > cut ? 1.0 : 0);
            Assert.True(Math.Abs(weighted - passing) < 0.002 + 0.03 * passing,
                $"cut {cut}: E_s[1(s>c) e^-s] = {weighted:F5}, P_b(s>c) = {passing:F5} at {mass} GeV");
        }
        var ratios = background.Select(Math.Exp).ToArray();
        var mean = ratios.Average();
        var standardError = Math.Sqrt(ratios.Select(r => (r - mean) * (r - mean)).Sum() / ratios.Length / ratios.Length);
        Assert.True(Math.Abs(mean - 1) < 4 * standardError + 0.02, $"E_b[p_s/p_b] = {mean:F3} +- {standardError:F3} at {mass} GeV");

        // The likelihood ratio separates at least as well as the reconstructed mass alone.
        var events = Load([mass], 20_000, 20_000, 4);
        double[] Scores(byte label, Func<int, double> score) => events.Where(i => events.Label[i] == label).Select(score).ToArray();
        var bayes = DataTestKit.Auc(Scores(1, i => toy.Score(events, i, mass)), Scores(0, i => toy.Score(events, i, mass)));
        double Window(int i) => -Math.Abs(events.Features[i * 11] - mass);
        var window = DataTestKit.Auc(Scores(1, Window), Scores(0, Window));
        Assert.True(bayes > window && bayes < 1, $"Bayes AUC {bayes:F4}, m_wwbb window {window:F4}");
    }
}
