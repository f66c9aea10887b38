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
    public static IReadOnlyList<MassMetricValues> Compute(IReadOnlyList<MassInput> masses, MetricOptions? options = null)
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

        var result = new MassMetricValues[masses.Count];
        for (var i = 0; i < masses.Count; i++)
            result[i] = new MassMetricValues(masses[i].Mass, masses[i].Heldout, ForMass(scans[i], global.Cut, options));
        return result;
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
            [MetricNames.ZBest] = significance.SOverSqrtB.Value,
            [MetricNames.ZSPlusBBest] = significance.SOverSqrtSPlusB.Value,
            [MetricNames.ZAsimovBest] = significance.Asimov.Value,
            [MetricNames.SigEffAtBkg1Pct] = RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(scan, 0.01),
            [MetricNames.SigEffAtBkg10Pct] = RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(scan, 0.10),
        };
    }
}
