using System.Text.Json.Nodes;
using Studies.Trials.Components;

namespace Studies.Trials.Data;

/// <summary>
/// The Lovász-Z toy of Bardhan et al. (methods.md section 7): two features, three 2-D Gaussian
/// processes. The paper gives the means and cross-sections but not the covariances. The shapes are
/// ours (correlation +0.3 for the signal, 0 for both backgrounds), all with one common standard
/// deviation: 1.23 by default (<c>covariances: paper</c>), chosen so that the paper's case 1 gives
/// the Bayes-optimal selection Z = s/sqrt(b) = 4.5 at signal efficiency 0.5, the paper's working
/// point (derivation in docs/replications.md); <c>covariances: unit</c> is the earlier unit-variance
/// toy (Bayes Z ~16, far above the paper's). The toy has no mass:
/// it is given a single mass hypothesis 0 so the per-mass machinery (metrics per mass, GeneratedPerMass)
/// applies unchanged; a parametric net then sees a constant mass input.
/// </summary>
public sealed class LovaszToy : IDataSource, IBayesOptimal
{
    public static readonly string[] Processes = ["signal", "bkg1", "bkg2"];

    public static readonly DataSourceEntry Entry = new("lovasz-toy", "The Lovász-Z toy of Bardhan et al.: two features, one signal and two background processes, no mass.",
        [
            new OptionSpec("case", OptionType.Integer, "Cross-section case of the paper (1 or 2).") { Min = 1, Max = 2, Default = "1" },
            new OptionSpec("xsec", OptionType.NumberOrMapping, "Cross-sections (fb).") { Fields = ProcessFields("Cross-section (fb)."), Default = "by case" },
            OptionSpec.Positive("luminosity", "Integrated luminosity (fb^-1).", "3000"),
            new OptionSpec("events_per_process", OptionType.NumberOrMapping, "Events generated per process.") { Fields = ProcessFields("Events."), Default = "50000" },
            new OptionSpec("seed", OptionType.Integer, "Generation seed, to keep one data set across trial seeds.") { Min = 1, Default = "the trial's seed" },
            DataSources.ValidationScaleOption,
            OptionSpec.Choice("covariances", ["paper", "unit"],
                "Process covariances: `paper` (common standard deviation 1.23, so case 1 gives the paper's Z = 4.5 at signal efficiency 0.5) or `unit` (unit variances).",
                "paper"),
        ],
        new LovaszToy())
    {
        Size = o => new DataSize(DataSize.Total(o["events_per_process"], 50_000, 3), 2),
    };

    private static OptionSpec[] ProcessFields(string doc) => Processes.Select(p => OptionSpec.Positive(p, doc)).ToArray();

    private static readonly string[] OptionNames = Entry.Options.Select(o => o.Key).ToArray();

    /// <summary>Process means (x1, x2), in <see cref="Processes"/> order.</summary>
    public static readonly (double X1, double X2)[] Means = [(4, 7), (2, 5), (2, 10)];

    /// <summary>The common standard deviation of <c>covariances: paper</c> (Z = 4.5 at signal efficiency 0.5, case 1).</summary>
    public const double PaperSigma = 1.23;

    /// <summary>Unit-variance covariances (s11, s12, s22) in <see cref="Processes"/> order, scaled by sigma^2.</summary>
    public static (double S11, double S12, double S22)[] ScaledCovariances(double sigma)
    {
        var v = sigma * sigma;
        return [(v, 0.3 * v, v), (v, 0, v), (v, 0, v)];
    }

    /// <summary>Process covariances (s11, s12, s22), in <see cref="Processes"/> order.</summary>
    public (double S11, double S12, double S22)[] Covariances { get; init; } = ScaledCovariances(PaperSigma);

    public string Name => "lovasz-toy";

    /// <summary>Cross-sections in fb, in <see cref="Processes"/> order.</summary>
    public double[] CrossSections { get; init; } = [0.1, 1, 100];

    public double Luminosity { get; init; } = 3000;

    private static (LovaszToy Model, DataOptions Options) Parse(JsonObject options)
    {
        var o = new DataOptions("lovasz-toy", options, OptionNames);
        int toyCase = o.PositiveInt("case", 1);
        double[] defaults = toyCase switch
        {
            1 => [0.1, 1, 100],
            2 => [0.1, 100, 1],
            _ => throw o.Error("case", $"must be 1 or 2, got {toyCase}"),
        };
        var xsec = o.PerKey("xsec", Processes, defaults);
        for (int k = 0; k < xsec.Length; k++)
            if (!(xsec[k] > 0)) throw o.Error("xsec", $"of '{Processes[k]}' must be positive, got {xsec[k]}");
        var covariances = o.String("covariances", "paper") switch
        {
            "paper" => ScaledCovariances(PaperSigma),
            "unit" => ScaledCovariances(1),
            var other => throw o.Error("covariances", $"must be paper or unit, got '{other}'"),
        };
        return (new LovaszToy { CrossSections = xsec, Luminosity = o.PositiveDouble("luminosity", 3000), Covariances = covariances }, o);
    }

