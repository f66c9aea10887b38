using Studies.Trials.Metrics;

namespace Studies.Trials.Tests.Metrics;

public sealed class CutScanTests
{
    /// <summary>A tied sample whose signal weights are efficiency contributions (total eps 0.9) and background weights yields.</summary>
    private static MassSample PhysicsSample(int seed, int count, int distinctScores)
    {
        var raw = BruteForce.TiedSample(new Random(seed), count, distinctScores);
        var signalWeight = raw.Weight.Where((_, i) => raw.IsSignal[i]).Sum();
        return new MassSample(raw.Score, raw.IsSignal,
            raw.Weight.Select((w, i) => raw.IsSignal[i] ? 0.9 * w / signalWeight : w).ToArray());
    }

    [Fact]
    public void Cuts_are_the_distinct_scores_descending_after_nothing_passes()
    {
        var sample = new MassSample([0.2, 0.7, 0.2, 0.9, 0.7], [true, false, false, true, true], [1, 2, 3, 4, 5]);
        var scan = CutScan.Build(sample);
        Assert.Equal([double.PositiveInfinity, 0.9, 0.7, 0.2], scan.Thresholds.ToArray());
        Assert.Equal([0.0, 4, 9, 10], scan.SignalPassing.ToArray());
        Assert.Equal([0.0, 0, 2, 5], scan.BackgroundPassing.ToArray());
        // A cut equal to a score lets that score pass; one between scores acts like the next lower score.
        Assert.Equal(2, scan.IndexAt(0.7));
        Assert.Equal(1, scan.IndexAt(0.71));
        Assert.Equal(0, scan.IndexAt(0.95));
        Assert.Equal(3, scan.IndexAt(-5));
        Assert.Equal(0, scan.IndexAt(double.PositiveInfinity));
    }

    [Theory]
    [InlineData(1, 4)]
    [InlineData(2, 11)]
    [InlineData(3, 60)]
    public void Best_cut_sigma_min_equals_a_brute_force_scan(int seed, int distinctScores)
    {
        var sample = PhysicsSample(seed, 300, distinctScores);
        foreach (var p in new[] { PunziParameters.Default, PunziParameters.Default with { Formula = PunziFormula.Simple } })
        {
            var sigmas = BruteForce.Cuts(sample).Select(c => BruteForce.Passing(sample, c)).Select(x => PunziSensitivity.SigmaMin(x.Signal, x.Background, p)).ToArray();
            var best = PunziSensitivity.Best(CutScan.Build(sample), p);
            Assert.Equal(sigmas.Min(), best.Value, 10);
            var atCut = BruteForce.Passing(sample, best.Cut);
            Assert.Equal(sigmas.Min(), PunziSensitivity.SigmaMin(atCut.Signal, atCut.Background, p), 10);
            // Not a degenerate optimum at either end.
            Assert.True(best.Value < sigmas[^1]);
        }
    }

    [Fact]
    public void Sigma_min_at_a_fixed_cut_selects_score_at_or_above_it()
    {
        var sample = PhysicsSample(5, 200, 9); // scores k/8: 0.5 is one of them
        Assert.Contains(0.5, sample.Score);
        var scan = CutScan.Build(sample);
        var p = PunziParameters.Default;
        foreach (var cut in new[] { 0.5, 0.49, 0.51, 2.0, -1.0 })
        {
            var (s, b) = BruteForce.Passing(sample, cut);
            Assert.Equal(PunziSensitivity.SigmaMin(s, b, p), PunziSensitivity.AtCut(scan, cut, p), 10);
        }
    }

    [Theory]
    [InlineData(1, 4, 5.0, 0.05)]
    [InlineData(2, 13, 5.0, 0.05)]
    [InlineData(3, 50, 20.0, 0.3)]
    [InlineData(4, 50, 0.0, 0.0)]
    public void Best_significances_equal_a_brute_force_scan_under_the_constraints(int seed, int distinctScores, double minB, double minEff)
    {
        var sample = PhysicsSample(seed, 300, distinctScores);
        var parameters = new SignificanceParameters { SignalYieldPerEfficiency = 40, MinBackgroundYield = minB, MinSignalEfficiency = minEff };
        var sTot = BruteForce.Totals(sample).Signal;
        double z = double.NaN, zSb = double.NaN, zA = double.NaN;
        foreach (var cut in BruteForce.Cuts(sample))
        {
            var (eps, b) = BruteForce.Passing(sample, cut);
            if (b <= 0 || b < minB || eps / sTot < minEff) continue;
            var s = eps * 40;
            z = Max(z, s / Math.Sqrt(b));
            zSb = Max(zSb, s / Math.Sqrt(s + b));
            zA = Max(zA, Math.Sqrt(2 * ((s + b) * Math.Log(1 + s / b) - s)));
        }
        var best = Significance.Best(CutScan.Build(sample), parameters);
        Assert.Equal(z, best.SOverSqrtB.Value, 10);
        Assert.Equal(zSb, best.SOverSqrtSPlusB.Value, 10);
        Assert.Equal(zA, best.Asimov.Value, 10);
        var (epsAt, bAt) = BruteForce.Passing(sample, best.SOverSqrtB.Cut);
        Assert.Equal(z, epsAt * 40 / Math.Sqrt(bAt), 10);

        static double Max(double a, double b) => double.IsNaN(a) || b > a ? b : a;
    }

