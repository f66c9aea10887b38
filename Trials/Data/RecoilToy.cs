using System.Text.Json.Nodes;
using Studies.Trials.Components;

namespace Studies.Trials.Data;

/// <summary>
/// A Z' -> invisible recoil-mass search at an e+e- collider (methods.md section 7; physics and
/// parameter choices in docs/recoil-toy.md). Window variable v: the recoil mass squared against the
/// muon pair (GeV^2) on [<see cref="VLow"/>, <see cref="VHigh"/>]; signal of mass m peaks at m^2 with
/// resolution <see cref="Width"/>(m). Four features (pt, cos_miss, acoplanarity, e_extra) and v are
/// independent given the process, each from a normalised 1-D density (<see cref="Densities"/>), so
/// every process density is an exact product and <see cref="Score"/> is the exact log-likelihood ratio.
/// Weights: sigma x L / N_generated per process (per mass for signal).
/// </summary>
public sealed class RecoilToy : IDataSource, IBayesOptimal
{
    /// <summary>Process names; 0 is signal, 1.. the backgrounds.</summary>
    public static readonly string[] Processes = ["signal", "mumu", "taupair", "eemumu"];

    public static readonly string[] FeatureNames = ["pt", "cos_miss", "acoplanarity", "e_extra"];

    /// <summary>Centre-of-mass energy squared (GeV^2) at the Upsilon(4S), sqrt(s) = 10.58 GeV.</summary>
    public const double S = 10.58 * 10.58;

    /// <summary>Support of the recoil mass squared (GeV^2): resolution lets it go negative; it cannot exceed about s.</summary>
    public const double VLow = -10, VHigh = 110;

    /// <summary>Heaviest mass whose peak stays well inside the v support.</summary>
    public const double MaxMass = 10;

    public static readonly double[] DefaultMasses = MassGrid.Range(0.5, 8.5, 1);

    /// <summary>Background cross-sections after preselection (fb), in <see cref="Processes"/> order from 1.</summary>
    public static readonly double[] DefaultCrossSections = [800, 200, 300];

    public static readonly DataSourceEntry Entry = new("recoil-toy", "A Z' -> invisible recoil-mass search (docs/recoil-toy.md): four features and a window variable.",
        [
            new OptionSpec("masses", OptionType.Masses, "Z' masses (GeV), in (0, 10].") { Default = "0.5, 1.5, ..., 8.5" },
            OptionSpec.Count("signal_per_mass", "Signal events per mass.", "5000"),
            new OptionSpec("background_events", OptionType.NumberOrMapping, "Events per background process.")
                { Fields = BackgroundFields("Events."), Default = "20000" },
            OptionSpec.Positive("luminosity", "Integrated luminosity (fb^-1).", "50"),
            new OptionSpec("cross_sections", OptionType.NumberOrMapping, "Background cross-sections after preselection (fb).")
                { Fields = BackgroundFields("Cross-section (fb)."), Default = "800, 200, 300" },
            OptionSpec.Positive("signal_cross_section", "Signal cross-section (fb).", "1"),
            new OptionSpec("seed", OptionType.Integer, "Generation seed, to keep one data set across trial seeds.") { Min = 1, Default = "the trial's seed" },
            DataSources.ValidationScaleOption,
            new OptionSpec("version", OptionType.Integer, "Generator version (docs/recoil-toy.md): 1 or 2.") { Min = 1, Max = 2, Default = "1" },
        ],
        new RecoilToy())
    {
        Size = o => new DataSize(DataSize.Number(o["signal_per_mass"], 5_000) * DataSize.MassCount(o, 9) + DataSize.Total(o["background_events"], 20_000, 3), 4),
    };

    private static OptionSpec[] BackgroundFields(string doc) => Processes[1..].Select(p => OptionSpec.Positive(p, doc)).ToArray();

    private static readonly string[] OptionNames = Entry.Options.Select(o => o.Key).ToArray();

    public string Name => "recoil-toy";

