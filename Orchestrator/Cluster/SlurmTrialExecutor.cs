using System.Globalization;
using Microsoft.Extensions.Logging;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Studies;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Cluster;

/// <summary>
/// The executor of a Slurm cluster (<c>resources.executor: slurm</c>): submits one job array whose tasks run
/// <c>studies cluster-task</c>, each claiming trials from the shared store until none is left, then follows the study
/// in the store until it is done. Throughput follows the cluster; this process only submits and watches. A task
/// that Slurm stops (scancel, preemption, its time limit) records its trial interrupted, or, killed outright, leaves it
/// to be reclaimed when its lease expires; either way another task resumes it from its checkpoint.
/// </summary>
public sealed class SlurmTrialExecutor(ISlurm slurm, WorkerCommandLine self, ILogger<SlurmTrialExecutor> logger)
    : ITrialExecutor
{
    public const string Name = "slurm";

    /// <summary>Default array size when the study does not say: enough to fill a few nodes, not the whole queue.</summary>
    private const int DefaultTasks = 8;

    /// <summary>Job arrays submitted for one run at most: the first, and new ones while trials are left after all tasks ended.</summary>
    private const int MaxSubmissions = 3;

    /// <summary>How often the submitting process looks at the store and the queue.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>At the end of a run, how long to wait for stopped tasks to end, so that their Slurm states are recorded.</summary>
    public TimeSpan EndStateWait { get; init; } = TimeSpan.FromSeconds(30);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SlurmJobRequest> requests = new();

    public ExecutorPlan Plan(Study study, IReadOnlyList<PlannedTrial> trials, int? workers)
    {
        var tasks = Tasks(study, trials.Count, workers);
        var device = Device(trials);
        var slots = Enumerable.Range(0, tasks).Select(i => new DeviceSlot(i, device, study.Resources.ThreadsPerTrial)).ToList();
        var c = study.Resources.Cluster;
        // What RunAsync submits; the checkpoint folder is only known then.
        requests[study.Name] = Request(study, trials, workers, "");
        return new ExecutorPlan(slots)
        {
            Summary = $"Slurm job array of {tasks} task(s) on {c.Partition ?? "the default partition"}" +
                (c.Gres is { } g ? $", gres {g}" : "") + (c.Time is { } t ? $", time {t}" : ""),
        };
    }

    private static int Tasks(Study study, int trials, int? workers) => Math.Max(1, Math.Min(workers ?? study.Resources.Cluster.ArrayParallel ?? DefaultTasks, Math.Max(trials, 1)));

    /// <summary>A GPU study's task uses the one GPU its gres gives it (Slurm sets CUDA_VISIBLE_DEVICES): cuda:0 inside the task.</summary>
    private static string Device(IReadOnlyList<PlannedTrial> trials) => trials.Any(t => t.Spec.Device.StartsWith("cuda", StringComparison.Ordinal)) ? "cuda:0" : "cpu";

    /// <summary>The job request for a study; <paramref name="checkpoints"/> is where trial folders go (shared by every node).</summary>
    public SlurmJobRequest Request(Study study, IReadOnlyList<PlannedTrial> trials, int? workers, string checkpoints) => new(
        study.Name, Tasks(study, trials.Count, workers), 1, study.Resources.ThreadsPerTrial, Device(trials), checkpoints,
        Path.Combine(checkpoints, "slurm"), [self.FileName, .. self.PrefixArguments], study.Retries.Max, study.Retries.BackoffSeconds,
        study.Resources.Cluster);

    public async Task<StateCounts> RunAsync(IStudyStorage store, StudyRow study, ExecutorPlan plan, ExecutionOptions options, IExecutionObserver observer,
        CancellationToken stopping, CancellationToken kill)
    {
        if (options.Store is not { } location || !location.StartsWith("postgres", StringComparison.Ordinal))
            throw new ResourceException($"{study.Name}: the slurm executor needs a store every node reaches: a PostgreSQL database " +
                "(store: postgresql://USER@HOST:PORT/DATABASE in the study, or --store); see docs/cluster.md");
        if (!requests.TryRemove(study.Name, out var planned)) throw new InvalidOperationException($"{study.Name} was not planned by this executor");
        var request = planned with { CheckpointDirectory = options.ArtifactsDirectory, LogDirectory = Path.Combine(options.ArtifactsDirectory, "slurm") };
        var submissions = 0;
        string? job = null;
        var announced = new HashSet<string>();
        var endStates = new SlurmEndStates(slurm, store, study);
        while (true)
        {
            var counts = await store.CountStatesAsync(study.Id, CancellationToken.None);
            var trials = await AnnounceFinishedAsync(store, study, observer, announced);
            await endStates.RecordAsync(trials, CancellationToken.None);
            var left = counts.Count(TrialState.Queued) + counts.Count(TrialState.Running) + counts.Count(TrialState.Interrupted);
            if (left == 0)
            {
                await endStates.SettleAsync(trials, EndStateWait, CancellationToken.None);
                return counts;
            }
            if (stopping.IsCancellationRequested)
            {
                logger.LogWarning("{Study}: no longer following; its Slurm job {Job} goes on (`studies cancel {Study}` cancels it)", study.Name, job, study.Name);
                return counts;
            }
            if (job is null || !await slurm.IsActiveAsync(job, CancellationToken.None))
            {
                // No task is left: trials its tasks left behind come back to the queue, and a new array takes them.
                await store.ReclaimExpiredAsync(study.Id, CancellationToken.None);
                await store.RequeueAsync(study.Id, failedToo: false, CancellationToken.None);
                if (submissions == MaxSubmissions)
                {
                    logger.LogError("{Study}: {Left} trial(s) left after {Count} job arrays; run the study again to resume them", study.Name, left, submissions);
                    return await store.CountStatesAsync(study.Id, CancellationToken.None);
                }
                job = await SubmitAsync(store, study, request with { Tasks = Math.Min(request.Tasks, Math.Max(1, left)) }, location, CancellationToken.None);
                submissions++;
            }
            else if (counts.Count(TrialState.Interrupted) > 0)
            {
                // A task stopped by Slurm recorded its trial interrupted: the array's other tasks resume it.
                await store.RequeueAsync(study.Id, failedToo: false, CancellationToken.None);
            }
            try
            {
                await Task.Delay(PollInterval, stopping);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private async Task<string> SubmitAsync(IStudyStorage store, StudyRow study, SlurmJobRequest request, string location, CancellationToken ct)
    {
        Directory.CreateDirectory(request.LogDirectory);
        var script = Path.Combine(request.LogDirectory, $"submit-{DateTime.UtcNow:yyyyMMdd-HHmmss-fff}.sh");
        await File.WriteAllTextAsync(script, SlurmScript.Render(request), ct);
        var job = await slurm.SubmitAsync(script, new Dictionary<string, string> { ["STUDIES_STORE"] = location }, ct);
        await store.RecordJobAsync(study.Id, new ClusterJob(Name, job, StoreClock.Now()), ct);
        logger.LogInformation("{Study}: submitted Slurm job array {Job} ({Tasks} task(s)); logs in {Logs}", study.Name, job,
            request.Tasks.ToString(CultureInfo.InvariantCulture), request.LogDirectory);
        return job;
    }

    /// <summary>Tells the observer about trials the cluster finished since the last look; returns the study's trials.</summary>
    private static async Task<IReadOnlyList<TrialRow>> AnnounceFinishedAsync(IStudyStorage store, StudyRow study, IExecutionObserver observer, HashSet<string> announced)
    {
        var trials = await store.ListTrialsAsync(study.Id, CancellationToken.None);
        foreach (var t in trials)
        {
            if (!t.InDefinition || t.State is TrialState.Queued or TrialState.Running or TrialState.Interrupted) continue;
            if (announced.Add(t.TrialId + ":" + t.Attempts.ToString(CultureInfo.InvariantCulture))) observer.TrialEnded(t.TrialId, t.State, t.Error);
        }
        return trials;
    }
}
