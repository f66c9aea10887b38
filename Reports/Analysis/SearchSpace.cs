using System.Globalization;

namespace Studies.Reports.Analysis;

/// <summary>One searched hyperparameter: numeric values (on a log scale when they span two decades or more) or categories.</summary>
public sealed record HyperparameterAxis(string Name, bool Numeric, bool LogScale, IReadOnlyList<string> Categories);

/// <summary>One completed trial of a search: its method, hyperparameter labels and headline score.</summary>
public sealed record SearchPoint(MethodGroup Method, string TrialId, IReadOnlyDictionary<string, string> Values, double Score);

public sealed record SearchSpace(IReadOnlyList<HyperparameterAxis> Axes, IReadOnlyList<SearchPoint> Points)
{
    /// <summary>
    /// A value placed on [0, 1] for parallel coordinates: numeric axes linearly or by logarithm
    /// between their extremes, categories evenly in sorted order. A constant axis sits at 0.5.
    /// </summary>
    public double Normalise(HyperparameterAxis axis, string label)
    {
        if (!axis.Numeric)
        {
            var i = IndexOf(axis.Categories, label);
            return axis.Categories.Count < 2 ? 0.5 : (double)i / (axis.Categories.Count - 1);
        }
        var (lo, hi) = Range(axis);
        var v = Transform(axis, SearchSpaces.Parse(label));
        return hi > lo ? (v - lo) / (hi - lo) : 0.5;
    }

    /// <summary>The axis extremes in the transformed (log or linear) scale.</summary>
    public (double Lo, double Hi) Range(HyperparameterAxis axis)
    {
        var values = Points.Select(p => p.Values.GetValueOrDefault(axis.Name)).OfType<string>()
            .Select(l => Transform(axis, SearchSpaces.Parse(l))).Where(double.IsFinite).ToList();
        return values.Count == 0 ? (0, 0) : (values.Min(), values.Max());
    }

    public static double Transform(HyperparameterAxis axis, double v) => axis.LogScale ? Math.Log10(v) : v;

    private static int IndexOf(IReadOnlyList<string> list, string value)
    {
        for (var i = 0; i < list.Count; i++) if (list[i] == value) return i;
        return 0;
    }
}

public static class SearchSpaces
{
    public const string SeedAxis = "seed";

    /// <summary>Axes that vary within methods, other than the seed, with at least two values among completed trials.</summary>
    public static SearchSpace Build(IReadOnlyList<MethodGroup> methods)
    {
        var points = methods.SelectMany(g => g.Completed.Select(c =>
            new SearchPoint(g, c.Trial.TrialId, c.Trial.Axes, Ranking.TrialScore(c.Result, g.Study.Headline)))).ToList();
        var compare = methods.SelectMany(g => g.Study.CompareAxes).ToHashSet(StringComparer.Ordinal);
        var names = new List<string>();
        foreach (var p in points)
            foreach (var k in p.Values.Keys)
                if (k != SeedAxis && !compare.Contains(k) && !names.Contains(k)) names.Add(k);

        var axes = new List<HyperparameterAxis>();
        foreach (var name in names)
        {
            var labels = points.Select(p => p.Values.GetValueOrDefault(name)).OfType<string>().Distinct().ToList();
            if (labels.Count < 2) continue;
            var numeric = labels.All(l => double.IsFinite(Parse(l)));
            var log = false;
            if (numeric)
            {
                var values = labels.Select(Parse).ToList();
                // Learning rates and weight decays are searched log-uniformly: a linear axis would
                // squeeze all but the largest decade into a corner.
                log = values.All(v => v > 0) && values.Max() / values.Min() >= 100;
            }
            axes.Add(new HyperparameterAxis(name, numeric, log,
                numeric ? labels.OrderBy(Parse).ToList() : labels.Order(StringComparer.Ordinal).ToList()));
        }
        return new SearchSpace(axes, points);
    }

    public static double Parse(string label) =>
        double.TryParse(label, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
}
