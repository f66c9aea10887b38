using Studies.Reports.Analysis;

namespace Studies.Reports.Tests.Analysis;

public sealed class ReportMathTests
{
    [Fact]
    public void SummariseGivesMeanAndSampleStdOfFiniteValues()
    {
        var s = ReportMath.Summarise([2, 4, 4, 4, 5, 5, 7, 9, double.NaN, double.PositiveInfinity]);
        Assert.Equal(8, s.Count);
        Assert.Equal(5.0, s.Mean, 12);
        Assert.Equal(Math.Sqrt(32.0 / 7.0), s.Std, 12);
    }

    [Fact]
    public void SummariseOfOneValueHasNoStdAndOfNoneHasNoMean()
    {
        var one = ReportMath.Summarise([3.5]);
        Assert.Equal(3.5, one.Mean);
        Assert.True(double.IsNaN(one.Std));
        Assert.False(ReportMath.Summarise([double.NaN]).HasValue);
    }

    [Fact]
    public void InterpolationUsesTheNearestTrainedMassOnEachSide()
    {
        (double, double)[] trained = [(5, 20), (1, 10), (3, 30), (4.5, double.NaN)];
        // Between 3 (30) and 5 (20); the NaN at 4.5 is skipped rather than used as a neighbour.
        Assert.Equal(25.0, ReportMath.InterpolateBetweenNeighbours(trained, 4), 12);
        Assert.Equal(15.0, ReportMath.InterpolateBetweenNeighbours(trained, 1.5), 12);
        Assert.True(double.IsNaN(ReportMath.InterpolateBetweenNeighbours(trained, 6)));
        Assert.True(double.IsNaN(ReportMath.InterpolateBetweenNeighbours(trained, 0.5)));
    }

    [Fact]
    public void LinearRejectsTwoEqualAbscissae()
    {
        Assert.Equal(7.0, ReportMath.Linear(1, 5, 2, 9, 1.5), 12);
        var e = Assert.Throws<ArgumentException>(() => ReportMath.Linear(2, 1, 2, 3, 2));
        Assert.Contains("distinct", e.Message);
    }

    [Fact]
    public void TrapezoidIsExactForAStraightLineAndIgnoresPointOrder()
    {
        // y = 2x + 1 on [0, 3]: area 12.
        Assert.Equal(12.0, ReportMath.TrapezoidArea([(3, 7), (0, 1), (2, 5), (1, 3)]), 12);
        Assert.Equal(0.0, ReportMath.TrapezoidArea([(1, 4)]));
    }

    [Fact]
    public void AreaRatiosDivideByTheBestMethodByDirection()
    {
        var curves = new Dictionary<string, IReadOnlyList<(double, double)>>
        {
            ["a"] = [(0, 1), (2, 1)],           // area 2
            ["b"] = [(0, 2), (2, 2), (3, 50)],  // area 4 over the common masses 0 and 2; mass 3 only b has
        };
        var auc = ReportMath.AreaRatios(curves, "roc_auc");
        Assert.Equal(0.5, auc["a"], 12);
        Assert.Equal(1.0, auc["b"], 12);
        var sigma = ReportMath.AreaRatios(curves, "sigma_min_best_cut");
        Assert.Equal(1.0, sigma["a"], 12);
        Assert.Equal(2.0, sigma["b"], 12);
    }

    [Fact]
    public void DownsampleKeepsEndsAndAtMostTheLimit()
    {
        var points = Enumerable.Range(0, 1001).ToList();
        var d = ReportMath.Downsample(points, 200);
        Assert.Equal(200, d.Count);
        Assert.Equal(0, d[0]);
        Assert.Equal(1000, d[^1]);
        Assert.True(d.Zip(d.Skip(1)).All(p => p.Second > p.First));
        Assert.Same(points, ReportMath.Downsample(points, 2000));
    }

    [Fact]
    public void BestIndexFollowsTheMetricDirection()
    {
        double[] values = [3, double.NaN, 1, 2];
        Assert.Equal(0, ReportMath.BestIndex(values, "roc_auc"));
        Assert.Equal(2, ReportMath.BestIndex(values, "sigma_min_global_cut"));
        Assert.Equal(-1, ReportMath.BestIndex([double.NaN], "z_best"));
    }
}
