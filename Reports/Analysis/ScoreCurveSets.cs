using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports.Analysis;

/// <summary>
/// One method's score curves at one mass, averaged element by element over its completed trials that recorded them
/// (NaN entries left out): the ROC on its fixed background-efficiency grid, the score histograms and the significance
/// on their fixed bins, and the working point's efficiencies and cuts. Trials whose bins differ from the first one's
/// (scores outside [0, 1]) are left out of the histogram and significance means rather than mixed.
/// </summary>
/// <param name="WorkingPoints">Each trial's working point (background, signal efficiency): each lies on its own trial's ROC,
/// while their mean would not lie on the mean ROC (the seeds' cuts differ, and the ROC is curved).</param>
public sealed record MethodScoreCurves(MethodGroup Method, double Mass, bool Heldout, int Trials, ScoreCurves Mean,
    IReadOnlyList<(double Background, double Signal)> WorkingPoints);

/// <summary>Which completed trials recorded score curves, and their per-mass means per method.</summary>
public sealed record ScoreCurveSet(IReadOnlyList<MethodScoreCurves> Curves, int TrialsWithCurves, int CompletedTrials)
{
    public IReadOnlyList<double> Masses { get; } = Curves.Select(c => c.Mass).Distinct().Order().ToList();

    /// <summary>The completed trials without curves: recorded before score curves were kept.</summary>
    public int TrialsWithout => CompletedTrials - TrialsWithCurves;
}

public static class ScoreCurveSets
{
    public static ScoreCurveSet Build(IReadOnlyList<MethodGroup> methods)
    {
        ArgumentNullException.ThrowIfNull(methods);
        var list = new List<MethodScoreCurves>();
        int with = 0, completed = 0;
        foreach (var method in methods)
        {
            completed += method.Completed.Count;
            var recorded = method.Completed.Where(c => c.Result.Curves.Count > 0).ToList();
            with += recorded.Count;
            foreach (var perMass in recorded.SelectMany(c => c.Result.Curves).GroupBy(c => c.Mass).OrderBy(g => g.Key))
            {
                var all = perMass.ToList();
                list.Add(new MethodScoreCurves(method, perMass.Key, all[0].Heldout, all.Count, Mean(all),
                    all.Select(c => (c.WorkingBackgroundEfficiency, c.WorkingSignalEfficiency)).Where(p => double.IsFinite(p.Item1) && double.IsFinite(p.Item2)).ToList()));
            }
        }
        return new ScoreCurveSet(list, with, completed);
    }

    /// <summary>
    /// Up to <paramref name="count"/> masses to draw per-mass figures at: spread evenly over the trained masses and over the
    /// held-out ones (about half each when both exist), so the interpolation question is always in the picture.
    /// </summary>
    public static IReadOnlyList<double> FigureMasses(ScoreCurveSet set, int count)
    {
        var heldout = set.Masses.Where(m => set.Curves.Any(c => c.Mass == m && c.Heldout)).ToList();
        var trained = set.Masses.Except(heldout).ToList();
        var heldoutCount = heldout.Count == 0 ? 0 : Math.Min(heldout.Count, Math.Max(count / 2, count - trained.Count));
        return Spread(trained, count - heldoutCount).Concat(Spread(heldout, heldoutCount)).Order().ToList();
    }

    /// <summary>The masses at the centres of <paramref name="count"/> equal parts of the list: interior masses, where held-out ones sit between trained ones.</summary>
    private static IEnumerable<double> Spread(IReadOnlyList<double> masses, int count)
    {
        if (count <= 0 || masses.Count == 0) return [];
        if (masses.Count <= count) return masses;
        return Enumerable.Range(0, count).Select(i => masses[(int)((i + 0.5) * masses.Count / count)]).Distinct();
    }

    private static ScoreCurves Mean(IReadOnlyList<ScoreCurves> curves)
    {
        var first = curves[0];
        var sameBins = curves.Where(c => c.Edges.SequenceEqual(first.Edges)).ToList();
        var sameGrid = curves.Where(c => c.BackgroundEfficiency.SequenceEqual(first.BackgroundEfficiency)).ToList();
        return first with
        {
            SignalEfficiency = Elementwise(sameGrid, c => c.SignalEfficiency),
            SignalHistogram = Elementwise(sameBins, c => c.SignalHistogram),
            BackgroundHistogram = Elementwise(sameBins, c => c.BackgroundHistogram),
            Significance = Elementwise(sameBins, c => c.Significance),
            WorkingCut = MeanOf(curves.Select(c => c.WorkingCut)),
            WorkingSignalEfficiency = MeanOf(curves.Select(c => c.WorkingSignalEfficiency)),
            WorkingBackgroundEfficiency = MeanOf(curves.Select(c => c.WorkingBackgroundEfficiency)),
            ZCut = MeanOf(curves.Select(c => c.ZCut)),
        };
    }

    private static double[] Elementwise(IReadOnlyList<ScoreCurves> curves, Func<ScoreCurves, IReadOnlyList<double>> values)
    {
        var length = values(curves[0]).Count;
        return Enumerable.Range(0, length).Select(i => MeanOf(curves.Select(c => values(c) is { } v && i < v.Count ? v[i] : double.NaN))).ToArray();
    }

    /// <summary>The mean of the finite values; NaN when there are none (an infinite cut, "nothing passes", is left out).</summary>
    private static double MeanOf(IEnumerable<double> values)
    {
        double sum = 0;
        var n = 0;
        foreach (var v in values)
        {
            if (!double.IsFinite(v)) continue;
            sum += v;
            n++;
        }
        return n == 0 ? double.NaN : sum / n;
    }
}
