using Studies.Trials.Results;

namespace Studies.Trials.Metrics;

/// <summary>The scored sample of one mass hypothesis and whether that mass was held out of training.</summary>
public sealed record MassInput(double Mass, bool Heldout, MassSample Sample);

/// <summary>The metric dictionary of one mass hypothesis, keyed by <see cref="MetricNames"/>.</summary>
public sealed record MassMetricValues(double Mass, bool Heldout, IReadOnlyDictionary<string, double> Metrics);

/// <summary>Everything the per-mass metrics depend on besides the scores.</summary>
public sealed record MetricOptions
{
    public PunziParameters Punzi { get; init => field = value ?? throw new ArgumentNullException(nameof(Punzi)); } = PunziParameters.Default;
    public SignificanceParameters Significance { get; init => field = value ?? throw new ArgumentNullException(nameof(Significance)); } = SignificanceParameters.Default;

    /// <summary>The fixed cut of <see cref="MetricNames.SigmaMinCut0p5"/>.</summary>
    public double FixedCut { get; init => field = double.IsNaN(value) ? throw new ArgumentOutOfRangeException(nameof(FixedCut), "FixedCut is NaN.") : value; } = 0.5;

    public static readonly MetricOptions Default = new();
}

/// <summary>Cuts chosen on another split (validation), to be applied where the metrics are reported (test).</summary>
/// <param name="BestCut">Per mass, in input order: the cut of the best sigma_min (NaN: none chosen).</param>
/// <param name="ZCut">Per mass, in input order: the cut of the best s/sqrt(b) (NaN: none qualified).</param>
/// <param name="GlobalCut">The cut shared by all masses (NaN: none).</param>
public sealed record ChosenCuts(IReadOnlyList<double> BestCut, IReadOnlyList<double> ZCut, double GlobalCut);

/// <summary>The per-mass metrics of methods.md section 6 for a set of mass hypotheses.</summary>
public static class MassMetricsCalculator
{
    /// <summary>
    /// One dictionary per mass, in input order, with every key of the list below. NaN marks a
    /// metric that is undefined for that mass:
    /// <list type="bullet">
    /// <item>roc_auc, pr_auc, sig_eff_at_bkg_1pct, sig_eff_at_bkg_10pct: NaN when either class has no weight.</item>
    /// <item>sigma_min_best_cut, best_cut, sigma_min_cut_0p5, sigma_min_global_cut: NaN when the mass has no
    /// signal weight (sigma_min would only measure the eps floor). best_cut is +inf if "nothing passes" wins.</item>
    /// <item>z_best, z_s_plus_b_best, z_asimov_best: NaN when no cut meets the background-yield and
    /// signal-efficiency constraints of <see cref="SignificanceParameters"/>.</item>
    /// <item>global_cut (the same in every dictionary) and sigma_min_global_cut: NaN when no trained mass
    /// has signal weight; the cut is chosen over the trained masses with signal only, and every
    /// mass (trained or held out) is evaluated there.</item>
    /// </list>
    /// </summary>
    /// <remarks>
    /// Honest cuts: with <paramref name="chosen"/> (cuts fitted on the validation split), sigma_min_best_cut,
    /// z_best and sigma_min_global_cut are measured at those cuts, and best_cut, z_cut and global_cut are
    /// those cuts; the values at this sample's own optimum stay available as the <c>_oracle</c> metrics.
    /// Without it (the validation split itself) the chosen cut is the own optimum and both agree.
    /// </remarks>
    public static IReadOnlyList<MassMetricValues> Compute(IReadOnlyList<MassInput> masses, MetricOptions? options = null, ChosenCuts? chosen = null)
    {
        ArgumentNullException.ThrowIfNull(masses);
        options ??= MetricOptions.Default;
        var seen = new HashSet<double>();
        for (var i = 0; i < masses.Count; i++)
        {
            var input = masses[i] ?? throw new ArgumentException($"Metrics: mass entry {i} is null.", nameof(masses));
            if (!double.IsFinite(input.Mass))
                throw new ArgumentException($"Metrics: mass entry {i} has mass {input.Mass}, not a finite number.", nameof(masses));
            if (input.Sample is null)
                throw new ArgumentException($"Metrics: mass {input.Mass} has no sample.", nameof(masses));
            if (!seen.Add(input.Mass))
                throw new ArgumentException($"Metrics: mass {input.Mass} appears more than once.", nameof(masses));
        }

        var scans = masses.Select(m => CutScan.Build(m.Sample)).ToArray();
        var trainedWithSignal = scans.Where((scan, i) => !masses[i].Heldout && scan.SignalTotal > 0).ToArray();
        var global = trainedWithSignal.Length > 0 ? GlobalCut.Find(trainedWithSignal, options.Punzi) : ScanOptimum.None;

        if (chosen is not null && (chosen.BestCut.Count != masses.Count || chosen.ZCut.Count != masses.Count))
            throw new ArgumentException($"Metrics: {chosen.BestCut.Count} chosen cuts for {masses.Count} masses.", nameof(chosen));
        var result = new MassMetricValues[masses.Count];
        for (var i = 0; i < masses.Count; i++)
        {
            var metrics = ForMass(scans[i], global.Cut, options);
            result[i] = new MassMetricValues(masses[i].Mass, masses[i].Heldout,
                chosen is null ? metrics : AtChosenCuts(scans[i], metrics, chosen.BestCut[i], chosen.ZCut[i], chosen.GlobalCut, options));
        }
        return result;
    }

