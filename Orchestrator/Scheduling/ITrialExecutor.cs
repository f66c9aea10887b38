using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Studies;

namespace Studies.Orchestrator.Scheduling;

/// <summary>
/// Where and how a study's trials run: the local executor runs worker processes on this host's cores and GPUs;
/// a cluster executor submits jobs whose tasks claim trials from a shared store. An executor owns capacity: it turns
/// the study's <c>resources</c> into a plan, then runs trials until none is left. Chosen by <c>resources.executor</c>.
/// </summary>
public interface ITrialExecutor
{
    /// <summary>Checks the resources against this host (or cluster) and plans the slots; throws <see cref="ResourceException"/>.</summary>
    ExecutorPlan Plan(Study study, IReadOnlyList<PlannedTrial> trials, int? workers);

    /// <summary>Runs the study's claimable trials to the end, or until stopped; returns the final counts.</summary>
    Task<StateCounts> RunAsync(IStudyStorage store, StudyRow study, ExecutorPlan plan, ExecutionOptions options, IExecutionObserver observer,
        CancellationToken stopping, CancellationToken kill);
}

/// <summary>What an executor will run trials on.</summary>
/// <param name="Notes">What the plan changed from what the study asked, and why (printed before the run).</param>
public sealed record ExecutorPlan(IReadOnlyList<DeviceSlot> Slots, IReadOnlyList<string>? Notes = null)
{
    /// <summary>How the executor says what it will run on (e.g. a job array); null: the slots.</summary>
    public string? Summary { get; init; }

    public string Describe() => (Summary ?? $"{Slots.Count} worker slot(s): {string.Join(", ", Slots.Select(s => s.Device).Distinct())}") +
        (Notes is { Count: > 0 } ? $" ({string.Join("; ", Notes)})" : "");
}

/// <summary>Settings of one run of a study.</summary>
public sealed record ExecutionOptions
{
    /// <summary>Per-trial folders for checkpoints and worker logs.</summary>
    public required string ArtifactsDirectory { get; init; }
    public TimeSpan? TrialTimeout { get; init; }
    public RetryPolicy Retry { get; init; } = new(2, 2);
    /// <summary>Stop starting trials after this many failures with the same error (0: never).</summary>
    public int FailFastAfter { get; init; }
    public IReadOnlyDictionary<string, string> Provenance { get; init; } = new Dictionary<string, string>();
    /// <summary>The store (with its password), for executors whose workers open it themselves.</summary>
    public StoreLocation? Store { get; init; }
    /// <summary>The study's search (adaptive proposals, pruning); null when it has nothing to decide during the run.</summary>
    public SearchDriver? Search { get; init; }
    /// <summary><c>resources.fuse</c>: whether trials that can share a step are claimed and trained as fused packs.</summary>
    public FuseSetting Fuse { get; init; } = FuseSetting.Off;
}

/// <summary>The study asks for resources this host or executor does not have (e.g. CUDA where there is none).</summary>
public sealed class ResourceException(string message) : Exception(message);

/// <summary>What this host has to run trials on; an interface so that planning is tested without GPUs.</summary>
public interface IHostDevices
{
    int CudaDeviceCount { get; }
    int CpuCores { get; }
    /// <summary>The tensor library's version, for messages.</summary>
    string EngineVersion { get; }
}
