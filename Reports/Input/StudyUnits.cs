using System.Text.Json.Nodes;
using Studies.Trials.Results;
using Studies.Trials.Specs;

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

    /// <summary>
    /// The units of a data source. The physics toys are generated in GeV and fb (the recoil toy at
    /// 50 fb^-1 and the Lovász toy at 3000 fb^-1 unless told otherwise); the Gaussian toy's theta
    /// and the unit-weight HEPMASS events have no physical scale ("a.u."); a csv/parquet/feather/npz
    /// file declares them with the <c>luminosity</c> and <c>mass_unit</c> options.
    /// </summary>
    public static StudyUnits FromData(DataSpec data)
    {
        ArgumentNullException.ThrowIfNull(data);
        // Through the JSON text: a JsonValue built from an int does not convert to double itself.
        double? Number(string key, double? fallback) => data.Options[key] is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number
            ? double.Parse(v.ToJsonString(), System.Globalization.CultureInfo.InvariantCulture) : fallback;
        string Text(string key, string fallback) => data.Options[key] is JsonValue v && v.TryGetValue<string>(out var t) ? t : fallback;
        return data.Source switch
        {
            "recoil-toy" => new StudyUnits { Luminosity = Number("luminosity", 50) },
            "lovasz-toy" => new StudyUnits { Luminosity = Number("luminosity", 3000) },
            "gaussian-toy" => new StudyUnits { Mass = "", CrossSection = ArbitraryUnits },
            "hepmass" or "hepmass-toy" => new StudyUnits { CrossSection = ArbitraryUnits },
            _ => Number("luminosity", null) is { } l
                ? new StudyUnits { Mass = Text("mass_unit", "GeV"), Luminosity = l }
                : new StudyUnits { Mass = Text("mass_unit", "GeV"), CrossSection = ArbitraryUnits },
        };
    }

    /// <summary>Weights not normalised to a declared luminosity: sigma_min has no physical unit.</summary>
    public const string ArbitraryUnits = "a.u.";

    /// <summary>The unit of a metric: cross-sections for sigma_min, none for AUC, significances, efficiencies and cuts.</summary>
    public string Of(string metric) =>
        metric.StartsWith("sigma_min", StringComparison.Ordinal) ? CrossSection : "";

    /// <summary>"m (GeV)" style axis/column label for the mass.</summary>
    public string MassLabel => Mass.Length == 0 ? "mass" : $"mass ({Mass})";

    /// <summary>"sigma_min_best_cut (fb)" style label for a metric.</summary>
    public string Label(string metric) => Of(metric) is { Length: > 0 } u ? $"{metric} ({u})" : metric;
}
