using MathNet.Numerics.Distributions;
using Studies.Reports.Input;
using Studies.Trials.Training;

namespace Studies.Reports.Analysis;

/// <summary>
/// Method A against method B on trials that share everything but the compared axes (same seed:
/// same split, same initialisation): the per-trial headline, averaged over the masses both trials
/// share in the role (trained or held-out), differenced pair by pair.
/// </summary>
/// <param name="Pairs">Number of seed pairs with a finite headline on both sides.</param>
/// <param name="MeanDifference">Mean of A - B over the pairs.</param>
/// <param name="Low">Lower end of the 95 % t interval of the mean difference (NaN below two pairs).</param>
/// <param name="High">Upper end of the interval.</param>
/// <param name="WinsA">Pairs in which A is strictly better by the metric's direction.</param>
public sealed record PairedRow(MethodGroup A, MethodGroup B, string Metric, bool Heldout, int Pairs, double MeanDifference, double Low, double High, int WinsA)
{
    /// <summary>The masses the pairs were averaged over (shared by both methods in the role).</summary>
    public IReadOnlyList<double> Masses { get; init; } = [];

    /// <summary>Whether the interval excludes 0, i.e. the difference is significant at 95 %.</summary>
    public bool Significant => double.IsFinite(Low) && (Low > 0 || High < 0);

    /// <summary>Whether A is the better method on average (by the metric's direction).</summary>
    public bool ABetter => MetricDirection.HigherIsBetter(Metric) ? MeanDifference > 0 : MeanDifference < 0;
}

public static class PairedComparison
{
    /// <summary>
    /// Every pair of methods of the same study, for the trained and (when there are any) the held-out
    /// masses. Trials are paired by the values of every axis that is not compared (the seed and any
    /// other repetition axis); a trial without a partner, or with a non-finite headline, is left out.
    /// </summary>
    public static IReadOnlyList<PairedRow> Build(IReadOnlyList<MethodGroup> methods, string metric)
    {
        var hasHeldout = methods.Any(g => g.Completed.Any(c => c.Result.Masses.Any(m => m.Heldout)));
        var rows = new List<PairedRow>();
        foreach (var study in methods.Select(g => g.Study).Distinct())
        {
            var inStudy = methods.Where(g => g.Study == study).ToList();
            for (var i = 0; i < inStudy.Count; i++)
            for (var j = i + 1; j < inStudy.Count; j++)
            foreach (var heldout in hasHeldout ? new[] { false, true } : [false])
                rows.Add(Compare(inStudy[i], inStudy[j], metric, heldout));
        }
        return rows;
    }

    /// <summary>
    /// A against B seed by seed, each side averaged over the masses BOTH trials of a pair have in the
    /// role (<see cref="SharedMasses"/>): never a method's own masses against different ones.
    /// </summary>
    public static PairedRow Compare(MethodGroup a, MethodGroup b, string metric, bool heldout)
    {
        var pairs = SharedMasses.Pairs(a, b, metric, heldout ? MassRole.Heldout : MassRole.Trained);
        var differences = pairs.Select(p => p.Difference).ToList();
        var higher = MetricDirection.HigherIsBetter(metric);
        var (mean, low, high) = MeanInterval(differences);
        return new PairedRow(a, b, metric, heldout, differences.Count, mean, low, high, differences.Count(d => higher ? d > 0 : d < 0))
        {
            Masses = pairs.SelectMany(p => p.Masses).Distinct().Order().ToList(),
        };
    }

    /// <summary>Mean and two-sided 95 % Student-t interval of the mean; the interval is NaN for fewer than two values.</summary>
    public static (double Mean, double Low, double High) MeanInterval(IReadOnlyList<double> values)
    {
        var summary = ReportMath.Summarise(values);
        if (summary.Count < 2) return (summary.Mean, double.NaN, double.NaN);
        var half = StudentT.InvCDF(0, 1, summary.Count - 1, 0.975) * summary.Std / Math.Sqrt(summary.Count);
        return (summary.Mean, summary.Mean - half, summary.Mean + half);
    }
}
