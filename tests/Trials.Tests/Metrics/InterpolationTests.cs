using Studies.Trials.Metrics;
using Studies.Trials.Results;

namespace Studies.Trials.Tests.Metrics;

public sealed class InterpolationTests
{
    private static MassMetricValues Mass(double mass, bool heldout, double auc) =>
        new(mass, heldout, new Dictionary<string, double> { [MetricNames.RocAuc] = auc });

    // Trained AUC 0.8 at 100, 0.9 at 300, 0.7 at 500; held out at 200, 400 (bracketed) and 50, 600 (not).
    private static readonly MassMetricValues[] Curve =
    [
        Mass(100, false, 0.8), Mass(600, true, 0.6), Mass(300, false, 0.9), Mass(200, true, 0.935),
        Mass(50, true, 0.7), Mass(500, false, 0.7), Mass(400, true, 0.72),
    ];

    [Fact]
    public void Held_out_metrics_are_divided_by_the_interpolation_between_neighbouring_trained_masses()
    {
        var ratios = Interpolation.RatiosToInterpolation(Curve, MetricNames.RocAuc);
        Assert.Equal([600.0, 200, 50, 400], ratios.Select(r => r.Mass));
        var at200 = ratios.Single(r => r.Mass == 200);
        Assert.Equal((0.8 + 0.9) / 2, at200.Baseline, 14);
        Assert.Equal(0.935 / 0.85, at200.Ratio, 14);
        var at400 = ratios.Single(r => r.Mass == 400);
        Assert.Equal((0.9 + 0.7) / 2, at400.Baseline, 14);
        Assert.Equal(0.72 / 0.8, at400.Ratio, 14);
        Assert.True(double.IsNaN(ratios.Single(r => r.Mass == 600).Ratio));
        Assert.True(double.IsNaN(ratios.Single(r => r.Mass == 50).Baseline));

        var mean = Interpolation.Mean(ratios);
        Assert.Equal(2, mean.Count);
        Assert.Equal((0.935 / 0.85 + 0.72 / 0.8) / 2, mean.Mean, 14);
    }

    [Fact]
    public void Linear_interpolation_weights_by_distance()
    {
        MassValue[] points = [new(10, 1), new(20, 3), new(40, 7)];
        Assert.Equal(1 + 2 * 0.25, Interpolation.LinearAt(points, 12.5), 14);
        Assert.Equal(3 + 4 * 0.75, Interpolation.LinearAt(points, 35), 14);
        Assert.Equal(3, Interpolation.LinearAt(points, 20));
        Assert.True(double.IsNaN(Interpolation.LinearAt(points, 41)));
        Assert.True(double.IsNaN(Interpolation.LinearAt([], 1)));
    }

    [Fact]
    public void Held_out_metrics_are_divided_by_a_reference_where_one_is_given()
    {
        var reference = new Dictionary<double, double> { [200] = 0.95, [400] = 0.9, [100] = 0.5 };
        var ratios = Interpolation.RatiosToReference(Curve, MetricNames.RocAuc, reference);
        Assert.Equal(0.935 / 0.95, ratios.Single(r => r.Mass == 200).Ratio, 14);
        Assert.Equal(0.72 / 0.9, ratios.Single(r => r.Mass == 400).Ratio, 14);
        Assert.True(double.IsNaN(ratios.Single(r => r.Mass == 600).Ratio));
        Assert.DoesNotContain(ratios, r => r.Mass == 100); // trained masses are not interpolation targets
        var mean = Interpolation.Mean(ratios);
        Assert.Equal((0.935 / 0.95 + 0.72 / 0.9) / 2, mean.Mean, 14);
        Assert.Equal(2, mean.Count);
    }

    [Fact]
    public void A_missing_metric_gives_nan_ratios_and_an_empty_mean()
    {
        var ratios = Interpolation.RatiosToInterpolation(Curve, MetricNames.ZBest);
        Assert.All(ratios, r => Assert.True(double.IsNaN(r.Ratio)));
        var mean = Interpolation.Mean(ratios);
        Assert.Equal(0, mean.Count);
        Assert.True(double.IsNaN(mean.Mean));
    }

    [Fact]
    public void Area_ratio_integrates_both_curves_over_their_common_mass_range()
    {
        // Method: (0,0) (2,2) (4,2); baseline: (1,2) (5,2). Common range [1, 4].
        // Method area: [1,2] trapezoid (1 + 2)/2 = 1.5, [2,4] 2 * 2 = 4 -> 5.5. Baseline area: 2 * 3 = 6.
        MassValue[] method = [new(4, 2), new(0, 0), new(2, 2)];
        MassValue[] baseline = [new(1, 2), new(5, 2)];
        Assert.Equal(5.5 / 6, Interpolation.AreaRatio(method, baseline), 14);
        Assert.Equal(6 / 5.5, Interpolation.AreaRatio(baseline, method), 14);
        Assert.Equal(1, Interpolation.AreaRatio(method, method), 14);
        Assert.True(double.IsNaN(Interpolation.AreaRatio(method, [new(5, 1), new(6, 1)])));
        Assert.True(double.IsNaN(Interpolation.AreaRatio(method, [new(1, 1)])));
    }

    [Fact]
    public void Repeated_masses_are_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => Interpolation.AreaRatio([new(1, 1), new(1, 2)], [new(0, 1), new(2, 1)]));
        Assert.Contains("mass 1 twice", error.Message);
    }
}
