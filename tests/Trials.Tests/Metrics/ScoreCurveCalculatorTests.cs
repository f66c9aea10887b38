using Studies.Trials.Metrics;
using Studies.Trials.Results;

namespace Studies.Trials.Tests.Metrics;

/// <summary>The recorded score curves against direct computations from the events (issue 28's seed-paper figures).</summary>
public sealed class ScoreCurveCalculatorTests
{
    private static readonly SignificanceParameters Parameters = new()
    {
        SignalYieldPerEfficiency = 40, MinBackgroundYield = 2, MinBackgroundEvents = 3, MinSignalEfficiency = 0.05, WeightScale = 0.9,
    };

    public static TheoryData<int, int> Samples => new() { { 1, 5 }, { 2, 41 }, { 3, 400 }, { 4, 7 } };

    [Theory]
    [MemberData(nameof(Samples))]
    public void Roc_points_histograms_and_significance_equal_a_direct_computation_from_the_scores(int seed, int distinct)
    {
        var sample = BruteForce.TiedSample(new Random(seed), 600, distinct);
        var curves = ScoreCurveCalculator.Compute(new MassInput(750, true, sample), workingCut: 0.5, zCut: 0.75, Parameters);

        Assert.Equal((750.0, true), (curves.Mass, curves.Heldout));
        Assert.Equal(ScoreCurveCalculator.RocGrid, curves.BackgroundEfficiency);
        for (var i = 0; i < curves.BackgroundEfficiency.Count; i++)
            Assert.Equal(BruteForce.SignalEfficiencyAt(sample, curves.BackgroundEfficiency[i]), curves.SignalEfficiency[i], 12);

        // Probabilities: 40 equal bins over [0, 1]; each bin holds exactly the events with lower edge <= score < upper edge (the last bin also 1).
        Assert.Equal(ScoreCurveCalculator.Bins + 1, curves.Edges.Count);
        Assert.Equal((0.0, 1.0), (curves.Edges[0], curves.Edges[^1]));
        var (sTot, bTot) = BruteForce.Totals(sample);
        for (var k = 0; k < ScoreCurveCalculator.Bins; k++)
        {
            var (lo, hi, last) = (curves.Edges[k], curves.Edges[k + 1], k == ScoreCurveCalculator.Bins - 1);
            double s = 0, b = 0;
            for (var i = 0; i < sample.Count; i++)
            {
                var x = sample.Score[i];
                if (!(x >= lo && (x < hi || last))) continue;
                if (sample.IsSignal[i]) s += sample.Weight[i] / Parameters.WeightScale;
                else b += sample.Weight[i] / Parameters.WeightScale;
            }
            Assert.Equal(s, curves.SignalHistogram[k], 9);
            Assert.Equal(b, curves.BackgroundHistogram[k], 9);
        }
        // The histograms sum to the weighted counts: absolute efficiency and expected background with the scale taken out.
        Assert.Equal(sTot / Parameters.WeightScale, curves.SignalHistogram.Sum(), 9);
        Assert.Equal(bTot / Parameters.WeightScale, curves.BackgroundHistogram.Sum(), 9);

        for (var k = 0; k < ScoreCurveCalculator.Bins; k++)
        {
            var (s, b) = BruteForce.Passing(sample, curves.Edges[k]);
            var events = Enumerable.Range(0, sample.Count).Count(i => !sample.IsSignal[i] && sample.Score[i] >= curves.Edges[k]);
            var yield = b / Parameters.WeightScale;
            var qualifies = yield > 0 && yield >= Parameters.MinBackgroundYield && events >= Parameters.MinBackgroundEvents && s / sTot >= Parameters.MinSignalEfficiency;
            var expected = qualifies ? s / Parameters.WeightScale * Parameters.SignalYieldPerEfficiency / Math.Sqrt(yield) : double.NaN;
            Assert.Equal(expected, curves.Significance[k], 9);
        }
        // The curve never beats the exact scan's best Z over every threshold (its cuts are a subset).
        var best = Significance.Best(CutScan.Build(sample), Parameters).SOverSqrtB.Value;
        Assert.True(curves.Significance.Where(double.IsFinite).DefaultIfEmpty(0).Max() <= best + 1e-12);

        var (ws, wb) = BruteForce.Passing(sample, 0.5);
        Assert.Equal(ws / sTot, curves.WorkingSignalEfficiency, 12);
        Assert.Equal(wb / bTot, curves.WorkingBackgroundEfficiency, 12);
        // The working point is a vertex of the exact ROC.
        Assert.True(BruteForce.SignalEfficiencyAt(sample, curves.WorkingBackgroundEfficiency) >= curves.WorkingSignalEfficiency - 1e-12);
        Assert.Equal((0.5, 0.75), (curves.WorkingCut, curves.ZCut));
    }

    [Fact]
    public void Scores_outside_zero_to_one_are_binned_over_their_own_range_and_one_class_gives_no_roc()
    {
        var sample = new MassSample([-3, -1, 0.5, 2, 5], [true, true, true, true, true], [1, 1, 1, 1, 1]);
        var curves = ScoreCurveCalculator.Compute(new MassInput(1, false, sample), double.NaN, double.NaN, SignificanceParameters.Default);
        Assert.Equal((-3.0, 5.0), (curves.Edges[0], curves.Edges[^1]));
        Assert.Equal(5, curves.SignalHistogram.Sum(), 12);
        Assert.Equal(1, curves.SignalHistogram[^1]);
        Assert.All(curves.SignalEfficiency, v => Assert.True(double.IsNaN(v)));
        Assert.All(curves.Significance, v => Assert.True(double.IsNaN(v)));
        Assert.True(double.IsNaN(curves.WorkingSignalEfficiency));
    }
}
