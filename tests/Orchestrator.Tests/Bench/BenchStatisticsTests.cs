using Studies.Orchestrator.Bench;

namespace Studies.Orchestrator.Tests.Bench;

public sealed class BenchStatisticsTests
{
    [Fact]
    public void Median_and_quantiles_interpolate_as_numpy_does()
    {
        Assert.Equal(2, BenchStatistics.Median([3, 1, 2]));
        Assert.Equal(2.5, BenchStatistics.Median([4, 1, 3, 2]));
        Assert.True(double.IsNaN(BenchStatistics.Median([])));
        // numpy.quantile([1, 2, 3, 4, 10], [0.25, 0.75, 0.9]) = 2, 4, 7.6
        Assert.Equal(2, BenchStatistics.Quantile([10, 1, 4, 2, 3], 0.25), 12);
        Assert.Equal(4, BenchStatistics.Quantile([10, 1, 4, 2, 3], 0.75), 12);
        Assert.Equal(7.6, BenchStatistics.Quantile([10, 1, 4, 2, 3], 0.9), 12);
    }
}