    public IBayesOptimal BayesOptimal(JsonObject options) => Parse(options).Model;

    public EventSet Load(JsonObject options, ulong seed) => Load(options, seed, 1);

    public EventSet Load(JsonObject options, ulong seed, double countScale)
    {
        var (model, o) = Parse(options);
        var counts = o.PerKey("events_per_process", Processes, [50_000, 50_000, 50_000]);
        for (int k = 0; k < counts.Length; k++)
            if (!(counts[k] >= 1) || counts[k] != Math.Floor(counts[k]) || counts[k] > int.MaxValue)
                throw o.Error("events_per_process", $"of '{Processes[k]}' must be a positive integer, got {counts[k]}");
        return model.Generate(counts.Select(c => DataSources.Scaled((int)c, countScale)).ToArray(), DataSources.GenerationSeed(o, seed));
    }

    public EventSet Generate(int[] counts, ulong seed)
    {
        int n = counts.Sum();
        var features = new float[2 * n];
        var label = new byte[n];
        var mass = new double[n];
        var massIndex = new int[n];
        var process = new int[n];
        var weight = new double[n];
        int i = 0;
        for (int p = 0; p < Processes.Length; p++)
        {
            var rng = new Rng(seed, Rng.Label("lovasz-toy"), (ulong)p);
            var (a, b, c) = Cholesky(Covariances[p]);
            double w = CrossSections[p] * Luminosity / counts[p];
            for (int e = 0; e < counts[p]; e++, i++)
            {
                double z1 = rng.Normal(), z2 = rng.Normal();
                features[2 * i] = (float)(Means[p].X1 + a * z1);
                features[2 * i + 1] = (float)(Means[p].X2 + b * z1 + c * z2);
                label[i] = p == 0 ? (byte)1 : (byte)0;
                mass[i] = p == 0 ? 0.0 : double.NaN;
                massIndex[i] = p == 0 ? 0 : -1;
                process[i] = p;
                weight[i] = w;
            }
        }
        var set = new EventSet
        {
            Count = n, FeatureNames = ["x1", "x2"], Features = features, Label = label, Mass = mass, MassIndex = massIndex,
            Process = process, ProcessNames = Processes, Weight = weight, Masses = [0.0], GeneratedSignal = [counts[0]],
            CrossSections = Processes.Select((name, q) => (name, CrossSections[q])).ToDictionary(), Luminosity = Luminosity,
        };
        set.Validate();
        return set;
    }

    private static (double A, double B, double C) Cholesky((double S11, double S12, double S22) s)
    {
        double a = Math.Sqrt(s.S11), b = s.S12 / a;
        return (a, b, Math.Sqrt(s.S22 - b * b));
    }

    /// <summary>Log density of process <paramref name="p"/> at (x1, x2).</summary>
    public double LogDensity(int p, double x1, double x2)
    {
        var (s11, s12, s22) = Covariances[p];
        double det = s11 * s22 - s12 * s12;
        double d1 = x1 - Means[p].X1, d2 = x2 - Means[p].X2;
        double q = (s22 * d1 * d1 - 2 * s12 * d1 * d2 + s11 * d2 * d2) / det;
        return -0.5 * q - Math.Log(2 * Math.PI) - 0.5 * Math.Log(det);
    }

    /// <summary>log p_s - log sum_k (sigma_k / sigma_B) p_k, computed stably in log space. The mass is ignored (one hypothesis).</summary>
    public double Score(EventSet events, int index, double mass)
    {
        double x1 = events.Features[2 * index], x2 = events.Features[2 * index + 1];
        double total = CrossSections[1] + CrossSections[2];
        double l1 = Math.Log(CrossSections[1] / total) + LogDensity(1, x1, x2);
        double l2 = Math.Log(CrossSections[2] / total) + LogDensity(2, x1, x2);
        double max = Math.Max(l1, l2);
        return LogDensity(0, x1, x2) - (max + Math.Log(Math.Exp(l1 - max) + Math.Exp(l2 - max)));
    }
}
