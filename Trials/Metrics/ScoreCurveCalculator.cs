using Studies.Trials.Results;

namespace Studies.Trials.Metrics;

/// <summary>The <see cref="ScoreCurves"/> of one mass sample: pure, from the same exact cut scan as the per-mass metrics.</summary>
public static class ScoreCurveCalculator
{
    /// <summary>Bins of the score histograms and of the significance scan: 40 keeps a mass's curves near 3 KB stored.</summary>
    public const int Bins = 40;

    /// <summary>The ROC's background efficiencies: six per decade from 1e-4 to 1 (25 points), where HEP working points lie.</summary>
    public static readonly IReadOnlyList<double> RocGrid = Enumerable.Range(0, 25).Select(k => k == 24 ? 1.0 : Math.Pow(10, -4 + k / 6.0)).ToArray();

    /// <param name="input">The mass's scored events; weights as the evaluator gives them (carrying the Punzi scale).</param>
    /// <param name="workingCut">The cut of sigma_min_best_cut (NaN: none).</param>
    /// <param name="zCut">The cut of z_best (NaN: none).</param>
    /// <param name="significance">The z_best settings: yield per efficiency, floors, and the weight scale divided out of the histograms.</param>
    public static ScoreCurves Compute(MassInput input, double workingCut, double zCut, SignificanceParameters significance)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(significance);
        var sample = input.Sample;
        var scan = CutScan.Build(sample);
        var both = scan.SignalTotal > 0 && scan.BackgroundTotal > 0;
        var edges = Edges(sample._score);

        var signal = new double[Bins];
        var background = new double[Bins];
        for (var i = 0; i < sample.Count; i++)
        {
            var bin = Bin(edges, sample._score[i]);
            if (sample._isSignal[i]) signal[bin] += sample._weight[i] / significance.WeightScale;
            else background[bin] += sample._weight[i] / significance.WeightScale;
        }

        var z = new double[Bins];
        for (var k = 0; k < Bins; k++)
        {
            var at = scan.IndexAt(edges[k]);
            var s = scan.SignalPassing[at];
            var b = scan.BackgroundPassing[at] / significance.WeightScale;
            // The qualification of Significance.Best, so that the curve's maximum is z_best's own choice on these edges.
            var qualifies = scan.SignalTotal > 0 && b > 0 && b >= significance.MinBackgroundYield
                && scan.BackgroundEventsPassing[at] >= significance.MinBackgroundEvents && s / scan.SignalTotal >= significance.MinSignalEfficiency;
            z[k] = qualifies ? Significance.SOverSqrtB(s / significance.WeightScale * significance.SignalYieldPerEfficiency, b) : double.NaN;
        }

        var (workingSignal, workingBackground) = double.IsNaN(workingCut) || !both
            ? (double.NaN, double.NaN)
            : (scan.SignalPassing[scan.IndexAt(workingCut)] / scan.SignalTotal, scan.BackgroundPassing[scan.IndexAt(workingCut)] / scan.BackgroundTotal);
        return new ScoreCurves
        {
            Mass = input.Mass,
            Heldout = input.Heldout,
            BackgroundEfficiency = RocGrid,
            SignalEfficiency = RocGrid.Select(x => both ? RankingMetrics.SignalEfficiencyAtBackgroundEfficiency(scan, x) : double.NaN).ToArray(),
            Edges = edges,
            SignalHistogram = signal,
            BackgroundHistogram = background,
            Significance = z,
            WorkingCut = workingCut,
            WorkingSignalEfficiency = workingSignal,
            WorkingBackgroundEfficiency = workingBackground,
            ZCut = zCut,
        };
    }

    /// <summary>[0, 1] for probabilities (every net and bdt here); the scores' own range otherwise.</summary>
    private static double[] Edges(double[] scores)
    {
        double lo = 0, hi = 1;
        if (scores.Length > 0 && (scores.Min() < 0 || scores.Max() > 1))
        {
            (lo, hi) = (scores.Min(), scores.Max());
            if (!(hi > lo)) hi = lo + 1;
        }
        var edges = new double[Bins + 1];
        for (var k = 0; k <= Bins; k++) edges[k] = k == Bins ? hi : lo + (hi - lo) * k / Bins;
        return edges;
    }

    /// <summary>The bin whose lower edge is the largest one &lt;= score: the same test (score &gt;= edge) as the cut scan's.</summary>
    private static int Bin(double[] edges, double score)
    {
        int lo = 0, hi = Bins - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) >> 1;
            if (edges[mid] <= score) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }
}
