namespace Studies.Orchestrator.Bench;

/// <summary>The summaries the benchmarks print: median and quantiles (numpy's default, linear interpolation).</summary>
internal static class BenchStatistics
{
    /// <summary>The median (the mean of the two middle values for an even count); NaN when there are none.</summary>
    public static double Median(IReadOnlyList<double> values) => Quantile(values, 0.5);

    /// <summary>The q-quantile (0 to 1) of the values, between neighbours linearly; NaN when there are none.</summary>
    public static double Quantile(IReadOnlyList<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        return sorted[low] + (position - low) * (sorted[Math.Min(low + 1, sorted.Length - 1)] - sorted[low]);
    }
}
