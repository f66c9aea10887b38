using System.Text.Json.Nodes;
using Studies.Trials.Components;

namespace Studies.Trials.Data;

/// <summary>
/// The parametric-NN toy of Baldi et al. (methods.md section 7): one feature; signal of mass theta
/// is N(theta, width) with width the standard deviation (0.25: "width" in the paper reads as the
/// Gaussian's sigma, the usual meaning of a Gaussian's width); background uniform on [lo, hi].
/// No cross-sections: every weight is 1.
/// </summary>
public sealed class GaussianToy : IDataSource, IBayesOptimal
{
    public static readonly double[] DefaultMasses = [-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2];

    public static readonly DataSourceEntry Entry = new("gaussian-toy", "The parametric-NN toy of Baldi et al.: one feature, Gaussian signal, uniform background.",
        [
            new OptionSpec("masses", OptionType.Masses, "Signal masses.") { Default = "-2, -1.5, ..., 2" },
            OptionSpec.Count("events_per_mass", "Signal events per mass.", "50000"),
            OptionSpec.Count("background_events", "Background events.", "events_per_mass x masses"),
            OptionSpec.Positive("width", "Standard deviation of the signal peak.", "0.25"),
            new OptionSpec("background_range", OptionType.List, "Background support [low, high].") { Default = "[-4, 4]" },
            new OptionSpec("seed", OptionType.Integer, "Generation seed, to keep one data set across trial seeds.") { Min = 1, Default = "the trial's seed" },
            DataSources.ValidationScaleOption,
        ],
        new GaussianToy())
    {
        Size = o =>
        {
            var signal = DataSize.Number(o["events_per_mass"], 50_000) * DataSize.MassCount(o, DefaultMasses.Length);
            return new DataSize(signal + DataSize.Number(o["background_events"], signal), 1);
        },
    };

    private static readonly string[] OptionNames = Entry.Options.Select(o => o.Key).ToArray();

    public string Name => "gaussian-toy";

    public double Width { get; init; } = 0.25;
    public double Low { get; init; } = -4;
    public double High { get; init; } = 4;

    public GaussianToy() { }

    private static (GaussianToy Model, DataOptions Options) Parse(JsonObject options)
    {
        var o = new DataOptions("gaussian-toy", options, OptionNames);
        var range = o.DoubleList("background_range") ?? [-4, 4];
        if (range.Length != 2 || !(range[1] > range[0])) throw o.Error("background_range", "must be [low, high] with low < high");
        return (new GaussianToy { Width = o.PositiveDouble("width", 0.25), Low = range[0], High = range[1] }, o);
    }

    public IBayesOptimal BayesOptimal(JsonObject options) => Parse(options).Model;

    public EventSet Load(JsonObject options, ulong seed) => Load(options, seed, 1);

    public EventSet Load(JsonObject options, ulong seed, double countScale)
    {
        var (model, o) = Parse(options);
        var masses = o.Masses("masses") ?? DefaultMasses;
        int perMass = o.PositiveInt("events_per_mass", 50_000);
        // Baldi et al. draw one background sample per theta; background has no mass of its own, so
        // one pooled sample of the same total size is equivalent.
        int background = o.PositiveInt("background_events", perMass * masses.Length);
        return model.Generate(masses, DataSources.Scaled(perMass, countScale), DataSources.Scaled(background, countScale), DataSources.GenerationSeed(o, seed));
    }

    public EventSet Generate(double[] masses, int perMass, int background, ulong seed) =>
        ResonanceToy.Generate("gaussian-toy", ["x"], masses, perMass, background, seed,
            (ref Rng rng, double m, Span<float> f) => f[0] = (float)(m + Width * rng.Normal()),
            (ref Rng rng, Span<float> f) => f[0] = (float)(Low + (High - Low) * rng.Uniform()));

    /// <summary>log[N(x; theta, width) / U(x; lo, hi)]; +infinity outside the background's support.</summary>
    public double Score(EventSet events, int index, double mass) => LogLikelihoodRatio(events.Features[index], mass);

    public double LogLikelihoodRatio(double x, double theta)
    {
        if (x < Low || x > High) return double.PositiveInfinity;
        double z = (x - theta) / Width;
        return -0.5 * z * z - Math.Log(Width * Math.Sqrt(2 * Math.PI)) + Math.Log(High - Low);
    }
}
