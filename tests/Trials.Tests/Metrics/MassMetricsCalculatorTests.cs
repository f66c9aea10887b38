using Studies.Trials.Metrics;
using Studies.Trials.Results;

namespace Studies.Trials.Tests.Metrics;

public sealed class MassMetricsCalculatorTests
{
    private static readonly string[] AllNames =
    [
        MetricNames.RocAuc, MetricNames.PrAuc, MetricNames.SigmaMinBestCut, MetricNames.SigmaMinGlobalCut,
        MetricNames.SigmaMinCut0p5, MetricNames.ZBest, MetricNames.ZSPlusBBest, MetricNames.ZAsimovBest, MetricNames.ZAsimovSigmaBBest,
        MetricNames.SigEffAtBkg1Pct, MetricNames.SigEffAtBkg10Pct, MetricNames.BestCut, MetricNames.GlobalCut,
        MetricNames.ZCut, MetricNames.SigmaMinBestCutOracle, MetricNames.SigmaMinGlobalCutOracle, MetricNames.ZBestOracle,
    ];

    private static MassSample Sample(int seed, int distinctScores, double signalScale = 0.002)
    {
        var raw = BruteForce.TiedSample(new Random(seed), 400, distinctScores);
        return new MassSample(raw.Score, raw.IsSignal, raw.Weight.Select((w, i) => raw.IsSignal[i] ? w * signalScale : w).ToArray());
    }

    [Fact]
    public void Every_mass_gets_every_metric_from_its_own_sample_and_the_shared_global_cut()
    {
        var samples = new[] { Sample(1, 9), Sample(2, 17), Sample(3, 40), Sample(4, 13) };
        MassInput[] inputs = [new(1, false, samples[0]), new(2, true, samples[1]), new(3, false, samples[2]), new(4, false, samples[3])];
        var options = new MetricOptions { Significance = new SignificanceParameters { SignalYieldPerEfficiency = 100 } };
        var results = MassMetricsCalculator.Compute(inputs, options);

        Assert.Equal([1.0, 2, 3, 4], results.Select(r => r.Mass));
        Assert.Equal([false, true, false, false], results.Select(r => r.Heldout));
        var trainedScans = new[] { samples[0], samples[2], samples[3] }.Select(CutScan.Build).ToArray();
        var global = GlobalCut.Find(trainedScans, options.Punzi);
        for (var i = 0; i < inputs.Length; i++)
        {
            var metrics = results[i].Metrics;
            Assert.Equal(AllNames.Order(), metrics.Keys.Order());
            Assert.All(metrics.Values, v => Assert.False(double.IsNaN(v)));
            var scan = CutScan.Build(samples[i]);
            Assert.Equal(BruteForce.RocAuc(samples[i]), metrics[MetricNames.RocAuc], 12);
            Assert.Equal(BruteForce.AveragePrecision(samples[i]), metrics[MetricNames.PrAuc], 12);
            Assert.Equal(BruteForce.SignalEfficiencyAt(samples[i], 0.01), metrics[MetricNames.SigEffAtBkg1Pct], 10);
            Assert.Equal(BruteForce.SignalEfficiencyAt(samples[i], 0.1), metrics[MetricNames.SigEffAtBkg10Pct], 10);
            var best = PunziSensitivity.Best(scan, options.Punzi);
            Assert.Equal(best.Value, metrics[MetricNames.SigmaMinBestCut]);
            Assert.Equal(best.Cut, metrics[MetricNames.BestCut]);
            var (s05, b05) = BruteForce.Passing(samples[i], 0.5);
            Assert.Equal(PunziSensitivity.SigmaMin(s05, b05, options.Punzi), metrics[MetricNames.SigmaMinCut0p5], 10);
            Assert.Equal(global.Cut, metrics[MetricNames.GlobalCut]);
            var (sg, bg) = BruteForce.Passing(samples[i], global.Cut);
            Assert.Equal(PunziSensitivity.SigmaMin(sg, bg, options.Punzi), metrics[MetricNames.SigmaMinGlobalCut], 10);
            Assert.True(metrics[MetricNames.SigmaMinBestCut] <= metrics[MetricNames.SigmaMinGlobalCut]);
            var z = Significance.Best(scan, options.Significance);
            Assert.Equal(z.SOverSqrtB.Value, metrics[MetricNames.ZBest]);
            Assert.Equal(z.SOverSqrtB.Cut, metrics[MetricNames.ZCut]);
            // Without cuts chosen elsewhere, the own optimum is both the headline and the oracle.
            Assert.Equal(metrics[MetricNames.SigmaMinBestCut], metrics[MetricNames.SigmaMinBestCutOracle]);
            Assert.Equal(metrics[MetricNames.ZBest], metrics[MetricNames.ZBestOracle]);
            Assert.Equal(z.SOverSqrtSPlusB.Value, metrics[MetricNames.ZSPlusBBest]);
            Assert.Equal(z.Asimov.Value, metrics[MetricNames.ZAsimovBest]);
        }
    }

    [Fact]
    public void Held_out_masses_do_not_move_the_global_cut()
    {
        MassInput[] With(MassSample heldout) => [new(1, false, Sample(1, 9)), new(2, true, heldout), new(3, false, Sample(3, 40))];
        var a = MassMetricsCalculator.Compute(With(Sample(7, 11)));
        var b = MassMetricsCalculator.Compute(With(Sample(8, 30, signalScale: 0.1)));
        Assert.Equal(a[0].Metrics[MetricNames.GlobalCut], b[0].Metrics[MetricNames.GlobalCut]);
        Assert.Equal(a[0].Metrics[MetricNames.SigmaMinGlobalCut], b[0].Metrics[MetricNames.SigmaMinGlobalCut]);
        Assert.NotEqual(a[1].Metrics[MetricNames.SigmaMinGlobalCut], b[1].Metrics[MetricNames.SigmaMinGlobalCut]);
    }

