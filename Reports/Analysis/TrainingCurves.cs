using Studies.Reports.Input;
using Studies.Trials.Results;
using Studies.Trials.Training;

namespace Studies.Reports.Analysis;

public readonly record struct CurvePoint(int Epoch, double Value);

/// <summary>One trial's per-epoch values of one metric; the method's representative trial is drawn fully, others faintly.</summary>
public sealed record TrainingCurve(MethodGroup Method, string TrialId, bool Representative, string Metric, IReadOnlyList<CurvePoint> Points);

/// <summary>The global epoch where a phase begins (after the first), to draw as a rule.</summary>
public sealed record PhaseBoundary(MethodGroup Method, int Phase, double Epoch);

public static class TrainingCurves
{
    public const int MaxPointsPerCurve = 200;
    /// <summary>More faint curves than this per method only add ink: the spread is already visible.</summary>
    public const int MaxFaintCurvesPerMethod = 20;

    /// <summary>The method's representative trial: the best by <see cref="Ranking.TrialScore"/>; null when none completed.</summary>
    public static (TrialRecord Trial, TrialResult Result)? Representative(MethodGroup method)
    {
        (TrialRecord, TrialResult)? best = null;
        var bestScore = double.NaN;
        foreach (var (trial, result) in method.Completed)
        {
            var score = Ranking.TrialScore(result, method.Study.Headline);
            if (best is null || MetricDirection.IsBetter(method.Study.Headline, score, bestScore))
            {
                best = (trial, result);
                bestScore = score;
            }
        }
        return best;
    }

    /// <summary>Curves of one epoch metric: the representative trial per method and up to <see cref="MaxFaintCurvesPerMethod"/> others, each downsampled.</summary>
    public static IReadOnlyList<TrainingCurve> Build(IReadOnlyList<MethodGroup> methods, string metric)
    {
        var curves = new List<TrainingCurve>();
        foreach (var g in methods)
        {
            var rep = Representative(g);
            if (rep is null) continue;
            var repId = rep.Value.Trial.TrialId;
            var faint = 0;
            foreach (var (trial, result) in g.Completed)
            {
                var isRep = trial.TrialId == repId;
                if (!isRep && faint >= MaxFaintCurvesPerMethod) continue;
                var points = result.Epochs
                    .Where(e => e.Metrics.TryGetValue(metric, out var v) && double.IsFinite(v))
                    .Select(e => new CurvePoint(e.Epoch, e.Metrics[metric]))
                    .ToList();
                if (points.Count == 0) continue;
                if (!isRep) faint++;
                curves.Add(new TrainingCurve(g, trial.TrialId, isRep, metric, ReportMath.Downsample(points, MaxPointsPerCurve)));
            }
        }
        return curves;
    }

    /// <summary>Phase starts (after the first phase) of each method's representative trial, between the last epoch of one phase and the first of the next.</summary>
    public static IReadOnlyList<PhaseBoundary> Boundaries(IReadOnlyList<MethodGroup> methods)
    {
        var result = new List<PhaseBoundary>();
        foreach (var g in methods)
        {
            if (Representative(g) is not { } rep) continue;
            var epochs = rep.Result.Epochs;
            for (var i = 1; i < epochs.Count; i++)
                if (epochs[i].Phase != epochs[i - 1].Phase)
                    result.Add(new PhaseBoundary(g, epochs[i].Phase, epochs[i].Epoch - 0.5));
        }
        return result;
    }

    /// <summary>Per-epoch metric names recorded by some completed trial, training loss first.</summary>
    public static IReadOnlyList<string> RecordedMetrics(IReadOnlyList<MethodGroup> methods)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var g in methods)
            foreach (var (_, r) in g.Completed)
                foreach (var e in r.Epochs)
                    foreach (var k in e.Metrics.Keys) names.Add(k);
        var ordered = new List<string>();
        if (names.Remove(MetricNames.Loss)) ordered.Add(MetricNames.Loss);
        names.Remove(MetricNames.LearningRate);
        ordered.AddRange(names);
        return ordered;
    }
}
