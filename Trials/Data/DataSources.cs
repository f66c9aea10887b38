using System.Text.Json.Nodes;
using Studies.Trials.Components;
using Studies.Trials.Specs;

namespace Studies.Trials.Data;

/// <summary>Where events come from: a generator or a file loader, named as in <see cref="DataSpec.Source"/>.</summary>
public interface IDataSource
{
    string Name { get; }

    /// <summary>
    /// All events of the source. <paramref name="seed"/> drives generators (the option <c>seed</c>
    /// overrides it, to keep one data set across trial seeds); loaders ignore it.
    /// </summary>
    EventSet Load(JsonObject options, ulong seed);

    /// <summary>
    /// The events with every generated count multiplied by <paramref name="countScale"/> (how
    /// <c>validation_scale</c> is carried out, <see cref="DataSources.Load(IDataSource, DataSpec, ulong)"/>);
    /// only generators support a scale other than 1.
    /// </summary>
    EventSet Load(JsonObject options, ulong seed, double countScale) => countScale == 1
        ? Load(options, seed)
        : throw new DataException($"data source '{Name}': option 'validation_scale' is only for generated data sources");

    /// <summary>The Bayes-optimal scorer for these options, or null when the densities are unknown (files).</summary>
    IBayesOptimal? BayesOptimal(JsonObject options);
}

/// <summary>
/// The Bayes-optimal selection of a data set with known densities (methods.md sections 6 and 7):
/// a score that is a strictly increasing function of the likelihood ratio
/// <c>p_s(x, v | m) / p_b(x, v)</c>, the background being the mixture of its processes weighted by
/// cross-section. Feeding it to the metric code in place of a network output gives the physical
/// limit of every metric. Scores are log-likelihood ratios (+infinity where the background density
/// is zero), finite elsewhere.
/// </summary>
public interface IBayesOptimal
{
    /// <summary>Score of event <paramref name="index"/> of <paramref name="events"/> under mass hypothesis <paramref name="mass"/>.</summary>
    double Score(EventSet events, int index, double mass);

    /// <summary>Scores of all events under one hypothesis.</summary>
    double[] Scores(EventSet events, double mass)
    {
        var scores = new double[events.Count];
        for (int i = 0; i < scores.Length; i++) scores[i] = Score(events, i, mass);
        return scores;
    }
}

/// <summary>The built-in data sources, and the one call that turns a <see cref="DataSpec"/> into splits.</summary>
public static class DataSources
{
    /// <summary>
    /// The built-in sources, in the order the docs list them. The component catalog (<c>Trials/Catalog</c>) takes this
    /// registry as its data sources; it is here, next to the sources, so that Data does not depend on the catalog above it.
    /// </summary>
    public static Registry<DataSourceEntry> BuiltIn => builtIn.Value;

    // Built on first use, not by this class's initialiser: the sources' entries read this class's options
    // (ValidationScaleOption), which would still be null while the initialiser builds the list.
    private static readonly Lazy<Registry<DataSourceEntry>> builtIn = new(() => new("data source",
    [
        GaussianToy.Entry,
        LovaszToy.Entry,
        RecoilToy.Entry,
        HepmassToy.Entry,
        HepmassSource.Entry,
        CsvSource.Entry,
        NpzSource.Entry,
        FeatherSource.Entry,
        ParquetSource.Entry,
    ]));

    public static IReadOnlyList<string> Names => BuiltIn.Names;

    public static IDataSource Get(string name) => Get(BuiltIn, name);

    public static IDataSource Get(Registry<DataSourceEntry> sources, string name) =>
        sources.TryGet(name, out var entry)
            ? entry.Source
            : throw new DataException($"unknown data source '{name}' (known: {string.Join(", ", sources.Names)})");

    public static EventSet Load(DataSpec spec, ulong seed) => Load(Get(spec.Source), spec, seed);

    /// <summary>The events of <paramref name="spec"/>, generated <see cref="CountScale"/> times as many when it asks for a <c>validation_scale</c>.</summary>
    public static EventSet Load(IDataSource source, DataSpec spec, ulong seed)
    {
        var scale = CountScale(spec);
        var events = source.Load(spec.Options, seed, scale);
        // Unweighted generators (no luminosity: every event weighs 1, the yield is the event count)
        // stand for the same expected yields with more events, so their weights become 1 / scale;
        // weighted ones (sigma L / N) already divide by the generated count.
        if (scale != 1 && events.Luminosity is null)
            for (var i = 0; i < events.Count; i++) events.Weight[i] /= scale;
        return events;
    }

    public static IBayesOptimal? BayesOptimal(DataSpec spec) => Get(spec.Source).BayesOptimal(spec.Options);

    /// <summary>Load, resolve the held-out masses and split (methods.md section 1).</summary>
    public static DataSplits Prepare(DataSpec spec, ulong seed) => Splitter.Split(Load(spec, seed), EffectiveSplit(spec), spec.Holdout, seed);

    /// <summary>
    /// <c>validation_scale</c> k of the generators: validation and test hold k times the events the
    /// split gives them while training keeps its size (evaluation is forward-only, so large honest
    /// splits are cheap, and a validation-chosen cut stops resting on a handful of events). The
    /// generator makes <c>train + k (validation + test)</c> times its events (<see cref="CountScale"/>)
    /// and the split fractions become <c>train / that</c>, <c>k validation / that</c>, <c>k test / that</c>
    /// (<see cref="EffectiveSplit"/>); split weights renormalise each split to the full yield as always.
    /// </summary>
    public static readonly OptionSpec ValidationScaleOption = new("validation_scale", OptionType.Number,
        "Validation and test events are this many times what the split gives them, the training events as many as without it (the generator makes train + k (validation + test) times its events).")
        { Min = 1, Default = "1" };

    public static double ValidationScale(DataSpec spec)
    {
        if (spec.Options[ValidationScaleOption.Key] is not { } node) return 1;
        var k = new DataOptions(spec.Source, new JsonObject { [ValidationScaleOption.Key] = node.DeepClone() }, [ValidationScaleOption.Key])
            .Double(ValidationScaleOption.Key, 1);
        return k >= 1 && double.IsFinite(k) ? k
            : throw new DataException($"data source '{spec.Source}': option 'validation_scale' must be a number >= 1, got {node.ToJsonString()}");
    }

    public static double CountScale(DataSpec spec)
    {
        var k = ValidationScale(spec);
        return k == 1 ? 1 : spec.Split.Train + k * (spec.Split.Validation + spec.Split.Test);
    }

    public static SplitSpec EffectiveSplit(DataSpec spec)
    {
        var k = ValidationScale(spec);
        if (k == 1) return spec.Split;
        var total = CountScale(spec);
        return new SplitSpec(spec.Split.Train / total, k * spec.Split.Validation / total, k * spec.Split.Test / total);
    }

    /// <summary>A generated count times the count scale (at least 1).</summary>
    internal static int Scaled(int count, double countScale) =>
        countScale == 1 ? count : (int)Math.Min(int.MaxValue, Math.Max(1, Math.Round(count * countScale)));

    /// <summary>The generation seed: the <c>seed</c> option when given, else the trial's.</summary>
    internal static ulong GenerationSeed(DataOptions options, ulong seed) =>
        options.OptionalPositiveLong("seed") is { } s ? (ulong)s : seed;
}
