using System.Text.Json.Nodes;
using Studies.Trials.Data;

namespace Studies.Trials.Tests.Data;

public sealed class ToyTests
{
    [Fact]
    public void Gaussian_toy_is_reproducible_for_a_seed_and_differs_for_another()
    {
        var toy = new GaussianToy();
        var options = new JsonObject { ["events_per_mass"] = 200 };
        Assert.Equal(toy.Load(options, 1).Features, toy.Load(options, 1).Features);
        Assert.NotEqual(toy.Load(options, 1).Features, toy.Load(options, 2).Features);
    }

    [Fact]
    public void Lovasz_toy_is_reproducible_for_a_seed_and_differs_for_another()
    {
        var toy = new LovaszToy();
        var options = new JsonObject { ["events_per_process"] = 300 };
        Assert.Equal(toy.Load(options, 1).Features, toy.Load(options, 1).Features);
        Assert.NotEqual(toy.Load(options, 1).Features, toy.Load(options, 2).Features);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.5)]
    [InlineData(2.0)]
    public void Gaussian_toy_optimal_auc_matches_the_closed_form_integral(double theta)
    {
        var toy = new GaussianToy();
        var set = toy.Load(new JsonObject { ["masses"] = new JsonArray(theta), ["events_per_mass"] = 50_000, ["background_events"] = 50_000 }, 4);
        var signal = set.Where(i => set.Label[i] == 1).Select(i => toy.Score(set, i, theta)).ToArray();
        var background = set.Where(i => set.Label[i] == 0).Select(i => toy.Score(set, i, theta)).ToArray();
        double sampled = DataTestKit.Auc(signal, background);

        // The score falls with |x - theta| inside [-4, 4] and is +infinity outside, where only signal
        // sits, so AUC = P_s(outside) + integral of p_s(x) P_b(|x_b - theta| > |x - theta|) over [-4, 4].
        const double sigma = 0.25, lo = -4, hi = 4;
        double PSignal(double x) => Math.Exp(-0.5 * Math.Pow((x - theta) / sigma, 2)) / (sigma * Math.Sqrt(2 * Math.PI));
        double BackgroundFarther(double x)
        {
            double d = Math.Abs(x - theta);
            return 1 - (Math.Min(hi, theta + d) - Math.Max(lo, theta - d)) / (hi - lo);
        }
        double inside = DataTestKit.Simpson(PSignal, lo, hi, 20_000);
        double exact = (1 - inside) + DataTestKit.Simpson(x => PSignal(x) * BackgroundFarther(x), lo, hi, 20_000);
        Assert.True(Math.Abs(sampled - exact) < 0.004, $"theta {theta}: sampled AUC {sampled}, integral {exact}");
    }

    [Fact]
    public void Lovasz_case_two_swaps_the_background_cross_sections()
    {
        var one = new LovaszToy().Load(new JsonObject { ["events_per_process"] = 10 }, 1);
        var two = new LovaszToy().Load(new JsonObject { ["events_per_process"] = 10, ["case"] = 2 }, 1);
        Assert.Equal(one.CrossSections!["bkg1"], two.CrossSections!["bkg2"]);
        Assert.Equal(one.CrossSections["bkg2"], two.CrossSections["bkg1"]);
        Assert.Equal(100 * 3000 / 10.0, one.YieldPerProcess()[2] / 10, 9);
    }

    [Fact]
    public void Erfc_matches_known_values()
    {
        // Reference values of erfc (Abramowitz and Stegun / mpmath).
        Assert.Equal(1.0, Densities.Erfc(0), 15);
        Assert.Equal(1, Densities.Erfc(1) / 0.157299207050285130659, 13);
        Assert.Equal(1, Densities.Erfc(3) / 2.20904969985854413727e-5, 13);
        Assert.Equal(1, Densities.Erfc(5) / 1.53745979442803485018e-12, 13);
        Assert.Equal(1, Densities.Erfc(-1) / 1.84270079294971486934, 13);
    }
}