    [Fact]
    public void Undefined_metrics_are_nan()
    {
        var onlyBackground = MassSample.Unweighted([0.1, 0.6, 0.9], [false, false, false]);
        var onlySignal = new MassSample([0.2, 0.7], [true, true], [0.3, 0.4]);
        var normal = Sample(5, 20);
        var results = MassMetricsCalculator.Compute([new(1, false, onlyBackground), new(2, false, onlySignal), new(3, true, normal)]);

        // No signal: nothing signal-dependent, and it stays out of the global cut's mean.
        var none = results[0].Metrics;
        foreach (var name in AllNames.Except([MetricNames.GlobalCut]))
            Assert.True(double.IsNaN(none[name]), name);
        // No background: ranking metrics and significances undefined, sigma_min defined (B floored).
        var signalOnly = results[1].Metrics;
        foreach (var name in new[] { MetricNames.RocAuc, MetricNames.PrAuc, MetricNames.SigEffAtBkg1Pct, MetricNames.SigEffAtBkg10Pct, MetricNames.ZBest, MetricNames.ZSPlusBBest, MetricNames.ZAsimovBest })
            Assert.True(double.IsNaN(signalOnly[name]), name);
        Assert.Equal(0.2, signalOnly[MetricNames.BestCut]);
        Assert.Equal(0.2, signalOnly[MetricNames.GlobalCut]); // the only trained mass with signal decides
        Assert.Equal(PunziSensitivity.SigmaMin(0.7, 0, PunziParameters.Default), signalOnly[MetricNames.SigmaMinGlobalCut], 12);
        Assert.Equal(PunziSensitivity.SigmaMin(0.4, 0, PunziParameters.Default), signalOnly[MetricNames.SigmaMinCut0p5], 12);
        Assert.False(double.IsNaN(results[2].Metrics[MetricNames.SigmaMinGlobalCut]));

        // With no trained signal at all there is no global cut.
        var noTrained = MassMetricsCalculator.Compute([new(1, false, onlyBackground), new(3, true, normal)]);
        Assert.True(double.IsNaN(noTrained[1].Metrics[MetricNames.GlobalCut]));
        Assert.True(double.IsNaN(noTrained[1].Metrics[MetricNames.SigmaMinGlobalCut]));
        Assert.False(double.IsNaN(noTrained[1].Metrics[MetricNames.SigmaMinBestCut]));
    }

    [Fact]
    public void Bad_input_is_refused_with_where_it_is()
    {
        Assert.Contains("Weight[1]", Assert.Throws<ArgumentException>(() => new MassSample([0.1, 0.2], [true, false], [1, double.NaN])).Message);
        Assert.Contains("Score[0]", Assert.Throws<ArgumentException>(() => new MassSample([double.NaN], [true], [1])).Message);
        Assert.Contains("lengths differ", Assert.Throws<ArgumentException>(() => new MassSample([0.1, 0.2], [true], [1, 1])).Message);
        var sample = Sample(1, 5);
        Assert.Contains("mass 2 appears more than once",
            Assert.Throws<ArgumentException>(() => MassMetricsCalculator.Compute([new(2, false, sample), new(2, true, sample)])).Message);
    }

    [Fact]
    public void Cuts_chosen_on_validation_are_reported_on_test_and_the_test_optimum_stays_as_the_oracle()
    {
        // Validation: both signal events above 0.9, background below: its best cut is 0.9. Test: the
        // signal sits at 0.7-0.75 under a background event at 0.95, so its own best cut is 0.7, and
        // the validation cut keeps only that background event.
        var validation = new MassSample([0.95, 0.9, 0.85, 0.3, 0.2], [true, true, false, false, false], [0.5, 0.5, 1, 1, 1]);
        var test = new MassSample([0.75, 0.7, 0.95, 0.1], [true, true, false, false], [0.5, 0.5, 1, 1]);
        var options = new MetricOptions { Significance = new SignificanceParameters { MinBackgroundYield = 0, MinSignalEfficiency = 0 } };
        var onValidation = MassMetricsCalculator.Compute([new MassInput(1, false, validation)], options)[0].Metrics;
        Assert.Equal(0.9, onValidation[MetricNames.BestCut]);

        var chosen = new ChosenCuts([onValidation[MetricNames.BestCut]], [onValidation[MetricNames.ZCut]], onValidation[MetricNames.GlobalCut]);
        var onTest = MassMetricsCalculator.Compute([new MassInput(1, false, test)], options, chosen)[0].Metrics;
        var testScan = CutScan.Build(test);
        var oracle = PunziSensitivity.Best(testScan, options.Punzi);
        Assert.Equal(0.7, oracle.Cut);
        Assert.Equal(0.9, onTest[MetricNames.BestCut]);
        Assert.Equal(PunziSensitivity.AtCut(testScan, 0.9, options.Punzi), onTest[MetricNames.SigmaMinBestCut]);
        Assert.Equal(oracle.Value, onTest[MetricNames.SigmaMinBestCutOracle]);
        Assert.True(onTest[MetricNames.SigmaMinBestCut] > 10 * onTest[MetricNames.SigmaMinBestCutOracle]);
        Assert.Equal(Significance.AtCut(testScan, onValidation[MetricNames.ZCut], options.Significance), onTest[MetricNames.ZBest]);
        Assert.Equal(Significance.Best(testScan, options.Significance).SOverSqrtB.Value, onTest[MetricNames.ZBestOracle]);
        Assert.NotEqual(onTest[MetricNames.ZBest], onTest[MetricNames.ZBestOracle]);
    }
}
