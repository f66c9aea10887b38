using Studies.Trials.Engine;

namespace Studies.Trials.Metrics;

/// <summary>A cut chosen by a scan, and the value of the metric there.</summary>
/// <param name="Value">The optimum; NaN when no cut qualifies.</param>
/// <param name="Cut">Events pass when score >= Cut; +inf is the "nothing passes" end; NaN when no cut qualifies.</param>
public readonly record struct ScanOptimum(double Value, double Cut)
{
    public static readonly ScanOptimum None = new(double.NaN, double.NaN);
}

/// <summary>The Punzi minimum detectable cross-section (methods.md section 3) and its cut scans.</summary>
public static class PunziSensitivity
{
    /// <summary>
    /// sigma_min(eps, B) with the floors of <paramref name="parameters"/> applied to eps and B first.
    /// eps is the absolute signal efficiency, B the expected background yield.
    /// </summary>
    public static double SigmaMin(double eps, double background, PunziParameters parameters)
    {
        if (!(eps >= 0) || double.IsPositiveInfinity(eps))
            throw new ArgumentOutOfRangeException(nameof(eps), eps, "Punzi sigma_min: eps must be a finite number >= 0.");
        if (!(background >= 0) || double.IsPositiveInfinity(background))
            throw new ArgumentOutOfRangeException(nameof(background), background, "Punzi sigma_min: B must be a finite number >= 0.");
        return SigmaMinUnchecked(eps, background, parameters);
    }

    internal static double SigmaMinUnchecked(double eps, double background, PunziParameters p)
    {
        eps = Math.Max(eps, p.EfficiencyFloor);
        background = Math.Max(background, p.BackgroundFloor);
        double a = p.A, b = p.B, sqrtB = Math.Sqrt(background);
        var constant = p.Formula == PunziFormula.Full ? a * a / 8 + 9 * b * b / 13 : b * b / 2;
        var numerator = constant + a * sqrtB + b / 2 * Math.Sqrt(b * b + 4 * a * sqrtB + 4 * background);
        return numerator / (eps * p.Luminosity);
    }

    /// <summary>
    /// The same expression element-wise on tensors, differentiable, with no floors: the Punzi loss
    /// clamps eps and B itself so that a clamped value passes no gradient.
    /// </summary>
    public static Tensor SigmaMin(Tensor efficiency, Tensor background, PunziParameters parameters)
    {
        var (a, b) = (parameters.A, parameters.B);
        var rootB = background.Sqrt();
        var constant = parameters.Formula == PunziFormula.Full ? a * a / 8 + 9 * b * b / 13 : b * b / 2;
        var numerator = rootB * a + constant + ((rootB * (4 * a) + background * 4) + b * b).Sqrt() * (b / 2);
        return numerator / (efficiency * parameters.Luminosity);
    }

    /// <summary>sigma_min with the events of score >= <paramref name="cut"/> selected.</summary>
    public static double AtCut(CutScan scan, double cut, PunziParameters parameters)
    {
        var k = scan.IndexAt(cut);
        return SigmaMinUnchecked(scan.SignalPassing[k], scan.BackgroundPassing[k], parameters);
    }

    /// <summary>
    /// The smallest sigma_min over every distinct threshold of the sample (and the "nothing passes"
    /// end); among equal minima the highest threshold wins.
    /// </summary>
    public static ScanOptimum Best(CutScan scan, PunziParameters parameters)
    {
        var best = ScanOptimum.None;
        for (var k = 0; k < scan.Count; k++)
        {
            var sigma = SigmaMinUnchecked(scan.SignalPassing[k], scan.BackgroundPassing[k], parameters);
            if (!(sigma >= best.Value)) best = new ScanOptimum(sigma, scan.Thresholds[k]);
        }
        return best;
    }
}
