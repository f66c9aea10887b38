namespace Studies.Trials.Data;

/// <summary>Matching masses against a grid of hypotheses.</summary>
public static class MassGrid
{
    /// <summary>
    /// Two masses are the same hypothesis when they differ by less than this fraction of the
    /// larger magnitude (or absolutely, below 1): far below any grid spacing in use, far above
    /// decimal round-off (0.1 + 0.2 * k).
    /// </summary>
    public const double Tolerance = 1e-6;

    public static bool Same(double a, double b) => Math.Abs(a - b) <= Tolerance * Math.Max(1.0, Math.Max(Math.Abs(a), Math.Abs(b)));

    /// <summary>Index of <paramref name="mass"/> in the ascending <paramref name="grid"/>, or -1.</summary>
    public static int IndexOf(IReadOnlyList<double> grid, double mass)
    {
        int nearest = Nearest(grid, mass);
        return nearest >= 0 && Same(grid[nearest], mass) ? nearest : -1;
    }

    /// <summary>Index of the grid value nearest to <paramref name="mass"/> (grid ascending), or -1 for an empty grid.</summary>
    public static int Nearest(IReadOnlyList<double> grid, double mass)
    {
        if (grid.Count == 0 || double.IsNaN(mass)) return -1;
        int lo = 0, hi = grid.Count - 1;
        while (hi - lo > 1)
        {
            int mid = (lo + hi) >>> 1;
            if (grid[mid] <= mass) lo = mid; else hi = mid;
        }
        return Math.Abs(grid[lo] - mass) <= Math.Abs(grid[hi] - mass) ? lo : hi;
    }

    /// <summary>Sorted copy, rejecting duplicates (within <see cref="Tolerance"/>) and non-finite values.</summary>
    public static double[] Sorted(IEnumerable<double> masses, string what)
    {
        var sorted = masses.ToArray();
        Array.Sort(sorted);
        if (sorted.Length == 0) throw new DataException($"{what}: the mass grid is empty");
        foreach (var m in sorted)
            if (!double.IsFinite(m)) throw new DataException($"{what}: mass {m} is not a finite number");
        for (int k = 1; k < sorted.Length; k++)
            if (Same(sorted[k], sorted[k - 1])) throw new DataException($"{what}: mass {sorted[k]} appears twice");
        return sorted;
    }

    /// <summary><c>from, from + step, ...</c> up to <paramref name="to"/> inclusive, rounded to 10 decimals so 0.1 + 0.2 k prints as written.</summary>
    public static double[] Range(double from, double to, double step)
    {
        int n = (int)Math.Floor((to - from) / step + 1e-9) + 1;
        return Enumerable.Range(0, n).Select(k => Math.Round(from + step * k, 10)).ToArray();
    }
}
