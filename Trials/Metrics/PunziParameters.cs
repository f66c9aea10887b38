namespace Studies.Trials.Metrics;

/// <summary>Which sigma_min expression (methods.md section 3): the paper's, or the earlier poster's.</summary>
public enum PunziFormula
{
    /// <summary>(a^2/8 + 9 b^2/13 + a sqrt(B) + (b/2) sqrt(b^2 + 4 a sqrt(B) + 4 B)) / (eps L)</summary>
    Full,
    /// <summary>(b^2/2 + a sqrt(B) + (b/2) sqrt(b^2 + 4 a sqrt(B) + 4 B)) / (eps L)</summary>
    Simple,
}

/// <summary>
/// Parameters of the Punzi minimum detectable cross-section, shared by the Punzi loss and the
/// sensitivity metrics so both measure the same thing. Names follow the loss options of the trial
/// spec (a, b, luminosity, formula, scale, n_sigma, eps_floor, b_floor); sigma_min comes out in fb
/// when <see cref="Luminosity"/> is in fb^-1. Defaults are the Punzi-net reference (methods.md section 3).
/// </summary>
public sealed record PunziParameters
{
    /// <summary>Discovery significance in sigmas (a).</summary>
    public double A { get; init => field = Check.NonNegative(value, nameof(A)); } = 3;

    /// <summary>One-sided exclusion quantile (b; 1.28155 is 90 %).</summary>
    public double B { get; init => field = Check.NonNegative(value, nameof(B)); } = 1.28155;

    /// <summary>Target integrated luminosity L in fb^-1.</summary>
    public double Luminosity { get; init => field = Check.Positive(value, nameof(Luminosity)); } = 50;

    public PunziFormula Formula { get; init => field = Enum.IsDefined(value) ? value : throw new ArgumentOutOfRangeException(nameof(Formula), value, "PunziParameters.Formula: unknown formula."); } = PunziFormula.Full;

    /// <summary>Common efficiency scale s ("trigger efficiency"), applied to signal and background alike.</summary>
    public double Scale { get; init => field = Check.Positive(value, nameof(Scale)); } = 0.9;

    /// <summary>Window half-width in resolution units: |v - m^2| &lt; NSigma * width(m).</summary>
    public double NSigma { get; init => field = Check.Positive(value, nameof(NSigma)); } = 2;

    /// <summary>eps is raised to at least this (sigma_min diverges at eps = 0).</summary>
    public double EfficiencyFloor { get; init => field = Check.Positive(value, nameof(EfficiencyFloor)); } = 1e-6;

    /// <summary>B is raised to at least this (the derivative of sqrt(B) diverges at B = 0).</summary>
    public double BackgroundFloor { get; init => field = Check.Positive(value, nameof(BackgroundFloor)); } = 1e-9;

    public static readonly PunziParameters Default = new();

    /// <summary>Every value is checked when set; kept so call sites can state that they rely on it.</summary>
    public PunziParameters Validate() => this;
}

internal static class Check
{
    public static double NonNegative(double value, string name) =>
        double.IsFinite(value) && value >= 0 ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number >= 0.");

    public static double Positive(double value, string name) =>
        double.IsFinite(value) && value > 0 ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} must be a finite number > 0.");

    public static double Fraction(double value, string name) =>
        value is >= 0 and <= 1 ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} must lie in [0, 1].");
}
