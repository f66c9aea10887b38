namespace Studies.Trials.Metrics;

/// <summary>One point of a metric-vs-mass curve.</summary>
public readonly record struct MassValue(double Mass, double Value);

/// <summary>A held-out mass's metric against a baseline (interpolated or reference); Ratio = Value / Baseline.</summary>
public sealed record HeldoutRatio(double Mass, double Value, double Baseline, double Ratio);

/// <summary>The mean of the defined (non-NaN) ratios and how many there were; Mean is NaN when Count is 0.</summary>
public sealed record RatioSummary(double Mean, int Count);

/// <summary>
/// How well a method interpolates to held-out masses (methods.md section 6): each held-out mass's
/// metric relative to the linear interpolation between its neighbouring trained masses, or to a
/// reference value (a per-mass net, the Bayes-optimal value); means over held-out masses; and the
/// area ratio of two methods' metric-vs-mass curves.
/// </summary>
public static class Interpolation
{
    /// <summary>
    /// The piecewise-linear curve through <paramref name="points"/> at <paramref name="mass"/>:
    /// between the nearest point below and the nearest above (or the point itself); NaN when the
    /// mass is outside the curve's range, since extrapolation is no interpolation.
    /// </summary>
    public static double LinearAt(IReadOnlyList<MassValue> points, double mass)
    {
        var curve = Sorted(points, nameof(points));
        if (curve.Length == 0 || !(mass >= curve[0].Mass && mass <= curve[^1].Mass)) return double.NaN;
        var above = 0;
        while (curve[above].Mass < mass) above++;
        if (curve[above].Mass == mass) return curve[above].Value;
        var below = curve[above - 1];
        var upper = curve[above];
        return below.Value + (upper.Value - below.Value) * (mass - below.Mass) / (upper.Mass - below.Mass);
    }

    /// <summary>
    /// For each held-out mass (input order): its <paramref name="metric"/> over the linear
    /// interpolation of the same metric between the neighbouring trained masses. Baseline and ratio
    /// are NaN when the mass is not bracketed by trained masses or a needed value is missing or NaN.
    /// </summary>
    public static IReadOnlyList<HeldoutRatio> RatiosToInterpolation(IReadOnlyList<MassMetricValues> masses, string metric)
    {
        ArgumentNullException.ThrowIfNull(masses);
        ArgumentNullException.ThrowIfNull(metric);
        var trained = masses.Where(m => !m.Heldout).Select(m => new MassValue(m.Mass, ValueOf(m, metric))).ToArray();
        return masses.Where(m => m.Heldout)
            .Select(m => MakeRatio(m.Mass, ValueOf(m, metric), LinearAt(trained, m.Mass)))
            .ToArray();
    }

    /// <summary>
    /// For each held-out mass (input order): its <paramref name="metric"/> over the reference value
    /// of that mass; NaN where the reference has no entry for the mass.
    /// </summary>
    public static IReadOnlyList<HeldoutRatio> RatiosToReference(
        IReadOnlyList<MassMetricValues> masses, string metric, IReadOnlyDictionary<double, double> reference)
    {
        ArgumentNullException.ThrowIfNull(masses);
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(reference);
        return masses.Where(m => m.Heldout)
            .Select(m => MakeRatio(m.Mass, ValueOf(m, metric), reference.TryGetValue(m.Mass, out var r) ? r : double.NaN))
            .ToArray();
    }

    /// <summary>
    /// The mean ratio over held-out masses where it is defined: masses outside the trained range
    /// (NaN) are skipped rather than poisoning the mean, and <see cref="RatioSummary.Count"/> says how
    /// many took part.
    /// </summary>
    public static RatioSummary Mean(IEnumerable<HeldoutRatio> ratios)
    {
        ArgumentNullException.ThrowIfNull(ratios);
        var sum = 0.0;
        var count = 0;
        foreach (var r in ratios)
        {
            if (double.IsNaN(r.Ratio)) continue;
            sum += r.Ratio;
            count++;
        }
        return new RatioSummary(count > 0 ? sum / count : double.NaN, count);
    }

    /// <summary>
    /// Area under curve <paramref name="method"/> over area under <paramref name="baseline"/>, both
    /// by the trapezoid rule over the masses both curves cover (a curve is linearly interpolated at
    /// the ends of that range when it has no point there). NaN when the common range is empty or a
    /// single mass.
    /// </summary>
    public static double AreaRatio(IReadOnlyList<MassValue> method, IReadOnlyList<MassValue> baseline)
    {
        var a = Sorted(method, nameof(method));
        var b = Sorted(baseline, nameof(baseline));
        if (a.Length < 2 || b.Length < 2) return double.NaN;
        var lo = Math.Max(a[0].Mass, b[0].Mass);
        var hi = Math.Min(a[^1].Mass, b[^1].Mass);
        if (!(hi > lo)) return double.NaN;
        return Area(a, lo, hi) / Area(b, lo, hi);
    }

    /// <summary>Trapezoid area of the piecewise-linear curve restricted to [lo, hi] (inside its range).</summary>
    private static double Area(MassValue[] curve, double lo, double hi)
    {
        var area = 0.0;
        for (var i = 1; i < curve.Length; i++)
        {
            var x0 = Math.Max(curve[i - 1].Mass, lo);
            var x1 = Math.Min(curve[i].Mass, hi);
            if (!(x1 > x0)) continue;
            area += (x1 - x0) * (Segment(curve[i - 1], curve[i], x0) + Segment(curve[i - 1], curve[i], x1)) / 2;
        }
        return area;
    }

    private static double Segment(MassValue p, MassValue q, double x) =>
        x == p.Mass ? p.Value : x == q.Mass ? q.Value : p.Value + (q.Value - p.Value) * (x - p.Mass) / (q.Mass - p.Mass);

    private static HeldoutRatio MakeRatio(double mass, double value, double baseline) =>
        new(mass, value, baseline, value / baseline);

    private static double ValueOf(MassMetricValues m, string metric) =>
        m.Metrics.TryGetValue(metric, out var v) ? v : double.NaN;

    private static MassValue[] Sorted(IReadOnlyList<MassValue> points, string name)
    {
        ArgumentNullException.ThrowIfNull(points, name);
        var sorted = points.OrderBy(p => p.Mass).ToArray();
        for (var i = 0; i < sorted.Length; i++)
        {
            if (!double.IsFinite(sorted[i].Mass))
                throw new ArgumentException($"Interpolation: {name} has a mass {sorted[i].Mass}, not a finite number.", name);
            if (i > 0 && sorted[i].Mass == sorted[i - 1].Mass)
                throw new ArgumentException($"Interpolation: {name} has mass {sorted[i].Mass} twice.", name);
        }
        return sorted;
    }
}
