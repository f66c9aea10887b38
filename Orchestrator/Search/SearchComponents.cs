using System.Text.Json.Nodes;
using Studies.Orchestrator.Search.Pruners;
using Studies.Orchestrator.Search.Samplers;
using Studies.Trials.Components;

namespace Studies.Orchestrator.Search;

/// <summary>
/// A sampler a study's <c>search.sampler</c> may name. <see cref="Adaptive"/>: proposes during the run from the
/// results so far (recorded in the store before each proposal runs); otherwise every point is drawn when the study is
/// loaded (<c>random</c>, whose trials and ids are those of every release before samplers could be chosen).
/// </summary>
public sealed record SamplerEntry(string Name, string Doc, IReadOnlyList<OptionSpec> Options, bool Adaptive, Func<JsonObject, ISampler?> Create)
    : IComponentEntry;

/// <summary>What a pruner is built from: its options as written, and the most epochs any trial of the study trains.</summary>
public sealed record PrunerContext(JsonObject Options, int MaxEpochs)
{
    public int Int(string key, int fallback) => Options[key] is JsonValue v ? (int)AsNumber(v) : fallback;

    public double Number(string key, double fallback) => Options[key] is JsonValue v ? AsNumber(v) : fallback;

    /// <summary>An option's number, whichever CLR type the reader stored it as (whole numbers are longs).</summary>
    internal static double AsNumber(JsonValue v) =>
        v.TryGetValue<long>(out var l) ? l : v.TryGetValue<int>(out var i) ? i : v.GetValue<double>();
}

/// <summary>
/// A pruner a study's <c>search.pruner</c> may name. <see cref="CreateTwoObjective"/> is set for the pruners that can
/// judge two objectives at once (by Pareto front); the others refuse a study with two objectives when it is loaded.
/// </summary>
public sealed record PrunerEntry(string Name, string Doc, IReadOnlyList<OptionSpec> Options, Func<PrunerContext, IPruner> Create,
    Func<PrunerContext, ParetoSuccessiveHalvingPruner>? CreateTwoObjective = null) : IComponentEntry;

/// <summary>The samplers and pruners of <c>search:</c>; names written once here, docs tables generated from them.</summary>
public static class SearchComponents
{
    public const string RandomSampler = "random";
    public const string NoPruner = "none";

    private static readonly OptionSpec StartupTrials =
        OptionSpec.Count("startup_trials", "proposals drawn at random before the model takes over", "10");

    public static Registry<SamplerEntry> Samplers { get; } = new("sampler",
    [
        new(RandomSampler, "points drawn uniformly when the study is loaded (a hash of seed, sample and path), applied to every matrix combination",
            [], Adaptive: false, _ => null),
        new("tpe", "tree-structured Parzen estimator (Optuna's TPESampler defaults), with a constant liar for trials still running",
            [StartupTrials, new OptionSpec("multivariate", OptionType.Boolean, "one joint model of the unconditional parameters instead of one per parameter") { Default = "false" }],
            Adaptive: true, o => new TpeSampler(new TpeOptions(
                StartupTrials: o["startup_trials"] is JsonValue s ? (int)PrunerContext.AsNumber(s) : 10,
                Multivariate: o["multivariate"] is JsonValue m && m.GetValue<bool>(),
                ConstantLiar: true))),
        new("gp", "Gaussian-process regression (Matérn 5/2) with expected improvement over 1,024 random candidates",
            [StartupTrials], Adaptive: true, o => new GpSampler(o["startup_trials"] is JsonValue s ? (int)PrunerContext.AsNumber(s) : 10)),
    ]);

    private static readonly OptionSpec MinEpochs = OptionSpec.Count("min_epochs", "epoch of the first rung (ASHA's minimum resource)", "1");
    private static readonly OptionSpec Reduction = new("reduction", OptionType.Integer, "reduction factor: the best 1/reduction of the trials at a rung go on")
        { Default = "3", Min = 2, Max = 100 };
    private static readonly OptionSpec PruneStartup = new("startup_trials", OptionType.Integer, "finished trials needed before anything is pruned")
        { Default = "5", Min = 0, Max = int.MaxValue };
    private static readonly OptionSpec Warmup = new("warmup_epochs", OptionType.Integer, "epochs before a trial can be pruned") { Default = "0", Min = 0, Max = int.MaxValue };

    public static Registry<PrunerEntry> Pruners { get; } = new("pruner",
    [
        new(NoPruner, "every trial runs to its end", [], _ => new Pruners.NoPruner()),
        new("median", "stops a trial whose best value so far is worse than the median of the finished trials at the same epoch",
            [PruneStartup, Warmup], c => PercentilePruner.Median(c.Int("startup_trials", 5), c.Int("warmup_epochs", 0))),
        new("percentile", "as median, at another percentile (lower prunes more)",
            [new OptionSpec("percentile", OptionType.Number, "the percentile (0-100) a trial must beat") { Default = "25", Min = 0, Max = 100 }, PruneStartup, Warmup],
            c => new PercentilePruner(c.Number("percentile", 25), c.Int("startup_trials", 5), c.Int("warmup_epochs", 0))),
        new("asha", "asynchronous successive halving: at epochs min_epochs x reduction^k a trial goes on only among the best 1/reduction there; "
                + "with two objectives, by Pareto front",
            [MinEpochs, Reduction], c => new SuccessiveHalvingPruner(c.Int("min_epochs", 1), c.Int("reduction", 3)),
            c => new ParetoSuccessiveHalvingPruner(c.Int("min_epochs", 1), c.Int("reduction", 3))),
        new("hyperband", "several ASHA brackets, from aggressive to none, each trial in one by a hash of its number",
            [MinEpochs, Reduction], c => new HyperbandPruner(c.Int("min_epochs", 1), Math.Max(c.Int("min_epochs", 1), c.MaxEpochs), c.Int("reduction", 3))),
    ]);
}

/// <summary>What a search optimises: a validation metric at the trained masses, and whether larger is better.</summary>
public sealed record SearchObjective(string Metric, bool Maximize)
{
    /// <summary>The value as samplers and pruners see it (they minimise).</summary>
    public double Minimised(double value) => Maximize ? -value : value;
}

/// <summary>The pruner a study names and its options as written (already checked against the entry).</summary>
public sealed record PrunerChoice(string Name, JsonObject Options)
{
    public static PrunerChoice None { get; } = new(SearchComponents.NoPruner, []);
}
