using System.Text.Json.Nodes;
using Studies.Trials.Components;

namespace Studies.Trials.Data;

/// <summary>
/// A HEPMASS-like generator (docs/hepmass-toy.md): X -> t tbar -> (l nu b)(j j b) of mass m in GeV
/// against Standard-Model t tbar, with the HEPMASS kind of features. Signal: the reconstructed
/// resonance mass m_wwbb peaks at m (7 % resolution) and the lepton, jet and missing transverse
/// momenta scale with m; the W and top masses are the same for every m. Background has no mass of
/// its own: a falling m_wwbb from the t tbar threshold, momenta that scale with its m_wwbb, and wider
/// W and top peaks (wrong jet pairings). Three nuisance features (lepton and jet pseudorapidity,
/// an azimuthal difference) are drawn alike for signal and background. Every weight is 1, as in
/// HEPMASS. It is a data source for interpolation studies, not a simulation; its exact likelihood ratio
/// is the Bayes-optimal score.
/// </summary>
public sealed class HepmassToy : IDataSource, IBayesOptimal
{
    public static readonly double[] DefaultMasses = [500, 750, 1000, 1250, 1500];

    public static readonly string[] Features =
        ["m_wwbb", "m_jjj", "m_jj", "m_jlv", "m_lv", "lepton_pt", "jet1_pt", "met", "lepton_eta", "jet1_eta", "delta_phi"];

    public static readonly DataSourceEntry Entry = new("hepmass-toy",
        "A HEPMASS-like X -> t tbar search (docs/hepmass-toy.md): 11 features whose signal distributions move with the mass, a mass-independent background.",
        [
            new OptionSpec("masses", OptionType.Masses, "Signal masses (GeV), 400 or more.") { Default = "500, 750, ..., 1500" },
            OptionSpec.Count("signal_per_mass", "Signal events per mass.", "20000"),
            OptionSpec.Count("background_events", "Background events.", "signal_per_mass x masses"),
            new OptionSpec("seed", OptionType.Integer, "Generation seed, to keep one data set across trial seeds.") { Min = 1, Default = "the trial's seed" },
            DataSources.ValidationScaleOption,
        ],
        new HepmassToy())
    {
        Size = o =>
        {
            var signal = DataSize.Number(o["signal_per_mass"], 20_000) * DataSize.MassCount(o, DefaultMasses.Length);
            return new DataSize(signal + DataSize.Number(o["background_events"], signal), Features.Length);
        },
    };

    private static readonly string[] OptionNames = Entry.Options.Select(o => o.Key).ToArray();

    // Signal: m_wwbb resolution, and medians of the momenta as fractions of m (log-normal spreads).
    internal const double MassResolution = 0.07;
    private const double TopMass = 173, WMass = 80.4;

    public string Name => "hepmass-toy";

    public IBayesOptimal BayesOptimal(JsonObject options) => this;

    public EventSet Load(JsonObject options, ulong seed) => Load(options, seed, 1);

    public EventSet Load(JsonObject options, ulong seed, double countScale)
    {
        var o = new DataOptions("hepmass-toy", options, OptionNames);
        var masses = o.Masses("masses") ?? DefaultMasses;
        if (masses.Any(m => m < 400)) throw o.Error("masses", "must be 400 GeV or more (above the t tbar threshold)");
        int perMass = o.PositiveInt("signal_per_mass", 20_000);
        int background = o.PositiveInt("background_events", perMass * masses.Length);
        return Generate(masses, DataSources.Scaled(perMass, countScale), DataSources.Scaled(background, countScale), DataSources.GenerationSeed(o, seed));
    }

    public static EventSet Generate(double[] masses, int perMass, int background, ulong seed) =>
        ResonanceToy.Generate("hepmass-toy", Features, masses, perMass, background, seed, Signal, Background);