    /// <summary>Background cross-sections (fb), indexed like <see cref="Processes"/> minus one.</summary>
    public double[] CrossSections { get; init; } = DefaultCrossSections;

    public double SignalCrossSection { get; init; } = 1;

    public double Luminosity { get; init; } = 50;

    /// <summary>
    /// 1: features independent of v (only the signal pt depends on the mass); 2: pt and acoplanarity
    /// drift with v for every process (<see cref="V2"/>), so a selection that knows the mass hypothesis
    /// can use them differently in every window.
    /// </summary>
    public int Version { get; init; } = 1;

    /// <summary>Resolution of v at mass m (GeV^2): worse for light Z' (harder muons), 2 GeV^2 at m = 0 down to 0.4 at sqrt(s).</summary>
    public static double Width(double m) => 0.4 + 1.6 * (1 - m * m / S);

    // Per-process parameters of each factor: (Gamma k, theta) for pt and e_extra; rate of the
    // truncated exponential for cos_miss on [0, 1]; Beta (a, b) for acoplanarity. Signal pt scale
    // depends on the mass (see PtScale).
    private static readonly (int K, double Theta)[] Pt = [(2, 0), (1, 0.5), (2, 0.55), (1, 0.3)];
    private static readonly double[] CosRate = [-0.5, 2.5, 0.0, 4.0];
    private static readonly (int A, int B)[] Acoplanarity = [(2, 3), (1, 5), (2, 2), (1, 4)];
    private static readonly (int K, double Theta)[] EExtra = [(1, 0.12), (1, 0.15), (2, 0.2), (1, 0.15)];

    /// <summary>Signal pt scale (GeV): a heavier Z' takes more transverse momentum from the muon it radiates off.</summary>
    private static double PtScale(double m) => 0.45 + 0.06 * m;

    private static (RecoilToy Model, DataOptions Options) Parse(JsonObject? options)
    {
        var o = new DataOptions("recoil-toy", options, OptionNames);
        var xsec = o.PerKey("cross_sections", Processes[1..], DefaultCrossSections);
        for (int k = 0; k < xsec.Length; k++)
            if (!(xsec[k] > 0)) throw o.Error("cross_sections", $"of '{Processes[k + 1]}' must be positive, got {xsec[k]}");
        var version = o.PositiveInt("version", 1);
        if (version is not (1 or 2)) throw o.Error("version", $"must be 1 or 2, got {version}");
        var model = new RecoilToy
        {
            CrossSections = xsec,
            SignalCrossSection = o.PositiveDouble("signal_cross_section", 1),
            Luminosity = o.PositiveDouble("luminosity", 50),
            Version = version,
        };
        return (model, o);
    }

    public IBayesOptimal BayesOptimal(JsonObject options) => Parse(options).Model;

    public EventSet Load(JsonObject options, ulong seed) => Load(options, seed, 1);

    public EventSet Load(JsonObject options, ulong seed, double countScale)
    {
        var (model, o) = Parse(options);
        var masses = o.Masses("masses") ?? DefaultMasses;
        foreach (var m in masses)
            if (!(m > 0) || m > MaxMass)
                throw o.Error("masses", $"must lie in (0, {MaxMass}] GeV (the recoil mass squared reaches {VHigh} GeV^2), got {m}");
        // Deviation from the brief's signal_per_mass default of 20000 (the Punzi-net's N_gen): 5000
        // keeps the default data set small enough for the quickstart to train in seconds.
        int perMass = o.PositiveInt("signal_per_mass", 5000);
        var counts = o.PerKey("background_events", Processes[1..], [20_000, 20_000, 20_000]);
        for (int k = 0; k < counts.Length; k++)
            if (!(counts[k] >= 1) || counts[k] != Math.Floor(counts[k]) || counts[k] > 50_000_000)
                throw o.Error("background_events", $"of '{Processes[k + 1]}' must be a positive integer, got {counts[k]}");
        return model.Generate(masses, DataSources.Scaled(perMass, countScale), counts.Select(c => DataSources.Scaled((int)c, countScale)).ToArray(),
            DataSources.GenerationSeed(o, seed));
    }