    /// <summary>The headline cut metrics re-measured at cuts chosen elsewhere; the own optima become the _oracle metrics.</summary>
    private static IReadOnlyDictionary<string, double> AtChosenCuts(CutScan scan, IReadOnlyDictionary<string, double> own,
        double bestCut, double zCut, double globalCut, MetricOptions options)
    {
        var hasSignal = scan.SignalTotal > 0;
        return new Dictionary<string, double>(own)
        {
            [MetricNames.SigmaMinBestCut] = hasSignal && !double.IsNaN(bestCut) ? PunziSensitivity.AtCut(scan, bestCut, options.Punzi) : double.NaN,
            [MetricNames.BestCut] = bestCut,
            [MetricNames.ZBest] = hasSignal && !double.IsNaN(zCut) ? Significance.AtCut(scan, zCut, options.Significance) : double.NaN,
            [MetricNames.ZCut] = zCut,
            [MetricNames.GlobalCut] = globalCut,
            [MetricNames.SigmaMinGlobalCut] = hasSignal && !double.IsNaN(globalCut) ? PunziSensitivity.AtCut(scan, globalCut, options.Punzi) : double.NaN,
        };
    }

    /// <summary>The metrics of one mass, given the global cut chosen over the trained masses (NaN: none).</summary>
    public static IReadOnlyDictionary<string, double> ForMass(CutScan scan, double globalCut, MetricOptions options)
    {
        ArgumentNullException.ThrowIfNull(scan);
        ArgumentNullException.ThrowIfNull(options);
        var hasSignal = scan.SignalTotal > 0;
        var best = hasSignal ? PunziSensitivity.Best(scan, options.Punzi) : ScanOptimum.None;
        var significance = Significance.Best(scan, options.Significance);
        return new Dictionary<string, double>
        {
            [MetricNames.RocAuc] = RankingMetrics.RocAuc(scan),
            [MetricNames.PrAuc] = RankingMetrics.AveragePrecision(scan),
            [MetricNames.SigmaMinBestCut] = best.Value,
            [MetricNames.BestCut] = best.Cut,
            [MetricNames.SigmaMinCut0p5] = hasSignal ? PunziSensitivity.AtCut(scan, options.FixedCut, options.Punzi) : double.NaN,
            [MetricNames.GlobalCut] = globalCut,
            [MetricNames.SigmaMinGlobalCut] = hasSignal && !double.IsNaN(globalCut)
                ? PunziSensitivity.AtCut(scan, globalCut, options.Punzi)
                : double.NaN,
            [MetricNames.SigmaMinGlobalCutOracle] = hasSignal && !double.IsNaN(globalCut)
                ? PunziSensitivity.AtCut(scan, globalCut, options.Punzi)
                : double.NaN,
            [MetricNames.ZBest] = significance.SOverSqrtB.Value,
            [MetricNames.ZCut] = significance.SOverSqrtB.Cut,
            [MetricNames.SigmaMinBestCutOracle] = best.Value,
            [MetricNames.ZBestOracle] = significance.SOverSqrtB.Value,
            [MetricNames.ZSPlusBBest] = significance.SOverSqrtSPlusB.Value,
            [MetricNames.ZAsimovBest] = significance.Asimov.Value,
            [MetricNames.ZAsimovSigmaBBest] = significance.AsimovWithUncertainty.Value,
            [MetricNames.SigEffAtBkg1Pct] = RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(scan, 0.01),
            [MetricNames.SigEffAtBkg10Pct] = RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(scan, 0.10),
        };
    }
}
