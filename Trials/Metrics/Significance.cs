namespace Studies.Trials.Metrics;

/// <summary>
/// How signal efficiency turns into a count and which cuts a significance scan may choose.
/// Defaults follow methods.md section 6 and the Punzi reference study (1 fb x 50 fb^-1).
/// </summary>
public sealed record SignificanceParameters
{
    /// <summary>sigma_signal x L: the expected signal count s = eps x this (eps absolute).</summary>
    public double SignalYieldPerEfficiency { get; init => field = Check.Positive(value, nameof(SignalYieldPerEfficiency)); } = 50;

    /// <summary>A cut qualifies only with at least this expected background (b >= this, and always b > 0).</summary>
    public double MinBackgroundYield { get; init => field = Check.NonNegative(value, nameof(MinBackgroundYield)); } = 5;

    /// <summary>
    /// A cut qualifies only with at least this many simulated background events passing (unweighted):
    /// where one simulated event stands for several expected ones (the Lovász toy: ~6), a yield floor
    /// alone lets the best Z sit on one or two lucky events.
    /// </summary>
    public int MinBackgroundEvents { get; init => field = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(MinBackgroundEvents), value, "must be >= 0"); }

    /// <summary>A cut qualifies only with at least this relative signal efficiency (passing / total signal weight).</summary>
    public double MinSignalEfficiency { get; init => field = Check.Fraction(value, nameof(MinSignalEfficiency)); } = 0.05;

    /// <summary>
    /// A common factor the sample's weights already carry (the Punzi "trigger efficiency" 0.9 of the
    /// evaluator's weights). Significances divide it out of s and b: the 0.9 belongs to the Punzi
    /// sigma_min only, and Z = s/sqrt(b) with both scaled by 0.9 would read sqrt(0.9) low.
    /// </summary>
    public double WeightScale { get; init => field = Check.Positive(value, nameof(WeightScale)); } = 1;

    /// <summary>Relative uncertainty sigma_b / b of the background yield for <see cref="Significance.AsimovWithUncertainty"/>; 0: none.</summary>
    public double BackgroundUncertainty { get; init => field = Check.NonNegative(value, nameof(BackgroundUncertainty)); }

    public static readonly SignificanceParameters Default = new();
}

/// <summary>The best value of each significance over the qualifying cuts of one scan.</summary>
public sealed record BestSignificance(ScanOptimum SOverSqrtB, ScanOptimum SOverSqrtSPlusB, ScanOptimum Asimov, ScanOptimum AsimovWithUncertainty);

/// <summary>Counting-experiment significances (methods.md section 6) and their exact cut scan.</summary>
public static class Significance
{
    public static double SOverSqrtB(double s, double b) => s / Math.Sqrt(b);

    public static double SOverSqrtSPlusB(double s, double b) => s + b > 0 ? s / Math.Sqrt(s + b) : 0;

    /// <summary>
    /// Asimov Z_A = sqrt(2((s+b) ln(1+s/b) - s)). Written as sqrt(2 b g(s/b)) with
    /// g(r) = (1+r) ln(1+r) - r, whose direct form cancels catastrophically for small r; there its
    /// series r^2/2 - r^3/6 + r^4/12 - r^5/20 is used instead.
    /// </summary>
    public static double Asimov(double s, double b)
    {
        if (s == 0) return 0;
        var r = s / b;
        var g = r < 1e-3
            ? r * r * (0.5 - r * (1.0 / 6 - r * (1.0 / 12 - r / 20)))
            : (1 + r) * LogOnePlus(r) - r;
        return Math.Sqrt(2 * b * Math.Max(g, 0));
    }

