using Studies.Trials.Results;

namespace Studies.Reports.Analysis;

/// <summary>At one held-out mass: the metric over its interpolation between neighbouring trained masses, and over the optimum; spread over seeds.</summary>
public sealed record HeldoutRatio(double Mass, Summary ToInterpolation, Summary ToOptimum);

/// <summary>One method's interpolation quality: ratios per held-out mass, their means over held-out masses, and its area ratio to the best method.</summary>
public sealed record InterpolationRow(MethodGroup Method, IReadOnlyList<HeldoutRatio> PerMass, double MeanToInterpolation, double MeanToOptimum, double AreaRatio);

public sealed record InterpolationTable(string Metric, IReadOnlyList<double> HeldoutMasses, IReadOnlyList<InterpolationRow> Rows);

public static class Interpolation
{
    /// <summary>
    /// Ratios are formed per trial (each trial's held-out value over the interpolation of its own
    /// trained values, or over the optimum), then summarised over trials, so seed noise common to
    /// neighbouring masses cancels. Ratio (b) of the methods reference, against a per-mass net
    /// trained at the held-out mass, is not computed: a study's trials share one held-out set, so
    /// no per-mass net in the same study was trained there.
    /// </summary>
    public static InterpolationTable Build(IReadOnlyList<MethodGroup> methods, IReadOnlyList<MassCurve> curves, string metric)
    {
        var optimalName = MetricNames.Optimal(metric);
        var heldoutMasses = methods
            .SelectMany(g => g.Completed.SelectMany(c => c.Result.Masses.Where(m => m.Heldout).Select(m => m.Mass)))
            .Distinct().Order().ToList();
        var areaRatios = ReportMath.AreaRatios(
            curves.Where(c => c.Metric == metric).ToDictionary(c => c.Method.Label,
                c => (IReadOnlyList<(double, double)>)c.Points.Select(p => (p.Mass, p.Value.Mean)).ToList(), StringComparer.Ordinal),
            metric);

        var rows = new List<InterpolationRow>();
        foreach (var g in methods)
        {
            var toInterpolation = heldoutMasses.ToDictionary(m => m, _ => new List<double>());
            var toOptimum = heldoutMasses.ToDictionary(m => m, _ => new List<double>());
            foreach (var (_, result) in g.Completed)
            {
                var test = result.Masses.Where(m => m.Split == SplitKind.Test && m.EpochKind == EpochKind.Best).ToList();
                var trained = test.Where(m => !m.Heldout).Select(m => (m.Mass, m.Metrics.GetValueOrDefault(metric, double.NaN))).ToList();
                foreach (var m in test.Where(m => m.Heldout))
                {
                    var value = m.Metrics.GetValueOrDefault(metric, double.NaN);
                    toInterpolation[m.Mass].Add(ReportMath.Ratio(value, ReportMath.InterpolateBetweenNeighbours(trained, m.Mass)));
                    toOptimum[m.Mass].Add(ReportMath.Ratio(value, m.Metrics.GetValueOrDefault(optimalName, double.NaN)));
                }
            }
            var perMass = heldoutMasses
                .Select(m => new HeldoutRatio(m, ReportMath.Summarise(toInterpolation[m]), ReportMath.Summarise(toOptimum[m])))
                .ToList();
            rows.Add(new InterpolationRow(g, perMass,
                ReportMath.FiniteMean(perMass.Select(p => p.ToInterpolation.Mean)),
                ReportMath.FiniteMean(perMass.Select(p => p.ToOptimum.Mean)),
                areaRatios.GetValueOrDefault(g.Label, double.NaN)));
        }
        return new InterpolationTable(metric, heldoutMasses, rows);
    }
}
