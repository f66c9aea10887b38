using Studies.Trials.Results;

namespace Studies.Reports.Input;

/// <summary>
/// The units a study's numbers are in, as its data source declares them: the mass hypothesis
/// (GeV for the physics toys and HEPMASS, none for the Gaussian toy's theta), cross-sections
/// (sigma_min, fb when luminosities are in fb^-1) and the integrated luminosity the significances
/// are quoted at. Empty strings mean dimensionless.
/// </summary>
public sealed record StudyUnits
{
    public static readonly StudyUnits Default = new();

    public string Mass { get; init; } = "GeV";
    public string CrossSection { get; init; } = "fb";
    /// <summary>Integrated luminosity in inverse <see cref="CrossSection"/>, when the source declares one.</summary>
    public double? Luminosity { get; init; }

    /// <summary>The unit of a metric: cross-sections for sigma_min, none for AUC, significances, efficiencies and cuts.</summary>
    public string Of(string metric) =>
        metric.StartsWith("sigma_min", StringComparison.Ordinal) ? CrossSection : "";

    /// <summary>"m (GeV)" style axis/column label for the mass.</summary>
    public string MassLabel => Mass.Length == 0 ? "mass" : $"mass ({Mass})";

    /// <summary>"sigma_min_best_cut (fb)" style label for a metric.</summary>
    public string Label(string metric) => Of(metric) is { Length: > 0 } u ? $"{metric} ({u})" : metric;
}
