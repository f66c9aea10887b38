using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports.Analysis;

/// <summary>At one held-out mass: the metric over its interpolation between neighbouring trained masses, and over the optimum; spread over seeds.</summary>
public sealed record HeldoutRatio(double Mass, Summary ToInterpolation, Summary ToOptimum)
{
    /// <summary>The metric over that of a per-mass net trained at this mass (methods.md section 6b), when the study has one.</summary>
    public Summary ToPerMass { get; init; } = Summary.Empty;
}

/// <summary>One method's interpolation quality: ratios per held-out mass, their means over held-out masses, and its area ratio to the best method.</summary>
public sealed record InterpolationRow(MethodGroup Method, IReadOnlyList<HeldoutRatio> PerMass, double MeanToInterpolation, double MeanToOptimum, double AreaRatio)
{
    /// <summary>Mean over held-out masses of the ratio to a per-mass net trained there; NaN when the study has none.</summary>
    public double MeanToPerMass { get; init; } = double.NaN;
}

public sealed record InterpolationTable(string Metric, IReadOnlyList<double> HeldoutMasses, IReadOnlyList<InterpolationRow> Rows);

public static class Interpolation
{
    /// <summary>
    /// Ratios are formed per trial (each trial's held-out value over the interpolation of its own
    /// trained values, or over the optimum), then summarised over trials, so seed noise common to
    /// neighbouring masses cancels. Ratio (b) of the methods reference, against a per-mass net
    /// trained at the held-out mass, is formed wherever the study holds one: a completed trial with
    /// <c>model.kind</c> <c>per-mass</c> for which that mass is trained (e.g. with a <c>data.holdout</c>
    /// axis); the reference of the same seed when there is one, else the mean over its seeds.
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

        var references = new Dictionary<StudyRecord, PerMassReferences>();
        PerMassReferences ReferencesOf(StudyRecord study) =>
            references.TryGetValue(study, out var r) ? r : references[study] = new PerMassReferences(methods.Where(g => g.Study == study), metric);
        var rows = new List<InterpolationRow>();
        foreach (var g in methods)
        {
            var toInterpolation = heldoutMasses.ToDictionary(m => m, _ => new List<double>());
            var toOptimum = heldoutMasses.ToDictionary(m => m, _ => new List<double>());
            var toPerMass = heldoutMasses.ToDictionary(m => m, _ => new List<double>());
            foreach (var (trial, result) in g.Completed)
            {
                var test = result.Masses.Where(m => m.Split == SplitKind.Test && m.EpochKind == EpochKind.Best).ToList();
                var trained = test.Where(m => !m.Heldout).Select(m => (m.Mass, m.Metrics.GetValueOrDefault(metric, double.NaN))).ToList();
                foreach (var m in test.Where(m => m.Heldout))
                {
                    var value = m.Metrics.GetValueOrDefault(metric, double.NaN);
                    toInterpolation[m.Mass].Add(ReportMath.Ratio(value, ReportMath.InterpolateBetweenNeighbours(trained, m.Mass)));
                    toOptimum[m.Mass].Add(ReportMath.Ratio(value, m.Metrics.GetValueOrDefault(optimalName, double.NaN)));
                    toPerMass[m.Mass].Add(ReportMath.Ratio(value, ReferencesOf(g.Study).At(trial, m.Mass)));
                }
            }
            var perMass = heldoutMasses
                .Select(m => new HeldoutRatio(m, ReportMath.Summarise(toInterpolation[m]), ReportMath.Summarise(toOptimum[m])) { ToPerMass = ReportMath.Summarise(toPerMass[m]) })
                .ToList();
            rows.Add(new InterpolationRow(g, perMass,
                ReportMath.FiniteMean(perMass.Select(p => p.ToInterpolation.Mean)),
                ReportMath.FiniteMean(perMass.Select(p => p.ToOptimum.Mean)),
                areaRatios.GetValueOrDefault(g.Label, double.NaN))
            { MeanToPerMass = ReportMath.FiniteMean(perMass.Select(p => p.ToPerMass.Mean)) });
        }
        return new InterpolationTable(metric, heldoutMasses, rows);
    }

    public const string PerMassKind = "per-mass";

    /// <summary>
    /// The metric of a per-mass net trained at <paramref name="mass"/> in the same study (test split,
    /// best epoch): of the same seed when there is one, else the mean over seeds; NaN when none.
    /// </summary>
    public static double PerMassReference(IReadOnlyList<MethodGroup> methods, StudyRecord study, TrialRecord trial, double mass, string metric) =>
        new PerMassReferences(methods.Where(g => g.Study == study), metric).At(trial, mass);

    /// <summary>
    /// The per-mass nets' values of one study indexed by mass once: looking them up per held-out
    /// point by scanning every trial made the 1,000-trial report benchmark spend 70 s here.
    /// </summary>
    private sealed class PerMassReferences
    {
        private readonly List<(double Mass, List<(string? Seed, double Value)> Values)> _byMass = [];

        public PerMassReferences(IEnumerable<MethodGroup> methods, string metric)
        {
            foreach (var g in methods)
            foreach (var (other, result) in g.Completed)
            {
                if (other.Axes.GetValueOrDefault("model.kind") != PerMassKind) continue;
                var seed = other.Axes.GetValueOrDefault("seed");
                // One value per mass and trial: the first trained test/best entry, as before.
                var seen = new List<double>();
                foreach (var m in result.Masses)
                {
                    if (m.Heldout || m.Split != SplitKind.Test || m.EpochKind != EpochKind.Best || seen.Any(x => Studies.Trials.Data.MassGrid.Same(x, m.Mass))) continue;
                    seen.Add(m.Mass);
                    Slot(m.Mass, create: true)!.Add((seed, m.Metrics.GetValueOrDefault(metric, double.NaN)));
                }
            }
        }

        private List<(string? Seed, double Value)>? Slot(double mass, bool create)
        {
            foreach (var (m, values) in _byMass)
                if (Studies.Trials.Data.MassGrid.Same(m, mass)) return values;
            if (!create) return null;
            var slot = new List<(string?, double)>();
            _byMass.Add((mass, slot));
            return slot;
        }

        public double At(TrialRecord trial, double mass)
        {
            var values = Slot(mass, create: false);
            if (values is null) return double.NaN;
            var seed = trial.Axes.GetValueOrDefault("seed");
            var sameSeed = values.Where(v => seed is not null && v.Seed == seed && double.IsFinite(v.Value)).Select(v => v.Value).ToList();
            return sameSeed.Count > 0 ? sameSeed.Average() : ReportMath.FiniteMean(values.Select(v => v.Value));
        }
    }
}
