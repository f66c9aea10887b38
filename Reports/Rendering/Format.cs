using System.Globalization;
using Studies.Reports.Analysis;

namespace Studies.Reports.Rendering;

/// <summary>How numbers appear in report tables: four significant digits, invariant culture.</summary>
public static class Format
{
    public const string Missing = "–";

    public static string Value(double v) =>
        double.IsFinite(v) ? v.ToString("G4", CultureInfo.InvariantCulture) : Missing;

    /// <summary>
    /// "mean ± std" over seeds as physicists quote a measurement: the std to two significant digits
    /// and the mean to the same decimal place (0.8815 ± 0.0013, 2.60 ± 0.07, 1234 ± 56); the mean
    /// alone for a single seed. A spread far below the mean's own precision keeps four digits of mean.
    /// </summary>
    public static string MeanStd(Summary s) =>
        !s.HasValue ? Missing : double.IsFinite(s.Std) ? MeanStd(s.Mean, s.Std) : Value(s.Mean);

    public static string MeanStd(double mean, double std)
    {
        if (!double.IsFinite(mean)) return Missing;
        if (!(std > 0)) return $"{Value(mean)} ± 0";
        var decimals = 1 - (int)Math.Floor(Math.Log10(std));
        if (decimals > 6 || (mean != 0 && std < Math.Abs(mean) * 1e-4))
            return $"{Value(mean)} ± {std.ToString("G2", CultureInfo.InvariantCulture)}";
        var places = Math.Max(0, decimals);
        var scale = Math.Pow(10, -decimals);
        // Above the units digit, round to tens/hundreds as the std's two digits ask.
        var m = decimals < 0 ? Math.Round(mean / scale) * scale : mean;
        var d = decimals < 0 ? Math.Round(std / scale) * scale : std;
        var format = "F" + places.ToString(CultureInfo.InvariantCulture);
        return $"{m.ToString(format, CultureInfo.InvariantCulture)} ± {d.ToString(format, CultureInfo.InvariantCulture)}";
    }

    public static string Seconds(double seconds) =>
        seconds >= 3600 ? string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600:0.0} h")
        : seconds >= 60 ? string.Create(CultureInfo.InvariantCulture, $"{seconds / 60:0.0} min")
        : seconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
