using System.Text.Json.Nodes;
using Studies.Trials.Data;
using Studies.Trials.Metrics;

namespace Studies.Trials.Tests.Data;

/// <summary>The Lovász toy's covariances give the paper's working point; the Z floor counts simulated events.</summary>
public sealed class LovaszCovarianceTests
{
    /// <summary>Z = s / sqrt(b) of the Bayes-optimal selection at 50 % signal efficiency, case 1, L = 3000 fb^-1.</summary>
    private static double BayesZAtHalfEfficiency(string covariances)
    {
        var options = new JsonObject { ["events_per_process"] = 100_000, ["covariances"] = covariances };
        var toy = new LovaszToy();
        var events = toy.Load(options, 3);
        var optimal = toy.BayesOptimal(options);
        var signal = new List<double>();
        var background = new List<(double Score, double Weight)>();
        for (var i = 0; i < events.Count; i++)
        {
            var score = optimal.Score(events, i, 0);
            if (events.Label[i] == 1) signal.Add(score);
            else background.Add((score, events.Weight[i]));
        }
        signal.Sort();
        var cut = signal[signal.Count / 2];
        var b = background.Where(e => e.Score >= cut).Sum(e => e.Weight);
        return 0.5 * 0.1 * 3000 / Math.Sqrt(b);
    }

    [Fact]
    public void The_paper_covariances_give_z_4_5_at_half_the_signal_and_the_unit_ones_far_more()
    {
        Assert.InRange(BayesZAtHalfEfficiency("paper"), 4.3, 4.7);
        Assert.True(BayesZAtHalfEfficiency("unit") > 10);
    }

    [Fact]
    public void The_best_z_needs_five_simulated_background_events_not_only_five_expected()
    {
        // Two heavy background events (6 expected each) at the top, then light ones: the yield floor
        // alone accepts the cut with two simulated events; the event floor moves it down.
        var score = new List<double> { 0.99, 0.98, 0.97, 0.96 };
        var isSignal = new List<bool> { true, true, false, false };
        var weight = new List<double> { 0.3, 0.3, 6, 6 };
        for (var k = 0; k < 20; k++)
        {
            score.Add(0.9 - 0.01 * k);
            isSignal.Add(k % 4 == 0);
            weight.Add(k % 4 == 0 ? 0.02 : 1);
        }
        var scan = CutScan.Build(new MassSample(score, isSignal, weight));
        var parameters = new SignificanceParameters { SignalYieldPerEfficiency = 100, MinBackgroundYield = 5, MinSignalEfficiency = 0 };
        var yieldOnly = Significance.Best(scan, parameters).SOverSqrtB;
        var events = Significance.Best(scan, parameters with { MinBackgroundEvents = 5 }).SOverSqrtB;
        Assert.True(scan.BackgroundEventsPassing[scan.IndexAt(yieldOnly.Cut)] < 5);
        Assert.True(scan.BackgroundEventsPassing[scan.IndexAt(events.Cut)] >= 5);
        Assert.True(events.Value < yieldOnly.Value);
    }
}