    /// <summary>Signal of every mass (one random stream per mass value, so changing the grid leaves the other masses' events unchanged), then each background.</summary>
    public EventSet Generate(double[] masses, int perMass, int[] backgroundCounts, ulong seed)
    {
        if (backgroundCounts.Length != Processes.Length - 1) throw new ArgumentException($"need {Processes.Length - 1} background counts", nameof(backgroundCounts));
        long total = (long)perMass * masses.Length + backgroundCounts.Sum(c => (long)c);
        if (total > int.MaxValue / FeatureNames.Length) throw new DataException($"data source 'recoil-toy': {total} events are too many");
        int n = (int)total, d = FeatureNames.Length;
        var features = new float[n * d];
        var window = new float[n];
        var label = new byte[n];
        var mass = new double[n];
        var massIndex = new int[n];
        var process = new int[n];
        var weight = new double[n];
        Span<double> x = stackalloc double[d];
        int i = 0;
        for (int k = 0; k < masses.Length; k++)
        {
            var rng = new Rng(seed, Rng.Label("recoil-toy/signal"), BitConverter.DoubleToUInt64Bits(masses[k]));
            double w = SignalCrossSection * Luminosity / perMass;
            for (int e = 0; e < perMass; e++, i++)
            {
                window[i] = (float)(Version == 2 ? V2.Sample(ref rng, 0, masses[k], x) : Sample(ref rng, 0, masses[k], x));
                for (int j = 0; j < d; j++) features[i * d + j] = (float)x[j];
                label[i] = 1; mass[i] = masses[k]; massIndex[i] = k; process[i] = 0; weight[i] = w;
            }
        }
        for (int p = 1; p < Processes.Length; p++)
        {
            var rng = new Rng(seed, Rng.Label("recoil-toy/" + Processes[p]));
            double w = CrossSections[p - 1] * Luminosity / backgroundCounts[p - 1];
            for (int e = 0; e < backgroundCounts[p - 1]; e++, i++)
            {
                window[i] = (float)(Version == 2 ? V2.Sample(ref rng, p, double.NaN, x) : Sample(ref rng, p, double.NaN, x));
                for (int j = 0; j < d; j++) features[i * d + j] = (float)x[j];
                mass[i] = double.NaN; massIndex[i] = -1; process[i] = p; weight[i] = w;
            }
        }
        var set = new EventSet
        {
            Count = n, FeatureNames = FeatureNames, Features = features, Label = label, Mass = mass, MassIndex = massIndex,
            Process = process, ProcessNames = Processes, Weight = weight, Window = window,
            Windows = new WindowModel("recoil_mass_squared", masses.Select(m => m * m).ToArray(), masses.Select(Width).ToArray()),
            Masses = masses, GeneratedSignal = Enumerable.Repeat((double)perMass, masses.Length).ToArray(),
            CrossSections = Processes.Select((name, p) => (name, p == 0 ? SignalCrossSection : CrossSections[p - 1])).ToDictionary(),
            Luminosity = Luminosity,
        };
        set.Validate();
        return set;
    }

    private static double Sample(ref Rng rng, int p, double m, Span<double> x)
    {
        x[0] = Densities.SampleGamma(ref rng, Pt[p].K, p == 0 ? PtScale(m) : Pt[p].Theta);
        x[1] = Densities.SampleTruncatedExponential(ref rng, CosRate[p], 0, 1);
        x[2] = Densities.SampleBeta(ref rng, Acoplanarity[p].A, Acoplanarity[p].B);
        x[3] = Densities.SampleGamma(ref rng, EExtra[p].K, EExtra[p].Theta);
        return p switch
        {
            0 => Densities.SampleTruncatedNormal(ref rng, m * m, Width(m), VLow, VHigh),
            _ => SampleV(ref rng, p),
        };
    }

