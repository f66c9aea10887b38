using System.Text.Json.Nodes;
using Studies.Trials.Catalog;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Studies;

/// <summary>
/// A validated study file: what data, the base trial every trial starts from, how trials vary
/// (matrix, exclusions, random search), and how the orchestrator runs and reports them.
/// Built only by <see cref="StudyLoader"/>; <see cref="StudyExpander.Expand"/> turns it into trials.
/// </summary>
public sealed record Study
{
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    /// <summary>Full path of the study file, or the name given to <see cref="StudyLoader.Parse"/>.</summary>
    public required string SourcePath { get; init; }
    /// <summary>The folder relative paths of the file (data, <c>store:</c>) resolve against: the file's own, or a queued copy's origin.</summary>
    public string? BaseDirectory { get; init; }
    /// <summary>First 16 hex digits of SHA-256 of the file's text (<see cref="TrialIdentity.DefinitionHash"/>).</summary>
    public required string DefinitionHash { get; init; }
    public required DataSection Data { get; init; }
    /// <summary>The base trial, before any matrix value or search sample is applied.</summary>
    public required TrialSpec Base { get; init; }
    /// <summary>In the order written; the first axis varies slowest in the trial list.</summary>
    public required IReadOnlyList<MatrixAxis> Matrix { get; init; }
    public required IReadOnlyList<ExcludeRule> Exclude { get; init; }
    public SearchSection? Search { get; init; }
    public required ResourcesSection Resources { get; init; }
    public required RetriesSection Retries { get; init; }
    public required ReportSection Report { get; init; }
    /// <summary>The <c>store:</c> key as written (e.g. <c>postgresql://...</c>), or null for the workspace's database.</summary>
    public string? Store { get; init; }
    /// <summary>The <c>checkpoints:</c> folder (absolute), where trial folders go instead of the workspace; on a cluster, a shared path.</summary>
    public string? Checkpoints { get; init; }
    /// <summary>The components the study was validated against (built-in, or a catalog with added ones); data checks and the dry run use the same.</summary>
    public ComponentCatalog Components { get; init; } = ComponentCatalog.BuiltIn;

    /// <summary>Where to say that the study ended, failed or had a trial diverge (<c>notify:</c>); null: nowhere. Not part of any trial.</summary>
    public NotifySettings? Notify { get; init; }
    /// <summary>The study file's text, as recorded with the study.</summary>
    public string Text { get; init; } = "";

    /// <summary>
    /// Where each key of the data section is (and "" for the section itself): held-out masses and some options are checked
    /// against a file only when it is read, and those problems point here.
    /// </summary>
    internal IReadOnlyDictionary<string, SourcePosition> DataPositions { get; init; } = new Dictionary<string, SourcePosition>();

    /// <summary>The expansion computed during validation; <see cref="StudyExpander.Expand"/> returns it (for an adaptive search: its first proposal's shape).</summary>
    internal IReadOnlyList<PlannedTrial> Trials { get; init; } = [];

    /// <summary>The trials of one proposed point of an adaptive search (<see cref="StudyExpander.ForPoint"/>); null otherwise.</summary>
    internal Func<IReadOnlyDictionary<string, double>, IReadOnlyList<PlannedTrial>>? ExpandPoint { get; init; }
}

/// <summary>The data definition shared by the trials (matrix axes under <c>data.</c> may still vary it per trial).</summary>
public sealed record DataSection(DataSpec Spec, IReadOnlyList<double>? MassGrid)
{
    /// <summary><see cref="TrialIdentity.DataHash"/> of <see cref="Spec"/>: a resume refuses a changed one unless forced.</summary>
    public string Hash => TrialIdentity.DataHash(Spec);
}

/// <summary>One matrix axis: a path and its alternatives, either plain values or named sub-trees (variants).</summary>
public sealed record MatrixAxis(TreePath Path, bool IsVariants, IReadOnlyList<AxisValue> Values)
{
    internal SourcePosition Position { get; init; }
}

/// <summary>One alternative of an axis: its display text (variant name or the value as written) and value.</summary>
public sealed record AxisValue(string Display, JsonNode? Value)
{
    internal YNode Node { get; init; } = null!;
}

/// <summary>Drops every combination whose axes all match: axis path -> the excluded display values (any of them).</summary>
public sealed record ExcludeRule(IReadOnlyDictionary<string, IReadOnlyList<string>> Match)
{
    /// <summary>Axis index -> value indices, resolved by the reader.</summary>
    internal IReadOnlyDictionary<int, IReadOnlySet<int>> Resolved { get; init; } = new Dictionary<int, IReadOnlySet<int>>();
}

public enum SearchDistribution { LogUniform, Uniform, Int, Choice }