    /// <summary>
    /// The Asimov discovery significance with an uncertainty sigma_b = <paramref name="relative"/> x b
    /// on the background (Cowan, Cranmer, Gross, Vitells, Eur. Phys. J. C 71 (2011) 1554, and the
    /// discovery formula with sigma_b of Cowan's "Discovery sensitivity for a counting experiment with
    /// background uncertainty", 2012):
    /// Z = sqrt(2 [(s+b) ln((s+b)(b+sigma²) / (b² + (s+b) sigma²)) - (b²/sigma²) ln(1 + sigma² s / (b (b+sigma²)))]).
    /// relative = 0 is <see cref="Asimov"/> (the sigma -> 0 limit, exactly).
    /// </summary>
    public static double AsimovWithUncertainty(double s, double b, double relative)
    {
        if (relative == 0) return Asimov(s, b);
        if (s == 0) return 0;
        var v = relative * b * relative * b;
        var first = (s + b) * Math.Log((s + b) * (b + v) / (b * b + (s + b) * v));
        var second = b * b / v * LogOnePlus(v * s / (b * (b + v)));
        return Math.Sqrt(2 * Math.Max(first - second, 0));
    }

    /// <summary>ln(1+x) accurate for small x (Goldberg's trick; .NET's double.LogP1 is plain Log(1+x)).</summary>
    private static double LogOnePlus(double x)
    {
        var u = 1 + x;
        return u == 1 ? x : Math.Log(u) * x / (u - 1);
    }

    /// <summary>
    /// Best s/sqrt(b), s/sqrt(s+b) and Z_A over all cuts with b > 0, b >= MinBackgroundYield, at least
    /// MinBackgroundEvents simulated background events and
    /// relative signal efficiency >= MinSignalEfficiency; each is NaN (with a NaN cut) when no cut
    /// qualifies or the sample has no signal weight. Among equal maxima the highest threshold wins.
    /// </summary>
    public static BestSignificance Best(CutScan scan, SignificanceParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(scan);
        ArgumentNullException.ThrowIfNull(parameters);
        ScanOptimum z = ScanOptimum.None, zSb = ScanOptimum.None, zA = ScanOptimum.None, zAu = ScanOptimum.None;
        var sTot = scan.SignalTotal;
        if (!(sTot > 0)) return new BestSignificance(z, zSb, zA, zAu);
        var s = scan.SignalPassing;
        var b = scan.BackgroundPassing;
        var t = scan.Thresholds;
        for (var k = 0; k < scan.Count; k++)
        {
            var bk = b[k] / parameters.WeightScale;
            if (!(bk > 0) || bk < parameters.MinBackgroundYield || scan.BackgroundEventsPassing[k] < parameters.MinBackgroundEvents
                || s[k] / sTot < parameters.MinSignalEfficiency) continue;
            var sk = s[k] / parameters.WeightScale * parameters.SignalYieldPerEfficiency;
            z = Better(z, SOverSqrtB(sk, bk), t[k]);
            zSb = Better(zSb, SOverSqrtSPlusB(sk, bk), t[k]);
            zA = Better(zA, Asimov(sk, bk), t[k]);
            zAu = Better(zAu, AsimovWithUncertainty(sk, bk, parameters.BackgroundUncertainty), t[k]);
        }
        return new BestSignificance(z, zSb, zA, zAu);
    }

    /// <summary>
    /// s/sqrt(b) with the events of score >= <paramref name="cut"/> selected, a cut chosen elsewhere
    /// (validation): no yield or efficiency constraint applies, and NaN when no background passes
    /// (s/sqrt(0) is no measurement).
    /// </summary>
    public static double AtCut(CutScan scan, double cut, SignificanceParameters parameters)
    {
        var k = scan.IndexAt(cut);
        var b = scan.BackgroundPassing[k] / parameters.WeightScale;
        return b > 0 ? SOverSqrtB(scan.SignalPassing[k] / parameters.WeightScale * parameters.SignalYieldPerEfficiency, b) : double.NaN;
    }

    private static ScanOptimum Better(ScanOptimum best, double value, double cut) =>
        !(value <= best.Value) ? new ScanOptimum(value, cut) : best;
}