    [Fact]
    public void Significance_constraints_exclude_cuts_by_hand()
    {
        // Cut 0.9: s = 5, b = 1 (too little background). Cut 0.6: s = 8, b = 5. Cut 0.3: s = 10, b = 25.
        var sample = new MassSample([0.9, 0.9, 0.6, 0.6, 0.3, 0.3], [true, false, true, false, true, false], [0.5, 1, 0.3, 4, 0.2, 20]);
        var scan = CutScan.Build(sample);
        var best = Significance.Best(scan, new SignificanceParameters { SignalYieldPerEfficiency = 10 });
        Assert.Equal(new ScanOptimum(8 / Math.Sqrt(5), 0.6), best.SOverSqrtB);
        Assert.Equal(8 / Math.Sqrt(13), best.SOverSqrtSPlusB.Value, 14);
        Assert.Equal(Math.Sqrt(2 * (13 * Math.Log(1 + 8.0 / 5) - 8)), best.Asimov.Value, 12);
        // Without the yield constraint the top cut wins: 5 / sqrt(1).
        Assert.Equal(5, Significance.Best(scan, new SignificanceParameters { SignalYieldPerEfficiency = 10, MinBackgroundYield = 0 }).SOverSqrtB.Value, 14);
        // Requiring 90 % signal efficiency leaves only the loosest cut: 10 / sqrt(25).
        Assert.Equal(new ScanOptimum(2, 0.3), Significance.Best(scan, new SignificanceParameters { SignalYieldPerEfficiency = 10, MinSignalEfficiency = 0.9 }).SOverSqrtB);
        // No cut with 30 background events: undefined.
        Assert.True(double.IsNaN(Significance.Best(scan, new SignificanceParameters { MinBackgroundYield = 30 }).Asimov.Value));
    }

    [Fact]
    public void Asimov_significance_with_a_background_uncertainty_equals_a_hand_computation()
    {
        // s = 10, b = 25, sigma_b = 0.2 b = 5 (sigma² = 25): s + b = 35, b + sigma² = 50, b² + (s+b) sigma² = 1500,
        // sigma² s / (b (b + sigma²)) = 250 / 1250 = 0.2, so Z² = 2 (35 ln(1750/1500) - (625/25) ln 1.2)
        // = 2 (5.3952738... - 4.5580389...); Python's math.log gives Z = 1.2940130402010468.
        Assert.Equal(1.2940130402010468, Significance.AsimovWithUncertainty(10, 25, 0.2), 13);
        Assert.Equal(Math.Sqrt(2 * (35 * Math.Log(1750.0 / 1500) - 25 * Math.Log(1.2))), Significance.AsimovWithUncertainty(10, 25, 0.2), 13);
        // No uncertainty is the plain Asimov significance; more uncertainty, less significance.
        Assert.Equal(Significance.Asimov(10, 25), Significance.AsimovWithUncertainty(10, 25, 0));
        Assert.True(Significance.AsimovWithUncertainty(10, 25, 0.3) < Significance.AsimovWithUncertainty(10, 25, 0.2));
        Assert.True(Significance.AsimovWithUncertainty(10, 25, 0.2) < Significance.Asimov(10, 25));

        // In a scan: the cut at 0.6 (s = 8, b = 5) wins against 0.3 (s = 10, b = 25), and its value is the formula's.
        var sample = new MassSample([0.9, 0.9, 0.6, 0.6, 0.3, 0.3], [true, false, true, false, true, false], [0.5, 1, 0.3, 4, 0.2, 20]);
        var best = Significance.Best(CutScan.Build(sample), new SignificanceParameters { SignalYieldPerEfficiency = 10, BackgroundUncertainty = 0.5 });
        Assert.Equal(0.6, best.AsimovWithUncertainty.Cut);
        Assert.Equal(Significance.AsimovWithUncertainty(8, 5, 0.5), best.AsimovWithUncertainty.Value, 12);
    }

