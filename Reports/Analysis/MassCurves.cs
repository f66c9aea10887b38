using Studies.Trials.Results;

namespace Studies.Reports.Analysis;

/// <summary>A method's metric at one mass: spread over seeds, and the Bayes-optimal value where known (NaN otherwise).</summary>
public sealed record MassPoint(double Mass, bool Heldout, Summary Value, double Optimal);

public sealed record MassCurve(MethodGroup Method, string Metric, IReadOnlyList<MassPoint> Points);

public static class MassCurves
{
    /// <summary>Metric versus mass over the method's completed trials (test split, best epoch by default).</summary>
    public static MassCurve Build(MethodGroup method, string metric, SplitKind split = SplitKind.Test, EpochKind kind = EpochKind.Best)
    {
        var optimalName = MetricNames.Optimal(metric);
        // Keyed by mass and role: when data.holdout varies between trials, one mass can be trained
        // in some and held out in others, and the two must not be averaged together.
        var values = new SortedDictionary<(double Mass, bool Heldout), (List<double> Values, List<double> Optimal)>();
        foreach (var (_, result) in method.Completed)
        {
            foreach (var m in result.Masses)
            {
                if (m.Split != split || m.EpochKind != kind) continue;
                if (!values.TryGetValue((m.Mass, m.Heldout), out var slot)) values[(m.Mass, m.Heldout)] = slot = ([], []);
                slot.Values.Add(m.Metrics.GetValueOrDefault(metric, double.NaN));
                slot.Optimal.Add(m.Metrics.GetValueOrDefault(optimalName, double.NaN));
            }
        }
        return new MassCurve(method, metric, values
            .Select(kv => new MassPoint(kv.Key.Mass, kv.Key.Heldout, ReportMath.Summarise(kv.Value.Values), ReportMath.FiniteMean(kv.Value.Optimal)))
            .ToList());
    }
}
