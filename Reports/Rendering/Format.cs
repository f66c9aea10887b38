using System.Globalization;
using Studies.Reports.Analysis;

namespace Studies.Reports.Rendering;

/// <summary>How numbers appear in report tables: four significant digits, invariant culture.</summary>
public static class Format
{
    public const string Missing = "–";

    public static string Value(double v) =>
        double.IsFinite(v) ? v.ToString("G4", CultureInfo.InvariantCulture) : Missing;

    /// <summary>"mean ± std" over seeds; the mean alone for a single seed.</summary>
    public static string MeanStd(Summary s) =>
        !s.HasValue ? Missing : double.IsFinite(s.Std) ? $"{Value(s.Mean)} ± {Value(s.Std)}" : Value(s.Mean);

    public static string Seconds(double seconds) =>
        seconds >= 3600 ? string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600:0.0} h")
        : seconds >= 60 ? string.Create(CultureInfo.InvariantCulture, $"{seconds / 60:0.0} min")
        : seconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
