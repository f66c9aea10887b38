using Studies.Trials.Metrics;

namespace Studies.Trials.Tests.Metrics;

public sealed class PunziSensitivityTests
{
    private const double B = 1.28155; // the default b; a = 3, L = 50 in every expectation below

    [Fact]
    public void Full_formula_matches_hand_arithmetic()
    {
        var p = PunziParameters.Default;
        // B = 4: sqrt(B) = 2.
        Assert.Equal((9.0 / 8 + 9 * B * B / 13 + 3 * 2 + B / 2 * Math.Sqrt(B * B + 4 * 3 * 2 + 4 * 4)) / (0.2 * 50),
            PunziSensitivity.SigmaMin(0.2, 4, p), 12);
        // B = 100: sqrt(B) = 10.
        Assert.Equal((9.0 / 8 + 9 * B * B / 13 + 3 * 10 + B / 2 * Math.Sqrt(B * B + 4 * 3 * 10 + 4 * 100)) / (0.05 * 50),
            PunziSensitivity.SigmaMin(0.05, 100, p), 12);
        // B = 0 is raised to the floor 1e-9.
        var sqrtFloor = Math.Sqrt(1e-9);
        Assert.Equal((9.0 / 8 + 9 * B * B / 13 + 3 * sqrtFloor + B / 2 * Math.Sqrt(B * B + 4 * 3 * sqrtFloor + 4 * 1e-9)) / (0.5 * 50),
            PunziSensitivity.SigmaMin(0.5, 0, p), 12);
        // A rough independent anchor: at B = 0 the numerator is a^2/8 + 9b^2/13 + b^2/2, about 3.0832 (plus ~2e-4 from the floor).
        Assert.InRange(PunziSensitivity.SigmaMin(1, 0, p) * 50, 3.0830, 3.0840);
    }

    [Fact]
    public void Simple_formula_matches_hand_arithmetic()
    {
        var p = PunziParameters.Default with { Formula = PunziFormula.Simple };
        Assert.Equal((B * B / 2 + 3 * 2 + B / 2 * Math.Sqrt(B * B + 4 * 3 * 2 + 4 * 4)) / (0.2 * 50),
            PunziSensitivity.SigmaMin(0.2, 4, p), 12);
        Assert.Equal((B * B / 2 + 3 * 10 + B / 2 * Math.Sqrt(B * B + 4 * 3 * 10 + 4 * 100)) / (0.05 * 50),
            PunziSensitivity.SigmaMin(0.05, 100, p), 12);
        var sqrtFloor = Math.Sqrt(1e-9);
        Assert.Equal((B * B / 2 + 3 * sqrtFloor + B / 2 * Math.Sqrt(B * B + 4 * 3 * sqrtFloor + 4 * 1e-9)) / (0.5 * 50),
            PunziSensitivity.SigmaMin(0.5, 0, p), 12);
    }

    [Fact]
    public void Other_parameters_enter_as_written()
    {
        var p = new PunziParameters { A = 5, B = 2, Luminosity = 10 };
        Assert.Equal((25.0 / 8 + 9 * 4.0 / 13 + 5 * 3 + 1 * Math.Sqrt(4 + 4 * 5 * 3 + 4 * 9)) / (0.1 * 10),
            PunziSensitivity.SigmaMin(0.1, 9, p), 12);
    }

    [Fact]
    public void Floors_apply_to_eps_and_background()
    {
        var p = PunziParameters.Default;
        Assert.Equal(PunziSensitivity.SigmaMin(1e-6, 4, p), PunziSensitivity.SigmaMin(0, 4, p));
        Assert.Equal(PunziSensitivity.SigmaMin(1e-6, 4, p), PunziSensitivity.SigmaMin(1e-8, 4, p));
        Assert.Equal(PunziSensitivity.SigmaMin(0.3, 1e-9, p), PunziSensitivity.SigmaMin(0.3, 1e-14, p));
        Assert.NotEqual(PunziSensitivity.SigmaMin(0.3, 1e-9, p), PunziSensitivity.SigmaMin(0.3, 1e-6, p));
        var raised = p with { EfficiencyFloor = 0.01, BackgroundFloor = 1 };
        Assert.Equal(PunziSensitivity.SigmaMin(0.01, 1, raised), PunziSensitivity.SigmaMin(0.001, 0.5, raised));
        Assert.Equal((9.0 / 8 + 9 * B * B / 13 + 3 + B / 2 * Math.Sqrt(B * B + 12 + 4)) / (0.01 * 50),
            PunziSensitivity.SigmaMin(0, 0, raised), 12);
    }

    [Fact]
    public void Bad_arguments_are_refused_with_their_name()
    {
        var p = PunziParameters.Default;
        Assert.Contains("eps", Assert.Throws<ArgumentOutOfRangeException>(() => PunziSensitivity.SigmaMin(double.NaN, 1, p)).Message);
        Assert.Contains("B must", Assert.Throws<ArgumentOutOfRangeException>(() => PunziSensitivity.SigmaMin(0.1, -1, p)).Message);
        Assert.Contains("Luminosity", Assert.Throws<ArgumentOutOfRangeException>(() => p with { Luminosity = 0 }).Message);
        Assert.Contains("EfficiencyFloor", Assert.Throws<ArgumentOutOfRangeException>(() => new PunziParameters { EfficiencyFloor = -1 }).Message);
    }
}
