namespace Studies.Trials.Tests.Data;

/// <summary>Small numerical helpers for the data tests.</summary>
internal static class DataTestKit
{
    /// <summary>Weighted ROC-AUC with ties counted one half, by sorting (O(n log n)).</summary>
    public static double Auc(IReadOnlyList<double> signal, IReadOnlyList<double> background, IReadOnlyList<double>? backgroundWeight = null)
    {
        var b = background.Select((s, k) => (Score: s, Weight: backgroundWeight?[k] ?? 1.0)).OrderBy(t => t.Score).ToArray();
        var cumulative = new double[b.Length + 1];
        for (int k = 0; k < b.Length; k++) cumulative[k + 1] = cumulative[k] + b[k].Weight;
        var scores = b.Select(t => t.Score).ToArray();
        double sum = 0;
        foreach (var s in signal)
        {
            int below = LowerBound(scores, s), notAbove = UpperBound(scores, s);
            sum += cumulative[below] + 0.5 * (cumulative[notAbove] - cumulative[below]);
        }
        return sum / (signal.Count * cumulative[^1]);
    }

    private static int LowerBound(double[] a, double x)
    {
        int lo = 0, hi = a.Length;
        while (lo < hi) { int mid = (lo + hi) / 2; if (a[mid] < x) lo = mid + 1; else hi = mid; }
        return lo;
    }

    private static int UpperBound(double[] a, double x)
    {
        int lo = 0, hi = a.Length;
        while (lo < hi) { int mid = (lo + hi) / 2; if (a[mid] <= x) lo = mid + 1; else hi = mid; }
        return lo;
    }

    /// <summary>Composite Simpson rule of f on [a, b] with an even number of intervals n.</summary>
    public static double Simpson(Func<double, double> f, double a, double b, int n)
    {
        double h = (b - a) / n, sum = f(a) + f(b);
        for (int k = 1; k < n; k++) sum += (k % 2 == 1 ? 4 : 2) * f(a + k * h);
        return sum * h / 3;
    }

    public static string TempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "studies-data-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }
}
