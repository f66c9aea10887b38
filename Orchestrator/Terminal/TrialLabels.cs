using System.Globalization;
using Studies.Reports.Analysis;
using Studies.Trials.Results;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Terminal;

/// <summary>How progress names a trial and sums up its result, as a physicist reads a study: by what is compared.</summary>
public static class TrialLabels
{
    public const string SeedAxis = "seed";

    /// <summary>
    /// The compared axes' values then the seed: "punzi, pnn, seed 2". Without compared axes, every axis value (the seed
    /// last). A trial without axes (a single-trial study) is "the trial".
    /// </summary>
    public static string Of(IReadOnlyList<string> compare, IReadOnlyDictionary<string, string> axes)
    {
        var parts = compare.Count > 0
            ? compare.Select(a => axes.GetValueOrDefault(a, "?")).ToList()
            : axes.Where(a => a.Key != SeedAxis).Select(a => a.Value).ToList();
        if (axes.TryGetValue(SeedAxis, out var seed) && !compare.Contains(SeedAxis)) parts.Add($"seed {seed}");
        return parts.Count == 0 ? "the trial" : string.Join(", ", parts);
    }

    /// <summary>The headline averaged over trained and over held-out masses (test split, best epoch, as the report ranks); NaN where none.</summary>
    public static (double Trained, double Heldout) Headline(TrialResult result, string headline) =>
        (ReportMath.MassAverage(result, headline, heldout: false), ReportMath.MassAverage(result, headline, heldout: true));

    /// <summary>"sigma_min_best_cut 1.234 trained, 1.456 held-out" (either part left out when the trial has no such masses).</summary>
    public static string HeadlineText(string headline, double trained, double heldout)
    {
        var parts = new List<string>();
        if (double.IsFinite(trained)) parts.Add($"{Number(trained)} trained");
        if (double.IsFinite(heldout)) parts.Add($"{Number(heldout)} held-out");
        return parts.Count == 0 ? $"{headline}: no value" : $"{headline} {string.Join(", ", parts)}";
    }

    /// <summary>Whether <paramref name="candidate"/> beats <paramref name="incumbent"/> by the metric's direction (NaN never wins).</summary>
    public static bool Better(string metric, double candidate, double incumbent) => MetricDirection.IsBetter(metric, candidate, incumbent);

    public static string Number(double value) => value.ToString("G4", CultureInfo.InvariantCulture);

    /// <summary>hh:mm:ss, or d.hh:mm:ss beyond a day.</summary>
    public static string Clock(TimeSpan t) => t.TotalDays >= 1 ? t.ToString(@"d\.hh\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture);
}
