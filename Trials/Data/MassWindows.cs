using System.Globalization;

namespace Studies.Trials.Data;

/// <summary>
/// The one definition of a per-mass signal window on the window variable v (methods.md section 3),
/// used by the evaluator, the BCE phase's <c>events: in-windows</c> selection and the Punzi loss:
/// the window of mass m holds the events with <c>|v - Center(m)| &lt; nSigma x Width(m)</c>.
/// <c>Width</c> is the resolution of v at m (for the recoil toy width(m), for files the option
/// <c>window_width</c>), so the window's half-width is <c>nSigma</c> widths (2 by default, the Punzi
/// loss's <c>n_sigma</c>). <c>Center</c> is m² (<c>window_center: mass-squared</c>, the recoil mass
/// squared) or m (<c>window_center: mass</c>).
/// </summary>
public sealed class MassWindows(Func<double, double> center, Func<double, double> width)
{
    /// <summary>Windows centred on m² with the given resolution (the recoil toy's rule; tests and benchmarks).</summary>
    public static MassWindows OnMassSquared(Func<double, double> width) => new(m => m * m, width);

    /// <summary>The windows a data set's <see cref="WindowModel"/> defines over its mass grid; a mass off the grid is an error.</summary>
    public static MassWindows Of(WindowModel model, double[] masses)
    {
        int Index(double m) => MassGrid.IndexOf(masses, m) is var k and >= 0 ? k
            : throw new DataException($"no mass window for mass {m.ToString("R", CultureInfo.InvariantCulture)}: not in the data's mass grid");
        return new MassWindows(m => model.Center[Index(m)], m => model.Width[Index(m)]);
    }

    public double Center(double mass) => center(mass);

    /// <summary>The resolution of the window variable at <paramref name="mass"/>; the window is <c>nSigma</c> of these either side.</summary>
    public double Width(double mass) => width(mass);

    public bool Contains(double mass, double v, double nSigma) => Math.Abs(v - Center(mass)) < nSigma * Width(mass);
}