    // Background recoil spectra: mumu(gamma) falls from v ~ 0 (ISR photon along the beam), taupair is
    // broad (neutrinos take a varying share), eemumu (two-photon) rises towards s (the e+e- escape
    // along the beam).
    private const double MumuRate = -1 / 15.0, EemumuRate = 1 / 30.0, TaupairMean = 35, TaupairSigma = 25;

    internal static double SampleV(ref Rng rng, int p) => p switch
    {
        1 => Densities.SampleTruncatedExponential(ref rng, MumuRate, VLow, VHigh),
        2 => Densities.SampleTruncatedNormal(ref rng, TaupairMean, TaupairSigma, VLow, VHigh),
        _ => Densities.SampleTruncatedExponential(ref rng, EemumuRate, VLow, VHigh),
    };

    /// <summary>
    /// Log density of one factor: <paramref name="variable"/> 0..3 are the features in
    /// <see cref="FeatureNames"/> order, 4 the window variable v; <paramref name="mass"/> matters for signal only.
    /// </summary>
    public static double LogFactor(int process, int variable, double value, double mass) => variable switch
    {
        0 => Densities.LogGamma(value, Pt[process].K, process == 0 ? PtScale(mass) : Pt[process].Theta),
        1 => Densities.LogTruncatedExponential(value, CosRate[process], 0, 1),
        2 => Densities.LogBeta(value, Acoplanarity[process].A, Acoplanarity[process].B),
        3 => Densities.LogGamma(value, EExtra[process].K, EExtra[process].Theta),
        4 => process switch
        {
            0 => Densities.LogTruncatedNormal(value, mass * mass, Width(mass), VLow, VHigh),
            1 => Densities.LogTruncatedExponential(value, MumuRate, VLow, VHigh),
            2 => Densities.LogTruncatedNormal(value, TaupairMean, TaupairSigma, VLow, VHigh),
            3 => Densities.LogTruncatedExponential(value, EemumuRate, VLow, VHigh),
            _ => throw new ArgumentOutOfRangeException(nameof(process)),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(variable)),
    };

    /// <summary>Log density of process <paramref name="process"/> at features x and window value v (version 1).</summary>
    public static double LogDensity(int process, ReadOnlySpan<float> x, double v, double mass)
    {
        double sum = LogFactor(process, 4, v, mass);
        for (int j = 0; j < x.Length; j++) sum += LogFactor(process, j, x[j], mass);
        return sum;
    }

    /// <summary>
    /// log p_s(x, v | m) - log sum_b (sigma_b / sigma_B) p_b(x, v): the background is the
    /// cross-section-weighted mixture (normalised, so the score is a log-likelihood ratio; the
    /// constant log sigma_B does not change any ranking). +infinity where no background can sit.
    /// </summary>
    public double Score(EventSet events, int index, double mass)
    {
        var x = events.Row(index);
        double v = events.Window![index];
        double total = CrossSections.Sum();
        double max = double.NegativeInfinity;
        Span<double> terms = stackalloc double[CrossSections.Length];
        for (int b = 0; b < terms.Length; b++)
        {
            terms[b] = Math.Log(CrossSections[b] / total) + (Version == 2 ? V2.LogDensity(b + 1, x, v, mass) : LogDensity(b + 1, x, v, mass));
            max = Math.Max(max, terms[b]);
        }
        double signal = Version == 2 ? V2.LogDensity(0, x, v, mass) : LogDensity(0, x, v, mass);
        if (double.IsNegativeInfinity(max)) return double.IsNegativeInfinity(signal) ? double.NegativeInfinity : double.PositiveInfinity;
        double sum = 0;
        foreach (var t in terms) sum += Math.Exp(t - max);
        return signal - (max + Math.Log(sum));
    }

