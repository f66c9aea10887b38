using Studies.Trials.Metrics;

namespace Studies.Trials.Tests.Metrics;

public sealed class RankingMetricsTests
{
    public static TheoryData<int, int> RandomCases => new() { { 1, 3 }, { 2, 7 }, { 3, 25 }, { 4, 400 } };

    [Theory]
    [MemberData(nameof(RandomCases))]
    public void Roc_auc_equals_weighted_pairwise_counting_with_ties_as_one_half(int seed, int distinctScores)
    {
        var sample = BruteForce.TiedSample(new Random(seed), 300, distinctScores);
        var expected = BruteForce.RocAuc(sample);
        Assert.InRange(expected, 0.55, 0.99); // the data is informative, so a wrong orientation would show
        Assert.Equal(expected, RankingMetrics.RocAuc(CutScan.Build(sample)), 12);
    }

    [Fact]
    public void Roc_auc_of_a_hand_example()
    {
        // Signal 0.9 (w 1), 0.5 (w 2); background 0.5 (w 1), 0.1 (w 3).
        // Pairs: 0.9>0.5: 1*1; 0.9>0.1: 1*3; 0.5=0.5: 2*1/2; 0.5>0.1: 2*3 -> 11 of 3*4 = 12.
        var sample = new MassSample([0.9, 0.5, 0.5, 0.1], [true, true, false, false], [1, 2, 1, 3]);
        Assert.Equal(11.0 / 12, RankingMetrics.RocAuc(CutScan.Build(sample)), 14);
    }

    [Theory]
    [MemberData(nameof(RandomCases))]
    public void Average_precision_equals_the_per_threshold_sum(int seed, int distinctScores)
    {
        var sample = BruteForce.TiedSample(new Random(seed), 300, distinctScores);
        Assert.Equal(BruteForce.AveragePrecision(sample), RankingMetrics.AveragePrecision(CutScan.Build(sample)), 12);
    }

    [Fact]
    public void Average_precision_of_a_hand_example_groups_ties()
    {
        // Thresholds 0.9: tpr 1/3, fpr 0 -> P 1; 0.5 (tie): tpr 1, fpr 1/4 -> P 1/(1 + 1/4) = 0.8;
        // 0.1: no recall gain. AP = 1/3 * 1 + 2/3 * 0.8.
        var sample = new MassSample([0.9, 0.5, 0.5, 0.1], [true, true, false, false], [1, 2, 1, 3]);
        Assert.Equal(1.0 / 3 + 2.0 / 3 * 0.8, RankingMetrics.AveragePrecision(CutScan.Build(sample)), 14);
    }

    [Fact]
    public void Class_scale_does_not_change_ranking_metrics()
    {
        var sample = BruteForce.TiedSample(new Random(9), 200, 10);
        var rescaled = new MassSample(sample.Score, sample.IsSignal,
            sample.Weight.Select((w, i) => sample.IsSignal[i] ? w * 1e-4 : w / 44).ToArray());
        CutScan a = CutScan.Build(sample), b = CutScan.Build(rescaled);
        Assert.Equal(RankingMetrics.RocAuc(a), RankingMetrics.RocAuc(b), 12);
        Assert.Equal(RankingMetrics.AveragePrecision(a), RankingMetrics.AveragePrecision(b), 12);
        Assert.Equal(RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(a, 0.1), RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(b, 0.1), 12);
    }

    [Theory]
    [MemberData(nameof(RandomCases))]
    public void Signal_efficiency_at_background_efficiency_equals_the_roc_curve_by_brute_force(int seed, int distinctScores)
    {
        var sample = BruteForce.TiedSample(new Random(seed), 400, distinctScores);
        var scan = CutScan.Build(sample);
        var random = new Random(seed + 100);
        double[] targets = [0.01, 0.1, 0, 1, .. Enumerable.Range(0, 20).Select(_ => random.NextDouble())];
        foreach (var target in targets)
            Assert.Equal(BruteForce.SignalEfficiencyAt(sample, target), RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(scan, target), 10);
    }

    [Fact]
    public void Signal_efficiency_interpolates_and_takes_the_top_of_vertical_steps()
    {
        // Ten unit background events at scores 0.05..0.95 and signal above and between them.
        var scores = new List<double> { 0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95 };
        var labels = Enumerable.Repeat(false, 10).ToList();
        // Four signal above all background, four tied with the top background event (0.95), two at 0.5.
        scores.AddRange([0.99, 0.99, 0.98, 0.97, 0.95, 0.95, 0.95, 0.95, 0.5, 0.5]);
        labels.AddRange(Enumerable.Repeat(true, 10));
        var scan = CutScan.Build(MassSample.Unweighted(scores, labels));
        // ROC: (0,0) -> (0,0.4) vertical -> (0.1,0.8) diagonal tie group -> ... -> (0.5,0.8) at 0.55 ->
        // (0.5,1.0) vertical at 0.5 -> (0.6,1.0) ...
        Assert.Equal(0.4, RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(scan, 0), 12);
        Assert.Equal(0.4 + 0.4 * 0.25, RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(scan, 0.025), 12);
        Assert.Equal(0.8, RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(scan, 0.1), 12);
        Assert.Equal(0.8, RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(scan, 0.3), 12);
        Assert.Equal(1.0, RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(scan, 0.5), 12);
        Assert.Equal(1.0, RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(scan, 1), 12);
    }

    [Fact]
    public void Metrics_are_nan_without_one_class_and_bad_targets_are_refused()
    {
        var onlySignal = CutScan.Build(MassSample.Unweighted([0.1, 0.2], [true, true]));
        Assert.True(double.IsNaN(RankingMetrics.RocAuc(onlySignal)));
        Assert.True(double.IsNaN(RankingMetrics.AveragePrecision(onlySignal)));
        Assert.True(double.IsNaN(RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(onlySignal, 0.1)));
        var zeroBackground = CutScan.Build(new MassSample([0.1, 0.2], [true, false], [1, 0]));
        Assert.True(double.IsNaN(RankingMetrics.RocAuc(zeroBackground)));
        var both = CutScan.Build(MassSample.Unweighted([0.1, 0.2], [true, false]));
        Assert.Throws<ArgumentOutOfRangeException>(() => RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(both, 1.5));
    }
}