/// <summary>
/// A search: <see cref="Samples"/> points, each applied to every matrix combination (e.g. every seed). With the
/// <c>random</c> sampler the points are drawn when the study is loaded; an adaptive sampler proposes them during the run
/// from the results so far. A pruner may stop trials after a validation epoch; the objectives are validation metrics
/// at the trained masses (the first is what samplers optimise; two make pruning keep the Pareto front).
/// </summary>
public sealed record SearchSection(int Samples, ulong Seed, IReadOnlyList<SearchParameter> Space)
{
    public string Sampler { get; init; } = global::Studies.Orchestrator.Search.Components.SearchComponents.RandomSampler;
    public System.Text.Json.Nodes.JsonObject SamplerOptions { get; init; } = [];
    public global::Studies.Orchestrator.Search.Components.PrunerChoice Pruner { get; init; } = global::Studies.Orchestrator.Search.Components.PrunerChoice.None;
    public IReadOnlyList<global::Studies.Orchestrator.Search.Components.SearchObjective> Objectives { get; init; } = [];
    /// <summary>Proposals are made during the run (the sampler learns from results), not when the study is loaded.</summary>
    public bool Adaptive => global::Studies.Orchestrator.Search.Components.SearchComponents.Samplers.Get(Sampler).Adaptive;
    public bool Prunes => Pruner.Name != global::Studies.Orchestrator.Search.Components.SearchComponents.NoPruner;
    internal SourcePosition Position { get; init; }
}

/// <summary>A search parameter exists only when the earlier choice parameter <see cref="Parameter"/> took one of <see cref="Choices"/> (indices).</summary>
public sealed record SearchCondition(string Parameter, IReadOnlyList<int> Choices);

/// <summary>One searched setting: its path and distribution (bounds for the numeric ones, values for <c>choice</c>).</summary>
public sealed record SearchParameter(TreePath Path, SearchDistribution Distribution, double Low, double High, IReadOnlyList<AxisValue> Choices)
{
    /// <summary>Null: always present.</summary>
    public SearchCondition? When { get; init; }
    internal SourcePosition Position { get; init; }
    /// <summary>Values tried in the base before sampling (bounds, every choice), so a bad one is reported even if never drawn.</summary>
    internal IReadOnlyList<YNode> Probes { get; init; } = [];
}

/// <summary>
/// Where trials run. <see cref="Devices"/>: CUDA device indices for trials with <c>device: cuda</c>,
/// null for all visible ones (<c>auto</c>). <see cref="CpuWorkers"/>: concurrent CPU trials, null
/// for cores / threads per trial (<c>auto</c>).
/// </summary>
public sealed record ResourcesSection(IReadOnlyList<int>? Devices = null, int TrialsPerDevice = 1, int ThreadsPerTrial = 1, int? CpuWorkers = null,
    string Executor = ExecutorKinds.LocalName, bool Oversubscribe = false)
{
    /// <summary>What a cluster executor asks its scheduler for (<c>executor: slurm</c> only).</summary>
    public ClusterRequest Cluster { get; init; } = new();

    /// <summary><c>fuse</c>: whether trials that can share a training step run as fused packs (<see cref="FuseSetting.Off"/> by default).</summary>
    public FuseSetting Fuse { get; init; } = FuseSetting.Off;
}

/// <summary>
/// <c>resources.fuse</c>: trials with the same <c>FusionKey</c> (model architecture, data, batch schedule, epochs per
/// phase) train as one stacked model per worker slot, in packs of up to <see cref="Members"/> trials; null members:
/// <c>auto</c> (the pack size is chosen per device and study). A resource choice, never part of a trial's identity.
/// </summary>
public sealed record FuseSetting(int? Members)
{
    /// <summary>One trial per worker message, as always: the default (see docs/study-format.md, <c>resources.fuse</c>).</summary>
    public static readonly FuseSetting Off = new(1);
    public static readonly FuseSetting Auto = new((int?)null);

    public bool Enabled => Members is null or > 1;

    public override string ToString() => Members switch { null => "auto", 1 => "off", var k => k.Value.ToString(System.Globalization.CultureInfo.InvariantCulture) };
}

/// <summary>
/// One job array of workers: <see cref="ArrayParallel"/> tasks (null: up to 8, never more than trials), each with the
/// <see cref="Gres"/> (e.g. <c>gpu:1</c>), <see cref="Time"/> limit and <see cref="Partition"/>; <see cref="SbatchArgs"/>
/// are passed to sbatch as written (an account, a QOS, constraints).
/// </summary>
public sealed record ClusterRequest(string? Partition = null, string? Gres = null, string? Time = null, int? ArrayParallel = null,
    IReadOnlyList<string>? SbatchArgs = null);

/// <summary>A failed trial is retried up to <see cref="Max"/> times, waiting <c>BackoffSeconds * 2^(attempt-1)</c> before each.</summary>
public sealed record RetriesSection(int Max = 1, double BackoffSeconds = 10);

/// <summary>Which axes the report compares (rows/groups) and the metric it leads with.</summary>
public sealed record ReportSection(IReadOnlyList<string> Compare, string Headline);

/// <summary>One trial of a study: its identity, full spec, and the axis values that produced it (display text).</summary>
public sealed record PlannedTrial(string TrialId, TrialSpec Spec, IReadOnlyDictionary<string, string> Axes);
