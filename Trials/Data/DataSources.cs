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

/// <summary>The built-in data sources (<see cref="ComponentCatalog"/>), and the one call that turns a <see cref="DataSpec"/> into splits.</summary>
public static class DataSources
{
    public static IReadOnlyList<string> Names => ComponentCatalog.BuiltIn.DataSources.Names;

    public static IDataSource Get(string name) => Get(ComponentCatalog.BuiltIn.DataSources, name);

    public static IDataSource Get(Registry<DataSourceEntry> sources, string name) =>
        sources.TryGet(name, out var entry)
            ? entry.Source
            : throw new DataException($"unknown data source '{name}' (known: {string.Join(", ", sources.Names)})");

    public static EventSet Load(DataSpec spec, ulong seed) => Get(spec.Source).Load(spec.Options, seed);

    public static IBayesOptimal? BayesOptimal(DataSpec spec) => Get(spec.Source).BayesOptimal(spec.Options);

    /// <summary>Load, resolve the held-out masses and split (methods.md section 1).</summary>
    public static DataSplits Prepare(DataSpec spec, ulong seed) => Splitter.Split(Load(spec, seed), spec.Split, spec.Holdout, seed);

    /// <summary>The generation seed: the <c>seed</c> option when given, else the trial's.</summary>
    internal static ulong GenerationSeed(DataOptions options, ulong seed) =>
        options.OptionalPositiveLong("seed") is { } s ? (ulong)s : seed;
}
