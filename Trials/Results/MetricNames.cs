namespace Studies.Trials.Results;

/// <summary>
/// Stable snake_case metric identifiers shared by storage, exports and reports. The Bayes-optimal
/// value of a metric, where the data set has one, is the same name with <see cref="OptimalSuffix"/>.
/// </summary>
public static class MetricNames
{
    public const string RocAuc = "roc_auc";
    public const string PrAuc = "pr_auc";
    public const string SigmaMinBestCut = "sigma_min_best_cut";
    public const string SigmaMinGlobalCut = "sigma_min_global_cut";
    public const string SigmaMinCut0p5 = "sigma_min_cut_0p5";
    public const string ZBest = "z_best";
    public const string ZSPlusBBest = "z_s_plus_b_best";
    public const string ZAsimovBest = "z_asimov_best";
    /// <summary>The best Asimov significance with a relative background uncertainty (evaluation.background_uncertainty; Cowan et al.).</summary>
    public const string ZAsimovSigmaBBest = "z_asimov_sigma_b_best";
    public const string SigEffAtBkg1Pct = "sig_eff_at_bkg_1pct";
    public const string SigEffAtBkg10Pct = "sig_eff_at_bkg_10pct";
    public const string BestCut = "best_cut";
    public const string GlobalCut = "global_cut";
    /// <summary>The cut of <see cref="ZBest"/>.</summary>
    public const string ZCut = "z_cut";

    /// <summary>
    /// The same metric at the cut that is best on the split it is reported on: for the test split a
    /// value tuned on the data it is reported on (the headline names use the validation-chosen cut).
    /// </summary>
    public const string SigmaMinBestCutOracle = "sigma_min_best_cut_oracle";
    public const string SigmaMinGlobalCutOracle = "sigma_min_global_cut_oracle";
    public const string ZBestOracle = "z_best_oracle";

    /// <summary>Per-epoch training-curve names.</summary>
    public const string Loss = "loss";
    public const string ValidationLoss = "val_loss";
    public const string LearningRate = "lr";

    public const string OptimalSuffix = "_optimal";

    public static string Optimal(string metric) => metric + OptimalSuffix;
}
