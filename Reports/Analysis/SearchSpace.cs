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
                // squeeze all but the largest decade into a corner. A decade is enough to tell
                // (a log-uniform lr on [1e-3, 3e-2] was drawn linear with the old two-decade rule).
                log = values.All(v => v > 0) && values.Max() / values.Min() >= 10;
            }
            axes.Add(new HyperparameterAxis(name, numeric, log,
                numeric ? labels.OrderBy(Parse).ToList() : labels.Order(NumbersInText.Comparer).ToList()));
        }
        return new SearchSpace(axes, points);
    }

    /// <summary>
    /// The best configurations of a search: completed trials by their score (held-out headline when
    /// anything is held out), best first.
    /// </summary>
    public static IReadOnlyList<SearchPoint> Best(SearchSpace space, string headline, int count) =>
        space.Points.Where(p => double.IsFinite(p.Score))
            .OrderBy(p => Studies.Trials.Training.MetricDirection.HigherIsBetter(headline) ? -p.Score : p.Score)
            .Take(count).ToList();

    public static double Parse(string label) =>
        double.TryParse(label, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
}

/// <summary>
/// Orders labels with numbers inside by those numbers ("[16, 8]" before "[128]", "w8" before
/// "w16"), text elsewhere by ordinal comparison: hidden widths sorted as text put 128 before 16.
/// </summary>
public sealed class NumbersInText : IComparer<string>
{
    public static readonly NumbersInText Comparer = new();

    public int Compare(string? x, string? y)
    {
        if (x is null || y is null) return string.CompareOrdinal(x, y);
        int i = 0, j = 0;
        while (i < x.Length && j < y.Length)
        {
            if (char.IsAsciiDigit(x[i]) && char.IsAsciiDigit(y[j]))
            {
                var si = i; while (i < x.Length && (char.IsAsciiDigit(x[i]) || x[i] == '.')) i++;
                var sj = j; while (j < y.Length && (char.IsAsciiDigit(y[j]) || y[j] == '.')) j++;
                var c = SearchSpaces.Parse(x[si..i]).CompareTo(SearchSpaces.Parse(y[sj..j]));
                if (c != 0) return c;
            }
            else
            {
                if (x[i] != y[j]) return x[i].CompareTo(y[j]);
                i++;
                j++;
            }
        }
        return (x.Length - i).CompareTo(y.Length - j);
    }
}
