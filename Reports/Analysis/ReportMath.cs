using Studies.Trials.Results;
using Studies.Trials.Training;

namespace Studies.Reports.Analysis;

/// <summary>Mean, sample standard deviation and count of the finite values of a sample.</summary>
public readonly record struct Summary(double Mean, double Std, int Count)
{
    public static readonly Summary Empty = new(double.NaN, double.NaN, 0);
    public bool HasValue => Count > 0;
}

/// <summary>
/// The arithmetic behind the report tables and charts, as pure functions. Non-finite values (a
/// metric a trial could not compute) are left out rather than poisoning a mean.
/// </summary>
public static class ReportMath
{
    /// <summary>Mean and sample (n - 1) standard deviation over the finite values; the std is NaN for fewer than two values.</summary>
    public static Summary Summarise(IEnumerable<double> values)
    {
        // Welford's update: one pass, no catastrophic cancellation for metrics like AUC near 1.
        var n = 0;
        double mean = 0, m2 = 0;
        foreach (var v in values)
        {
            if (!double.IsFinite(v)) continue;
            n++;
            var delta = v - mean;
            mean += delta / n;
            m2 += delta * (v - mean);
        }
        if (n == 0) return Summary.Empty;
        return new Summary(mean, n > 1 ? Math.Sqrt(m2 / (n - 1)) : double.NaN, n);
    }

    /// <summary>Mean of the finite values; NaN when there are none.</summary>
    public static double FiniteMean(IEnumerable<double> values) => Summarise(values).Mean;

    /// <summary>
    /// A trial's metric averaged over its trained (or held-out) masses, on one split at one epoch
    /// kind; NaN when no such mass has a finite value.
    /// </summary>
    public static double MassAverage(TrialResult result, string metric, bool heldout, SplitKind split = SplitKind.Test, EpochKind kind = EpochKind.Best) =>
        FiniteMean(result.Masses
            .Where(m => m.Heldout == heldout && m.Split == split && m.EpochKind == kind)
            .Select(m => m.Metrics.GetValueOrDefault(metric, double.NaN)));

    /// <summary>A trial's metric averaged over the given masses, trained or held out alike; NaN when none has a finite value.</summary>
    public static double MassAverageAt(TrialResult result, string metric, IReadOnlyList<double> masses, SplitKind split = SplitKind.Test, EpochKind kind = EpochKind.Best) =>
        FiniteMean(result.Masses
            .Where(m => m.Split == split && m.EpochKind == kind && masses.Any(x => Studies.Trials.Data.MassGrid.Same(x, m.Mass)))
            .Select(m => m.Metrics.GetValueOrDefault(metric, double.NaN)));

    /// <summary>The straight line through (x0, y0) and (x1, y1), evaluated at x.</summary>
    public static double Linear(double x0, double y0, double x1, double y1, double x)
    {
        if (x1 == x0) throw new ArgumentException($"interpolation needs two distinct abscissae, got {x0} twice");
        return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
    }

    /// <summary>
    /// The linear interpolation at <paramref name="mass"/> between the nearest trained masses below
    /// and above it. NaN when the mass lies outside the trained range (that would be extrapolation,
    /// which the interpolation measure does not cover) or a neighbour has no finite value.
    /// </summary>
    public static double InterpolateBetweenNeighbours(IReadOnlyList<(double Mass, double Value)> trained, double mass) =>
        // One definition of "interpolation between neighbouring trained masses" (methods.md section 6) for trials and reports.
        Studies.Trials.Metrics.Interpolation.LinearAt(
            trained.Where(p => double.IsFinite(p.Value) && p.Mass != mass).Select(p => new Studies.Trials.Metrics.MassValue(p.Mass, p.Value)).ToList(), mass);

    /// <summary>a / b, NaN unless both are finite and b is non-zero.</summary>
    public static double Ratio(double numerator, double denominator) =>
        double.IsFinite(numerator) && double.IsFinite(denominator) && denominator != 0 ? numerator / denominator : double.NaN;

    /// <summary>Trapezoid-rule area under a curve given as points; sorted by x here, so callers need not.</summary>
    public static double TrapezoidArea(IEnumerable<(double X, double Y)> points)
    {
        var sorted = points.OrderBy(p => p.X).ToArray();
        var area = 0.0;
        for (var i = 1; i < sorted.Length; i++)
            area += 0.5 * (sorted[i].Y + sorted[i - 1].Y) * (sorted[i].X - sorted[i - 1].X);
        return area;
    }

    /// <summary>
    /// AffinePNN's interpolation measure: each method's trapezoid area under its metric-versus-mass
    /// curve divided by the area of the best method (largest for higher-is-better metrics, smallest
    /// for sigma_min). Areas are taken over the masses every curve has a finite value at, so no
    /// method gains area merely by covering a wider range.
    /// </summary>
    public static IReadOnlyDictionary<string, double> AreaRatios(IReadOnlyDictionary<string, IReadOnlyList<(double Mass, double Value)>> curves, string metric)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (curves.Count == 0) return result;
        HashSet<double>? common = null;
        foreach (var curve in curves.Values)
        {
            var masses = curve.Where(p => double.IsFinite(p.Value)).Select(p => p.Mass).ToHashSet();
            if (common is null) common = masses; else common.IntersectWith(masses);
        }
        if (common is null || common.Count < 2)
        {
            foreach (var key in curves.Keys) result[key] = double.NaN;
            return result;
        }
        var areas = curves.ToDictionary(kv => kv.Key,
            kv => TrapezoidArea(kv.Value.Where(p => common.Contains(p.Mass) && double.IsFinite(p.Value)).Select(p => (p.Mass, p.Value))),
            StringComparer.Ordinal);
        var higher = MetricDirection.HigherIsBetter(metric);
        var best = higher ? areas.Values.Max() : areas.Values.Min();
        foreach (var (key, area) in areas) result[key] = Ratio(area, best);
        return result;
    }

    /// <summary>
    /// At most <paramref name="maxPoints"/> points of a curve, evenly spaced by index, always keeping
    /// the first and the last so a downsampled curve spans the same epochs.
    /// </summary>
    public static IReadOnlyList<T> Downsample<T>(IReadOnlyList<T> points, int maxPoints)
    {
        if (maxPoints < 2) throw new ArgumentOutOfRangeException(nameof(maxPoints), maxPoints, "a curve needs at least two points");
        if (points.Count <= maxPoints) return points;
        var result = new T[maxPoints];
        for (var i = 0; i < maxPoints; i++)
            result[i] = points[(int)Math.Round((double)i * (points.Count - 1) / (maxPoints - 1))];
        return result;
    }

    /// <summary>Index of the best finite value by the metric's direction; -1 when none is finite.</summary>
    public static int BestIndex(IReadOnlyList<double> values, string metric)
    {
        var best = -1;
        for (var i = 0; i < values.Count; i++)
            if (MetricDirection.IsBetter(metric, values[i], best < 0 ? double.NaN : values[best]) && double.IsFinite(values[i]))
                best = i;
        return best;
    }
}