    // Features 1-4 (m_jjj, m_jj, m_jlv, m_lv): Gaussian (mean, standard deviation) in GeV.
    private static readonly (double Mean, double Sd)[] SignalPeaks = [(TopMass, 15), (WMass, 9), (TopMass, 22), (WMass, 12)];
    private static readonly (double Mean, double Sd)[] BackgroundPeaks = [(TopMass, 25), (WMass, 14), (TopMass, 30), (WMass, 14)];
    // Features 5-7 (lepton pt, leading jet pt, missing ET): log-normal with median = fraction x m
    // (signal) or x m_wwbb (background; softer than signal of the same m_wwbb: no resonance).
    private static readonly (double Fraction, double Sigma)[] SignalMomenta = [(0.18, 0.5), (0.22, 0.45), (0.12, 0.6)];
    private static readonly (double Fraction, double Sigma)[] BackgroundMomenta = [(0.13, 0.6), (0.16, 0.55), (0.09, 0.7)];
    // Background m_wwbb: the t tbar threshold plus Gamma(2, 120 GeV): mode ~470 GeV, mean ~590 GeV, a few per cent above 1 TeV.
    private const double Threshold = 350, TailScale = 120;

    private static void Signal(ref Rng rng, double m, Span<float> f)
    {
        f[0] = (float)(m * (1 + MassResolution * rng.Normal()));
        Draw(ref rng, SignalPeaks, SignalMomenta, m, f);
    }

    private static void Background(ref Rng rng, Span<float> f)
    {
        double mwwbb = Threshold + TailScale * rng.GammaInt(2);
        f[0] = (float)mwwbb;
        Draw(ref rng, BackgroundPeaks, BackgroundMomenta, mwwbb, f);
    }

    private static void Draw(ref Rng rng, (double Mean, double Sd)[] peaks, (double Fraction, double Sigma)[] momenta, double scale, Span<float> f)
    {
        for (int j = 0; j < peaks.Length; j++) f[1 + j] = (float)(peaks[j].Mean + peaks[j].Sd * rng.Normal());
        for (int j = 0; j < momenta.Length; j++) f[5 + j] = (float)(momenta[j].Fraction * scale * Math.Exp(momenta[j].Sigma * rng.Normal()));
        Nuisance(ref rng, f);
    }

    /// <summary>
    /// log p_signal(x | m) - log p_background(x), exact for the generator's densities (the nuisance
    /// features are drawn alike and cancel); +infinity below the background's threshold.
    /// </summary>
    public double Score(EventSet events, int index, double mass)
    {
        var f = events.Features.AsSpan(index * Features.Length, Features.Length);
        double x0 = f[0];
        if (x0 <= Threshold) return double.PositiveInfinity;
        double t = (x0 - Threshold) / TailScale;
        double logSignal = LogNormalPdf(x0, mass, MassResolution * mass);
        double logBackground = Math.Log(t) - t - Math.Log(TailScale);
        for (int j = 0; j < SignalPeaks.Length; j++)
        {
            logSignal += LogNormalPdf(f[1 + j], SignalPeaks[j].Mean, SignalPeaks[j].Sd);
            logBackground += LogNormalPdf(f[1 + j], BackgroundPeaks[j].Mean, BackgroundPeaks[j].Sd);
        }
        for (int j = 0; j < SignalMomenta.Length; j++)
        {
            double logX = Math.Log(f[5 + j]);
            // The 1/x of both log-normal densities cancels.
            logSignal += LogNormalPdf(logX, Math.Log(SignalMomenta[j].Fraction * mass), SignalMomenta[j].Sigma);
            logBackground += LogNormalPdf(logX, Math.Log(BackgroundMomenta[j].Fraction * x0), BackgroundMomenta[j].Sigma);
        }
        return logSignal - logBackground;
    }

    private static readonly double LogSqrtTwoPi = 0.5 * Math.Log(2 * Math.PI);

    private static double LogNormalPdf(double x, double mean, double sd)
    {
        double z = (x - mean) / sd;
        return -0.5 * z * z - Math.Log(sd) - LogSqrtTwoPi;
    }

    private static void Nuisance(ref Rng rng, Span<float> f)
    {
        f[8] = (float)(1.2 * rng.Normal());
        f[9] = (float)(1.3 * rng.Normal());
        f[10] = (float)(Math.PI * (2 * rng.Uniform() - 1));
    }

    private static double LogNormal(ref Rng rng, double median, double sigma) => median * Math.Exp(sigma * rng.Normal());
}
