namespace Studies.Trials.Metrics;

/// <summary>
/// Threshold-free ranking metrics from the exact sorted-score curve (methods.md section 6). Signal
/// and background weights are normalised separately, so each class counts as a whole, whatever its
/// total weight. Each returns NaN when a class has no weight (the curve is undefined).
/// </summary>
public static class RankingMetrics
{
    /// <summary>
    /// Weighted ROC-AUC: the probability that a signal event outscores a background event, a tie
    /// counting one half. This is exactly the trapezoid area under the ROC curve whose points are
    /// the distinct thresholds (a tie group moves the curve diagonally).
    /// </summary>
    public static double RocAuc(CutScan scan)
    {
        if (!HasBothClasses(scan)) return double.NaN;
        var s = scan.SignalPassing;
        var b = scan.BackgroundPassing;
        var area = new CompensatedSum();
        for (var k = 1; k < scan.Count; k++)
            area.Add((b[k] - b[k - 1]) * (s[k] + s[k - 1]));
        return area.Value / (2 * scan.SignalTotal * scan.BackgroundTotal);
    }

    /// <summary>
    /// PR-AUC as average precision: sum over distinct thresholds of (recall gain) x (precision at
    /// that threshold), tied scores forming one threshold (the definition of scikit-learn's
    /// average_precision_score). Chosen over a trapezoid on the PR curve because precision does not
    /// vary linearly between two PR points (Davis and Goadrich 2006), so linear interpolation
    /// overstates the area; the step sum is the exact area under the achievable PR points.
    /// Precision is computed from the separately normalised classes, tpr / (tpr + fpr): the
    /// precision at equal class priors, which is what the background weight 1/K of methods.md aims
    /// at and keeps the number independent of the overall scale of either class.
    /// </summary>
    public static double AveragePrecision(CutScan scan)
    {
        if (!HasBothClasses(scan)) return double.NaN;
        var s = scan.SignalPassing;
        var b = scan.BackgroundPassing;
        double sTot = scan.SignalTotal, bTot = scan.BackgroundTotal;
        var sum = new CompensatedSum();
        for (var k = 1; k < scan.Count; k++)
        {
            var gain = s[k] - s[k - 1];
            if (gain <= 0) continue; // no recall gain: precision may even be 0/0 here, but it carries no area
            double tpr = s[k] / sTot, fpr = b[k] / bTot;
            if (!(tpr + fpr > 0)) continue; // negative weights can leave nothing net passing: no precision there
            sum.Add(gain / sTot * (tpr / (tpr + fpr)));
        }
        return sum.Value;
    }

    /// <summary>
    /// Signal efficiency (relative: passing over total signal weight) at background efficiency
    /// <paramref name="backgroundEfficiency"/>, linearly interpolated on the ROC curve. Where the curve
    /// is vertical at that background efficiency (signal-only tie groups), the highest signal
    /// efficiency is taken: the best selection whose background efficiency does not exceed the target.
    /// </summary>
    public static double SignalEfficiencyAtBackgroundEfficiency(CutScan scan, double backgroundEfficiency)
    {
        Check.Fraction(backgroundEfficiency, nameof(backgroundEfficiency));
        if (!HasBothClasses(scan)) return double.NaN;
        var s = scan.SignalPassing;
        var b = scan.BackgroundPassing;
        double sTot = scan.SignalTotal, bTot = scan.BackgroundTotal;
        // First point whose background efficiency exceeds the target; point 0 has fpr 0 <= target. A
        // linear walk, not a binary search: with negative weights (NLO) the curve need not rise.
        var lo = 1;
        while (lo < scan.Count && !(b[lo] / bTot > backgroundEfficiency)) lo++;
        if (lo == scan.Count) return 1.0; // target >= 1: everything passes
        double f0 = b[lo - 1] / bTot, f1 = b[lo] / bTot, t0 = s[lo - 1] / sTot, t1 = s[lo] / sTot;
        return t0 + (t1 - t0) * (backgroundEfficiency - f0) / (f1 - f0);
    }

    private static bool HasBothClasses(CutScan scan) => scan.SignalTotal > 0 && scan.BackgroundTotal > 0;
}
