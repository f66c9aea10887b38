using Studies.Trials.Engine;

namespace Studies.Trials.Losses;

/// <summary>Which closed form of the minimum detectable cross-section (methods section 3).</summary>
public enum PunziFormula
{
    /// <summary><c>(a²/8 + 9b²/13 + a√B + (b/2)√(b² + 4a√B + 4B)) / (ε L)</c>, the default.</summary>
    Full,

    /// <summary><c>(b²/2 + a√B + (b/2)√(b² + 4a√B + 4B)) / (ε L)</c>, from the earlier poster.</summary>
    Simple,
}

/// <summary>
/// Settings of the Punzi loss and of the Punzi sensitivity metric. Defaults are those of the
/// Punzi-net reference study (methods section 3); a study file may override each of them.
/// </summary>
/// <param name="Formula">Full or simple sigma_min.</param>
/// <param name="A">Discovery significance a, in sigmas.</param>
/// <param name="B">One-sided exclusion quantile b (90 %: 1.28155).</param>
/// <param name="Luminosity">Target luminosity L in fb^-1; sigma_min comes out in fb.</param>
/// <param name="Scale">Common efficiency scale s ("trigger efficiency").</param>
/// <param name="NSigma">Window half-width in resolution units: |v - m²| &lt; NSigma * width(m).</param>
/// <param name="EfficiencyFloor">Lower bound on eps inside the loss.</param>
/// <param name="BackgroundFloor">Lower bound on B inside the loss (d√B/dB diverges at 0).</param>
public sealed record PunziParameters(
    PunziFormula Formula = PunziFormula.Full,
    double A = 3,
    double B = 1.28155,
    double Luminosity = 50,
    double Scale = 0.9,
    double NSigma = 2,
    double EfficiencyFloor = 1e-6,
    double BackgroundFloor = 1e-9)
{
    public static PunziParameters Default { get; } = new();

    /// <summary>Throws, naming the setting, when a value makes the loss meaningless.</summary>
    public PunziParameters Validate()
    {
        static void Positive(double value, string name)
        {
            if (!(value > 0) || double.IsInfinity(value))
                throw new ArgumentOutOfRangeException(name, value, $"Punzi parameter {name} must be a positive finite number");
        }

        if (!Enum.IsDefined(Formula)) throw new ArgumentOutOfRangeException(nameof(Formula), Formula, "Punzi formula must be full or simple");
        Positive(A, nameof(A));
        Positive(B, nameof(B));
        Positive(Luminosity, nameof(Luminosity));
        Positive(Scale, nameof(Scale));
        Positive(NSigma, nameof(NSigma));
        Positive(EfficiencyFloor, nameof(EfficiencyFloor));
        Positive(BackgroundFloor, nameof(BackgroundFloor));
        return this;
    }
}

/// <summary>
/// The minimum detectable cross-section sigma_min(eps, B) (Punzi's sensitivity), with no floors:
/// the loss applies its floors before calling it, the metrics call it on exact counts.
/// </summary>
public static class PunziSensitivity
{
    /// <summary>sigma_min in fb for signal efficiency <paramref name="efficiency"/> and expected background <paramref name="background"/>.</summary>
    public static double SigmaMin(double efficiency, double background, PunziParameters parameters)
    {
        var (a, b) = (parameters.A, parameters.B);
        var rootB = Math.Sqrt(background);
        var constant = parameters.Formula == PunziFormula.Full ? a * a / 8 + 9 * b * b / 13 : b * b / 2;
        var numerator = constant + a * rootB + b / 2 * Math.Sqrt(b * b + 4 * a * rootB + 4 * background);
        return numerator / (efficiency * parameters.Luminosity);
    }

    /// <summary>The same, element-wise and differentiable, on tensors of efficiencies and backgrounds.</summary>
    public static Tensor SigmaMin(Tensor efficiency, Tensor background, PunziParameters parameters)
    {
        var (a, b) = (parameters.A, parameters.B);
        var rootB = background.Sqrt();
        var constant = parameters.Formula == PunziFormula.Full ? a * a / 8 + 9 * b * b / 13 : b * b / 2;
        var numerator = rootB * a + constant + ((rootB * (4 * a) + background * 4) + b * b).Sqrt() * (b / 2);
        return numerator / (efficiency * parameters.Luminosity);
    }
}