    /// <summary>
    /// Version 2 (docs/recoil-toy.md): v is drawn first, then pt and acoplanarity from densities whose
    /// parameters move with t = (v - VLow) / (VHigh - VLow) in [0, 1]; cos_miss and e_extra as in
    /// version 1. Each conditional density is normalised for every v, so p(x, v) = p(v) prod_j p(x_j | v)
    /// stays an exact product and the score an exact log-likelihood ratio.
    /// <list type="bullet">
    /// <item>pt ~ Gamma(k_p, theta_p(v)): signal theta = 0.45 + 0.06 sqrt(max(v, 0)) (the v1 mass dependence,
    /// written through the recoil mass the event has); mumu 0.3 + 0.6 t (ISR pt grows as the photon takes
    /// more energy); taupair 0.9 - 0.6 t; eemumu 0.15 + 0.4 t.</item>
    /// <item>acoplanarity ~ (1 - t) Beta(a1, b1) + t Beta(a2, b2): signal (2,3) to (3,2); mumu (1,5) to (2,3);
    /// taupair (3,2) to (1,3); eemumu (1,4) to (3,3).</item>
    /// </list>
    /// </summary>
    public static class V2
    {
        private static readonly (int K, double Theta0, double Slope)[] Pt = [(2, 0, 0), (1, 0.3, 0.6), (2, 0.9, -0.6), (1, 0.15, 0.4)];
        private static readonly ((int A, int B) Low, (int A, int B) High)[] Acoplanarity =
            [((2, 3), (3, 2)), ((1, 5), (2, 3)), ((3, 2), (1, 3)), ((1, 4), (3, 3))];

        /// <summary>Position of v on its support, in [0, 1].</summary>
        public static double T(double v) => Math.Clamp((v - VLow) / (VHigh - VLow), 0, 1);

        public static double PtTheta(int process, double v) =>
            process == 0 ? 0.45 + 0.06 * Math.Sqrt(Math.Max(v, 0)) : Pt[process].Theta0 + Pt[process].Slope * T(v);

        /// <summary>Log density of feature <paramref name="variable"/> (0..3) given v, or of v itself (4; as version 1).</summary>
        public static double LogFactor(int process, int variable, double value, double v, double mass) => variable switch
        {
            0 => Densities.LogGamma(value, Pt[process].K, PtTheta(process, v)),
            2 => LogMixture(value, Acoplanarity[process], T(v)),
            1 or 3 or 4 => RecoilToy.LogFactor(process, variable, value, mass),
            _ => throw new ArgumentOutOfRangeException(nameof(variable)),
        };

        private static double LogMixture(double x, ((int A, int B) Low, (int A, int B) High) shapes, double t)
        {
            double low = Densities.LogBeta(x, shapes.Low.A, shapes.Low.B), high = Densities.LogBeta(x, shapes.High.A, shapes.High.B);
            if (t <= 0) return low;
            if (t >= 1) return high;
            double a = Math.Log(1 - t) + low, b = Math.Log(t) + high, max = Math.Max(a, b);
            return double.IsNegativeInfinity(max) ? max : max + Math.Log(Math.Exp(a - max) + Math.Exp(b - max));
        }

        public static double LogDensity(int process, ReadOnlySpan<float> x, double v, double mass)
        {
            double sum = RecoilToy.LogFactor(process, 4, v, mass);
            for (int j = 0; j < x.Length; j++) sum += LogFactor(process, j, x[j], v, mass);
            return sum;
        }

        /// <summary>Draws v, then the features given v; returns v.</summary>
        public static double Sample(ref Rng rng, int p, double m, Span<double> x)
        {
            // v is rounded to float like the stored window value, so the density is evaluated where the event is.
            double v = (float)(p == 0 ? Densities.SampleTruncatedNormal(ref rng, m * m, Width(m), VLow, VHigh) : SampleV(ref rng, p));
            double t = T(v);
            x[0] = Densities.SampleGamma(ref rng, Pt[p].K, PtTheta(p, v));
            x[1] = Densities.SampleTruncatedExponential(ref rng, CosRate[p], 0, 1);
            var (low, high) = Acoplanarity[p];
            var shape = rng.Uniform() < t ? high : low;
            x[2] = Densities.SampleBeta(ref rng, shape.A, shape.B);
            x[3] = Densities.SampleGamma(ref rng, EExtra[p].K, EExtra[p].Theta);
            return v;
        }
    }
}
