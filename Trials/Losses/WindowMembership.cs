using Studies.Trials.Data;

namespace Studies.Trials.Losses;

/// <summary>
/// Which events lie in which per-mass signal window, stored sparsely as (event, window) pairs.
/// Window i is <c>|v - centre(m_i)| &lt; nSigma * width(m_i)</c> (<see cref="MassWindows"/>; methods section 3); one event may lie in
/// several windows or in none.
/// </summary>
/// <remarks>
/// Built in O(n log n + pairs): the window variable is sorted once and each window's range is found
/// by two binary searches, instead of testing every event against every window (O(n K)). The test
/// is evaluated exactly as written above, in double precision, as <c>v - centre</c> compared with
/// <c>±nSigma * width(m)</c>, so the sparse result equals the direct element-wise check bit for bit
/// (subtraction is monotone in v, so the binary searches are exact).
/// Pairs are ordered by window, then by increasing v.
/// </remarks>
public sealed class WindowMembership
{
    private readonly long[] events;
    private readonly long[] windows;

    private WindowMembership(int eventCount, int windowCount, long[] events, long[] windows, bool hasWindowVariable)
    {
        EventCount = eventCount;
        WindowCount = windowCount;
        this.events = events;
        this.windows = windows;
        HasWindowVariable = hasWindowVariable;
    }

    public int EventCount { get; }
    public int WindowCount { get; }

    /// <summary>False for a data set without a window variable: every event is in every window.</summary>
    public bool HasWindowVariable { get; }

    /// <summary>Event index of each pair (Int64, ready to become an index tensor). Empty without a window variable.</summary>
    public ReadOnlySpan<long> Events => events;

    /// <summary>Window (trained-mass) index of each pair. Empty without a window variable.</summary>
    public ReadOnlySpan<long> Windows => windows;

    /// <summary>Number of (event, window) pairs; EventCount * WindowCount without a window variable.</summary>
    public long PairCount => HasWindowVariable ? events.LongLength : (long)EventCount * WindowCount;

    /// <summary>No window variable: every event counts in every window (methods section 3).</summary>
    public static WindowMembership Everywhere(int eventCount, int windowCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(eventCount);
        ArgumentOutOfRangeException.ThrowIfNegative(windowCount);
        return new WindowMembership(eventCount, windowCount, [], [], hasWindowVariable: false);
    }

    /// <summary>
    /// Every event in every window, listed pair by pair. For parametric nets without a window
    /// variable: each background event is scored once per trained mass, so each (event, mass) pair
    /// needs its own term rather than one shared background sum.
    /// </summary>
    public static WindowMembership EveryPair(int eventCount, int windowCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(eventCount);
        ArgumentOutOfRangeException.ThrowIfNegative(windowCount);
        var pairEvents = new long[(long)eventCount * windowCount];
        var pairWindows = new long[pairEvents.Length];
        for (long k = 0; k < pairEvents.Length; k++)
        {
            pairWindows[k] = k / eventCount;
            pairEvents[k] = k % eventCount;
        }
        return new WindowMembership(eventCount, windowCount, pairEvents, pairWindows, hasWindowVariable: true);
    }

    /// <summary>Windows centred on m² with resolution <paramref name="width"/> (the recoil toy's rule).</summary>
    public static WindowMembership Build(ReadOnlySpan<float> windowVariable, IReadOnlyList<double> masses, Func<double, double> width, double nSigma) =>
        Build(windowVariable, masses, MassWindows.OnMassSquared(width ?? throw new ArgumentNullException(nameof(width))), nSigma);

    public static WindowMembership Build(ReadOnlySpan<double> windowVariable, IReadOnlyList<double> masses, Func<double, double> width, double nSigma) =>
        BuildFrom(windowVariable.ToArray(), masses, MassWindows.OnMassSquared(width ?? throw new ArgumentNullException(nameof(width))), nSigma);

    /// <summary>The data set's windows (<see cref="MassWindows"/>: centre m or m², <c>nSigma</c> resolutions either side).</summary>
    public static WindowMembership Build(ReadOnlySpan<float> windowVariable, IReadOnlyList<double> masses, MassWindows windows, double nSigma)
    {
        var v = new double[windowVariable.Length];
        for (var j = 0; j < v.Length; j++) v[j] = windowVariable[j];
        return BuildFrom(v, masses, windows, nSigma);
    }

    /// <summary>Takes ownership of <paramref name="v"/> (it is sorted in place).</summary>
    private static WindowMembership BuildFrom(double[] v, IReadOnlyList<double> masses, MassWindows windows, double nSigma)
    {
        ArgumentNullException.ThrowIfNull(masses);
        ArgumentNullException.ThrowIfNull(windows);
        if (!(nSigma > 0) || double.IsInfinity(nSigma))
            throw new ArgumentOutOfRangeException(nameof(nSigma), nSigma, "window half-width nSigma must be a positive finite number");
        for (var j = 0; j < v.Length; j++)
        {
            if (double.IsNaN(v[j])) throw new ArgumentException($"window variable of event {j} is NaN", "windowVariable");
        }

        var centres = new double[masses.Count];
        var halfWidths = new double[masses.Count];
        for (var i = 0; i < masses.Count; i++)
        {
            var m = masses[i];
            if (!double.IsFinite(m)) throw new ArgumentException($"trained mass {i} is {m}, not a finite number", nameof(masses));
            var w = windows.Width(m);
            if (!(w > 0) || double.IsInfinity(w))
                throw new ArgumentException($"resolution width({m}) of trained mass {i} is {w}; it must be positive and finite", "width");
            centres[i] = windows.Center(m);
            halfWidths[i] = nSigma * w;
        }

        var order = new int[v.Length];
        for (var j = 0; j < order.Length; j++) order[j] = j;
        Array.Sort(v, order);

        var starts = new int[masses.Count];
        var ends = new int[masses.Count];
        long total = 0;
        for (var i = 0; i < masses.Count; i++)
        {
            var (c, h) = (centres[i], halfWidths[i]);
            starts[i] = FirstIndex(v, x => x - c > -h);
            ends[i] = Math.Max(starts[i], FirstIndex(v, x => !(x - c < h)));
            total += ends[i] - starts[i];
        }

        var pairEvents = new long[total];
        var pairWindows = new long[total];
        long k = 0;
        for (var i = 0; i < masses.Count; i++)
        {
            for (var s = starts[i]; s < ends[i]; s++, k++)
            {
                pairEvents[k] = order[s];
                pairWindows[k] = i;
            }
        }
        return new WindowMembership(v.Length, masses.Count, pairEvents, pairWindows, hasWindowVariable: true);
    }

    /// <summary>First index whose sorted value satisfies a predicate that is monotone (false then true).</summary>
    private static int FirstIndex(double[] sorted, Func<double, bool> predicate)
    {
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = lo + (hi - lo) / 2;
            if (predicate(sorted[mid])) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }
}