    /// <summary>NLO samples carry negative weights: the scans take them as they are, equal to brute-force sums.</summary>
    [Fact]
    public void Negative_weights_give_the_brute_force_auc_sigma_min_and_efficiency()
    {
        var random = new Random(3);
        var sample = BruteForce.TiedSample(random, 400, 25);
        var weight = sample.Weight.Select((w, i) => i % 7 == 0 ? -0.6 * w : w).ToArray();
        var signed = new MassSample(sample.Score, sample.IsSignal, weight);
        var scan = CutScan.Build(signed);
        Assert.Equal(BruteForce.RocAuc(signed), RankingMetrics.RocAuc(scan), 10);

        var parameters = PunziParameters.Default with { Luminosity = 1 };
        var brute = BruteForce.Cuts(signed).Min(c =>
        {
            var (s, b) = BruteForce.Passing(signed, c);
            return PunziSensitivity.SigmaMin(Math.Max(s, 0), Math.Max(b, 0), parameters);
        });
        Assert.Equal(brute, PunziSensitivity.Best(scan, parameters).Value, 10);

        // Signal efficiency at 10 % background efficiency: the first cut (from the top) whose background
        // efficiency passes 10 %, interpolated from the one before, even where the curve goes back down.
        var (sTot, bTot) = BruteForce.Totals(signed);
        var cuts = BruteForce.Cuts(signed);
        var points = cuts.Select(c => BruteForce.Passing(signed, c)).Select(p => (Tpr: p.Signal / sTot, Fpr: p.Background / bTot)).ToArray();
        var k = Enumerable.Range(1, points.Length - 1).First(i => points[i].Fpr > 0.1);
        var expected = points[k - 1].Tpr + (points[k].Tpr - points[k - 1].Tpr) * (0.1 - points[k - 1].Fpr) / (points[k].Fpr - points[k - 1].Fpr);
        Assert.Equal(expected, RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(scan, 0.1), 10);
    }

    [Fact]
    public void Asimov_significance_is_accurate_for_small_signal()
    {
        // For s << b, Z_A -> s / sqrt(b) (1 - s/(6b) + ...), where the direct formula loses its digits.
        const double s = 1e-4, b = 100;
        var r = s / b;
        Assert.Equal(s / Math.Sqrt(b) * Math.Sqrt(1 - r / 3 + r * r / 6), Significance.Asimov(s, b), 15);
        Assert.Equal(Math.Sqrt(2 * ((30 + 20) * Math.Log(1 + 30.0 / 20) - 30)), Significance.Asimov(30, 20), 13);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Global_cut_equals_a_brute_force_scan_over_the_union_of_scores(int seed)
    {
        var random = new Random(seed);
        // Different score resolutions per mass, so the union has scores that only some masses have.
        var masses = new[] { PhysicsSample(seed * 10, 150, 5), PhysicsSample(seed * 10 + 1, 150, 9), PhysicsSample(seed * 10 + 2, 150, 23 + random.Next(10)) };
        var p = PunziParameters.Default;
        var means = BruteForce.Cuts(masses).Select(c => masses.Average(m =>
        {
            var (s, b) = BruteForce.Passing(m, c);
            return PunziSensitivity.SigmaMin(s, b, p);
        })).ToArray();
        var global = GlobalCut.Find(masses.Select(CutScan.Build).ToArray(), p);
        Assert.Equal(means.Min(), global.Value, 10);
        var atCut = masses.Average(m =>
        {
            var (s, b) = BruteForce.Passing(m, global.Cut);
            return PunziSensitivity.SigmaMin(s, b, p);
        });
        Assert.Equal(means.Min(), atCut, 10);
        // The shared cut is no better for any mass than that mass's own best cut.
        foreach (var m in masses)
            Assert.True(PunziSensitivity.Best(CutScan.Build(m), p).Value <= PunziSensitivity.AtCut(CutScan.Build(m), global.Cut, p) + 1e-12);
    }

    [Fact]
    public void Global_cut_balances_masses_whose_own_best_cuts_differ()
    {
        // Mass 1 wants cut 0.8, mass 2 wants cut 0.4; hand-checked means below decide.
        var m1 = new MassSample([0.8, 0.8, 0.4, 0.4], [true, false, true, false], [0.5, 1, 0.1, 50]);
        var m2 = new MassSample([0.8, 0.8, 0.4, 0.4], [true, false, true, false], [0.1, 1, 0.5, 1]);
        var p = PunziParameters.Default;
        double At(double s, double b) => PunziSensitivity.SigmaMin(s, b, p);
        var meanAt08 = (At(0.5, 1) + At(0.1, 1)) / 2;
        var meanAt04 = (At(0.6, 51) + At(0.6, 2)) / 2;
        var global = GlobalCut.Find([CutScan.Build(m1), CutScan.Build(m2)], p);
        Assert.Equal(meanAt08 < meanAt04 ? 0.8 : 0.4, global.Cut);
        Assert.Equal(Math.Min(meanAt08, meanAt04), global.Value, 12);
    }
}
