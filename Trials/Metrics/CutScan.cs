namespace Studies.Trials.Metrics;

/// <summary>
/// Every distinct cut of one <see cref="MassSample"/> with the weight that passes it: the exact
/// sorted-score curve behind the ROC, PR, Punzi and significance scans. Built once in O(n log n);
/// afterwards each metric is a walk over the distinct thresholds.
/// </summary>
/// <remarks>
/// Index 0 is the "nothing passes" end (threshold +inf); index k >= 1 is the k-th largest distinct
/// score, and an event passes it when score >= threshold, so tied events always pass or fail
/// together. Cumulative sums are compensated (Neumaier) so that 1e6 small weights still add up to
/// the same total as a careful direct sum.
/// </remarks>
public sealed class CutScan
{
    private readonly double[] _thresholds;
    private readonly double[] _signal;
    private readonly double[] _background;
    private readonly int[] _backgroundEvents;

    private CutScan(double[] thresholds, double[] signal, double[] background, int[] backgroundEvents)
    {
        _thresholds = thresholds;
        _signal = signal;
        _background = background;
        _backgroundEvents = backgroundEvents;
    }

    /// <summary>Number of cuts: distinct scores + 1.</summary>
    public int Count => _thresholds.Length;

    /// <summary>Descending; element 0 is +inf.</summary>
    public ReadOnlySpan<double> Thresholds => _thresholds;

    /// <summary>Signal weight passing each cut (the absolute efficiency eps when weights are scale / N_gen).</summary>
    public ReadOnlySpan<double> SignalPassing => _signal;

    /// <summary>Background weight passing each cut (the expected background yield B).</summary>
    public ReadOnlySpan<double> BackgroundPassing => _background;

    /// <summary>Simulated background events passing each cut (unweighted), for floors counted in events.</summary>
    public ReadOnlySpan<int> BackgroundEventsPassing => _backgroundEvents;

    public double SignalTotal => _signal[^1];
    public double BackgroundTotal => _background[^1];

    public static CutScan Build(MassSample sample)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var n = sample.Count;
        var keys = (double[])sample._score.Clone();
        var order = new int[n];
        for (var i = 0; i < n; i++) order[i] = i;
        Array.Sort(keys, order);

        // Walk the ascending sort from its end so that thresholds come out descending.
        var thresholds = new List<double>(n + 1) { double.PositiveInfinity };
        var signal = new List<double>(n + 1) { 0 };
        var background = new List<double>(n + 1) { 0 };
        var backgroundEvents = new List<int>(n + 1) { 0 };
        var events = 0;
        var sumSignal = new CompensatedSum();
        var sumBackground = new CompensatedSum();
        for (var i = n - 1; i >= 0;)
        {
            var score = keys[i];
            for (; i >= 0 && keys[i] == score; i--)
            {
                var e = order[i];
                if (sample._isSignal[e]) sumSignal.Add(sample._weight[e]);
                else
                {
                    sumBackground.Add(sample._weight[e]);
                    events++;
                }
            }
            thresholds.Add(score);
            signal.Add(sumSignal.Value);
            background.Add(sumBackground.Value);
            backgroundEvents.Add(events);
        }
        return new CutScan([.. thresholds], [.. signal], [.. background], [.. backgroundEvents]);
    }

    /// <summary>The index of the cut that selects exactly the events with score >= <paramref name="cut"/>.</summary>
    public int IndexAt(double cut)
    {
        if (double.IsNaN(cut)) throw new ArgumentException("CutScan.IndexAt: the cut is NaN.", nameof(cut));
        // Largest k with thresholds[k] >= cut; thresholds[0] = +inf always qualifies.
        int lo = 0, hi = _thresholds.Length - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) >> 1;
            if (_thresholds[mid] >= cut) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }
}

/// <summary>Neumaier's compensated running sum.</summary>
internal struct CompensatedSum
{
    private double _sum;
    private double _compensation;

    public readonly double Value => _sum + _compensation;

    public void Add(double x)
    {
        var t = _sum + x;
        _compensation += Math.Abs(_sum) >= Math.Abs(x) ? (_sum - t) + x : (x - t) + _sum;
        _sum = t;
    }
}
