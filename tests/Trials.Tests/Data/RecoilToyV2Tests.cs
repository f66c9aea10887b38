using System.Text.Json.Nodes;
using Studies.Trials.Data;

namespace Studies.Trials.Tests.Data;

/// <summary>Recoil toy version 2: pt and acoplanarity drift with v; densities stay exact.</summary>
public sealed class RecoilToyV2Tests
{
    [Theory]
    [InlineData(0, 2.0)]
    [InlineData(1, double.NaN)]
    [InlineData(2, double.NaN)]
    [InlineData(3, double.NaN)]
    public void Every_conditional_factor_integrates_to_one_at_every_v(int process, double mass)
    {
        foreach (var v in new[] { -9.5, 0.3, 4.0, 37.0, 80.0, 109.0 })
        {
            foreach (var (variable, lo, hi) in new[] { (0, 0.0, 60.0), (2, 0.0, 1.0) })
            {
                double integral = DataTestKit.Simpson(x => Math.Exp(RecoilToy.V2.LogFactor(process, variable, x, v, mass)), lo, hi, 200_000);
                Assert.True(Math.Abs(integral - 1) < 1e-6, $"process {process}, variable {variable}, v {v}: integral {integral}");
            }
        }
    }

    [Fact]
    public void Samples_follow_the_conditional_densities_and_drift_with_v()
    {
        var options = new JsonObject { ["version"] = 2, ["masses"] = new JsonArray(2.0, 7.0), ["signal_per_mass"] = 20_000, ["background_events"] = 40_000 };
        var set = new RecoilToy().Load(options, 5);
        int[] ptShape = [2, 1, 2, 1];
        (int A, int B)[][] beta = [[(2, 3), (3, 2)], [(1, 5), (2, 3)], [(3, 2), (1, 3)], [(1, 4), (3, 3)]];
        for (var p = 0; p < 4; p++)
        {
            var rows = Enumerable.Range(0, set.Count).Where(i => set.Process[i] == p).ToArray();
            // E[pt / theta(v)] = k and E[acoplanarity - mean(t(v))] = 0 when the samples follow the conditionals.
            var ratio = rows.Select(i => set.Features[i * 4] / RecoilToy.V2.PtTheta(p, set.Window![i])).ToArray();
            Assert.True(Math.Abs(ratio.Average() - ptShape[p]) < 5 * Math.Sqrt(ptShape[p] / (double)rows.Length), $"process {p}: mean pt/theta {ratio.Average()}");
            var residual = rows.Select(i =>
            {
                var t = RecoilToy.V2.T(set.Window![i]);
                double Mean((int A, int B) s) => s.A / (double)(s.A + s.B);
                return set.Features[i * 4 + 2] - ((1 - t) * Mean(beta[p][0]) + t * Mean(beta[p][1]));
            }).ToArray();
            Assert.True(Math.Abs(residual.Average()) < 5 * 0.3 / Math.Sqrt(rows.Length), $"process {p}: acoplanarity residual {residual.Average()}");
        }
        // mumu pt grows with v: a selection at a heavy mass sees other background than at a light one.
        var mumu = Enumerable.Range(0, set.Count).Where(i => set.Process[i] == 1).ToArray();
        double MeanPt(Func<double, bool> region) => mumu.Where(i => region(set.Window![i])).Average(i => (double)set.Features[i * 4]);
        Assert.True(MeanPt(v => v > 60) > 1.5 * MeanPt(v => v < 10));
    }

    [Fact]
    public void Version_1_events_are_unchanged_and_a_version_3_is_an_error()
    {
        var v1 = new RecoilToy().Load(new JsonObject { ["signal_per_mass"] = 50, ["background_events"] = 50 }, 1);
        var explicitV1 = new RecoilToy().Load(new JsonObject { ["signal_per_mass"] = 50, ["background_events"] = 50, ["version"] = 1 }, 1);
        var v2 = new RecoilToy().Load(new JsonObject { ["signal_per_mass"] = 50, ["background_events"] = 50, ["version"] = 2 }, 1);
        Assert.Equal(v1.Features, explicitV1.Features);
        Assert.NotEqual(v1.Features, v2.Features);
        Assert.Contains("version", Assert.Throws<DataException>(() => new RecoilToy().Load(new JsonObject { ["version"] = 3 }, 1)).Message);
    }
}
