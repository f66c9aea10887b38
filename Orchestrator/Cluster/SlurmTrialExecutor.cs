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

    /// <summary>
    /// Job arrays in a row that may end without finishing a single trial before the run gives up (and says so): arrays
    /// that make progress are resubmitted for as long as trials are left (a time limit shorter than the study is fine),
    /// but a limit shorter than one trial, or tasks that cannot start, would otherwise resubmit forever.
    /// </summary>
    public const int MaxBarrenArrays = 2;

    /// <summary>Slurm's default MaxArraySize, for a site whose configuration cannot be read.</summary>
    private const int DefaultMaxArraySize = 1001;

    /// <summary>How often the submitting process looks at the store and the queue.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>At the end of a run, how long to wait for stopped tasks to end, so that their Slurm states are recorded.</summary>
    public TimeSpan EndStateWait { get; init; } = TimeSpan.FromSeconds(30);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SlurmJobRequest> requests = new();

    public ExecutorPlan Plan(Study study, IReadOnlyList<PlannedTrial> trials, int? workers)
    {
        var request = Request(study, trials, workers, "");
        var notes = new List<string>();
        if (request.Device == "cuda" && request.Gpus == 0)
        {
            // Slurm gives a task no GPU unless gres asks for one: every trial would fail on a CPU node.
            notes.Add("device cuda without resources.gres: Slurm gives the tasks no GPU; add gres: \"gpu:1\" (or gpu:N for N GPUs per task)");
            logger.LogWarning("{Study}: trials ask for device cuda but resources.gres asks Slurm for no GPU: add gres: \"gpu:1\"", study.Name);
        }
        if (study.Checkpoints is null)
        {
            // Without it, trial folders go to the submitting host's workspace: nodes that do not see it cannot resume a trial.
            notes.Add("no checkpoints: folder in the study: trial folders and task logs go to the workspace (--home), which every node must see");
        }
        var slots = Enumerable.Range(0, request.Tasks * request.TrialsPerTask)
            .Select(i => new DeviceSlot(i, request.Device == "cuda" ? $"cuda:{i % Math.Max(1, request.Gpus)}" : "cpu", study.Resources.ThreadsPerTrial)).ToList();
        var c = study.Resources.Cluster;
        // What RunAsync submits; the checkpoint folder is only known then.
        requests[study.Name] = request;
        return new ExecutorPlan(slots, notes)
        {
            Summary = $"Slurm job array of {request.Tasks} task(s) on {c.Partition ?? "the default partition"}" +
                (c.Gres is { } g ? $", gres {g}" : "") + (c.Time is { } t ? $", time {t}" : "") +
                (request.TrialsPerTask > 1 ? $", {request.TrialsPerTask} trials per task" : ""),
        };
    }

    private static int Tasks(Study study, int trials, int? workers) => Math.Max(1, Math.Min(workers ?? study.Resources.Cluster.ArrayParallel ?? DefaultTasks, Math.Max(trials, 1)));

    /// <summary>cuda for a GPU study (each task uses every GPU its gres gives it: cuda:0..N-1 inside the task), else cpu.</summary>
    private static string Device(IReadOnlyList<PlannedTrial> trials) => trials.Any(t => t.Spec.Device.StartsWith("cuda", StringComparison.Ordinal)) ? "cuda" : "cpu";

    /// <summary>
    /// GPUs per task in a gres request: <c>gpu</c> 1, <c>gpu:4</c> 4, <c>gpu:a100:2</c> 2, summed over a list
    /// (<c>gpu:a100:1,gpu:v100:1</c>); 0 without a gpu entry.
    /// </summary>
    public static int GpuCount(string? gres)
    {
        var count = 0;
        foreach (var entry in (gres ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = entry.Split(':');
            if (!parts[0].Equals("gpu", StringComparison.OrdinalIgnoreCase) && !parts[0].StartsWith("gres/gpu", StringComparison.OrdinalIgnoreCase)) continue;
            count += parts.Length > 1 && int.TryParse(parts[^1], CultureInfo.InvariantCulture, out var n) ? n : 1;
        }
        return count;
    }

    /// <summary>The job request for a study; <paramref name="checkpoints"/> is where trial folders go (shared by every node).</summary>
    public SlurmJobRequest Request(Study study, IReadOnlyList<PlannedTrial> trials, int? workers, string checkpoints)
    {
        var device = Device(trials);
        var gpus = device == "cuda" ? GpuCount(study.Resources.Cluster.Gres) : 0;
        // An adaptive search's trials come as it proposes them: its array is sized for all it may propose.
        var planned = study.Search is { Adaptive: true } search ? search.Samples * trials.Count : trials.Count;
        return new SlurmJobRequest(study.Name, Tasks(study, planned, workers), device == "cuda" ? Math.Max(1, study.Resources.TrialsPerDevice) : 1,
            study.Resources.ThreadsPerTrial, device, checkpoints, Path.Combine(checkpoints, "slurm"), [self.FileName, .. self.PrefixArguments],
            study.Retries.Max, study.Retries.BackoffSeconds, study.Resources.Cluster)
        {
            Gpus = gpus,
            SlurmConf = Environment.GetEnvironmentVariable("SLURM_CONF"),
        };
    }

    public async Task<StateCounts> RunAsync(IStudyStorage store, StudyRow study, ExecutorPlan plan, ExecutionOptions options, IExecutionObserver observer,
        CancellationToken stopping, CancellationToken kill)
    {
        if (options.Store is not { } location || !location.StartsWith("postgres", StringComparison.Ordinal))
            throw new ResourceException($"{study.Name}: the slurm executor needs a store every node reaches: a PostgreSQL database " +
                "(store: postgresql://USER@HOST:PORT/DATABASE in the study, or --store); see docs/cluster.md");
        if (!requests.TryRemove(study.Name, out var planned)) throw new InvalidOperationException($"{study.Name} was not planned by this executor");
        var logs = Path.Combine(options.ArtifactsDirectory, "slurm");
        var request = planned with
        {
            CheckpointDirectory = options.ArtifactsDirectory,
            LogDirectory = logs,
            StoreArguments = StoreArguments(location, logs),
            TrialTimeoutMinutes = options.TrialTimeout?.TotalMinutes,
            FailFast = options.FailFastAfter,
        };
        var maxArraySize = await slurm.MaxArraySizeAsync(CancellationToken.None) ?? DefaultMaxArraySize;
        var jobs = new List<string>();
        var barren = 0;
        var finishedAtSubmit = -1;
        var follower = new StudyFollower(store, study, observer);
        var endStates = new SlurmEndStates(slurm, store, study);
        while (true)
        {
            var cancelled = (await store.FindStudyAsync(study.Name, CancellationToken.None))?.Cancelled ?? false;
            await follower.PollAsync(CancellationToken.None);
            var counts = follower.Counts;
            await endStates.RecordAsync(follower.MayHaveStoppedAttempts, CancellationToken.None);
            var proposalsLeft = options.Search is { } search ? await search.ProposalsLeftAsync(store, study, CancellationToken.None) : 0;
            string? why = null;
            if (cancelled) why = "the study was cancelled (`studies cancel`); its job arrays are cancelled";
            else if (counts.Left == 0 && proposalsLeft == 0) why = "";
            else if (follower.FailFast(options.FailFastAfter) is { } failFast) why = failFast;
            if (why is not null)
            {
                // Done, cancelled or failing fast: tasks still queued or idle would only wait; a cancel stops running ones too.
                await CancelJobsAsync(jobs);
                await endStates.SettleAsync(follower.MayHaveStoppedAttempts, EndStateWait, CancellationToken.None);
                return await store.CountStatesAsync(study.Id, CancellationToken.None) with { Why = why.Length == 0 ? null : why };
            }
            if (stopping.IsCancellationRequested)
            {
                logger.LogWarning("{Study}: no longer following; its Slurm job(s) {Jobs} go on (`studies cancel {Study}` cancels them)", study.Name,
                    string.Join(", ", jobs), study.Name);
                return counts;
            }
            // A task killed outright (SIGKILL, a node failure) leaves its trials running under a lease nobody renews: they come
            // back to the queue as soon as the lease has expired by the store's clock, while other tasks are still there to take them.
            await store.ReclaimExpiredAsync(study.Id, CancellationToken.None);
            await store.RequeueAsync(study.Id, failedToo: false, CancellationToken.None);
            if (!await AnyActiveAsync(jobs))
            {
                counts = await store.CountStatesAsync(study.Id, CancellationToken.None);
                // An adaptive search with nothing queued and no task to propose: the first proposal is made here, the tasks make the rest.
                if (counts.Count(TrialState.Queued) == 0 && proposalsLeft > 0 && await options.Search!.ProposeAsync(store, study, CancellationToken.None))
                    counts = await store.CountStatesAsync(study.Id, CancellationToken.None);
                // Trials still running under a live lease (a task just killed): their lease expires, then they are queued.
                if (counts.Count(TrialState.Queued) > 0)
                {
                    if (jobs.Count > 0) barren = counts.Finished > finishedAtSubmit ? 0 : barren + 1;
                    if (barren >= MaxBarrenArrays)
                    {
                        return counts with
                        {
                            Why = $"{barren} job array(s) in a row ended without finishing a trial (a time limit shorter than a trial, or tasks that " +
                                $"cannot start: see their logs in {logs})",
                        };
                    }
                    finishedAtSubmit = counts.Finished;
                    jobs.AddRange(await SubmitAsync(store, study, request with { Tasks = Math.Min(request.Tasks, counts.Count(TrialState.Queued) + proposalsLeft) }, maxArraySize));
                }
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

    /// <summary>
    /// The task's <c>--store</c>: the URI itself when it holds no password, else a file only the user can read (on the
    /// shared checkpoint folder, beside the task logs) that the task reads it from.
    /// </summary>
    public static IReadOnlyList<string> StoreArguments(string location, string logDirectory)
    {
        if (!HasPassword(location)) return ["--store", location];
        Directory.CreateDirectory(logDirectory);
        var file = Path.Combine(logDirectory, "store.uri");
        File.Delete(file);
        var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        // Readable by its owner only, from its creation on: the password is never readable by others, even briefly.
        if (!OperatingSystem.IsWindows()) create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(file, create))
        using (var writer = new StreamWriter(stream))
            writer.Write(location);
        return ["--store-file", file];
    }

    private static bool HasPassword(string uri)
    {
        var scheme = uri.IndexOf("://", StringComparison.Ordinal);
        var at = uri.IndexOf('@');
        return scheme >= 0 && at > scheme && uri[(scheme + 3)..at].Contains(':', StringComparison.Ordinal);
    }

    private async Task<bool> AnyActiveAsync(IReadOnlyList<string> jobs)
    {
        foreach (var job in jobs)
        {
            if (await slurm.IsActiveAsync(job, CancellationToken.None)) return true;
        }
        return false;
    }

    private async Task CancelJobsAsync(IReadOnlyList<string> jobs)
    {
        var active = new List<string>();
        foreach (var job in jobs)
        {
            if (await slurm.IsActiveAsync(job, CancellationToken.None)) active.Add(job);
        }
        if (active.Count == 0) return;
        try
        {
            await slurm.CancelAsync(active, CancellationToken.None);
            logger.LogInformation("cancelled the remaining tasks of Slurm job(s) {Jobs}", string.Join(", ", active));
        }
        catch (SlurmException e)
        {
            logger.LogWarning("the remaining tasks of Slurm job(s) {Jobs} could not be cancelled: {Error}", string.Join(", ", active), e.Message);
        }
    }

    /// <summary>Submits the request as job arrays of at most the site's MaxArraySize tasks each; returns their job ids.</summary>
    private async Task<IReadOnlyList<string>> SubmitAsync(IStudyStorage store, StudyRow study, SlurmJobRequest request, int maxArraySize)
    {
        Directory.CreateDirectory(request.LogDirectory);
        var jobs = new List<string>();
        for (var first = 0; first < request.Tasks; first += Math.Max(1, maxArraySize))
        {
            var part = request with { Tasks = Math.Min(Math.Max(1, maxArraySize), request.Tasks - first) };
            var script = Path.Combine(request.LogDirectory, $"submit-{DateTime.UtcNow:yyyyMMdd-HHmmss-fff}-{jobs.Count}.sh");
            await File.WriteAllTextAsync(script, SlurmScript.Render(part), CancellationToken.None);
            string job;
            try
            {
                job = await slurm.SubmitAsync(script, new Dictionary<string, string>(), CancellationToken.None);
            }
            catch (SlurmException e)
            {
                throw new SlurmException($"{study.Name}: Slurm refused the job array ({e.Message}); the script is {script}. " +
                    "Fix the resources (partition, gres, time, sbatch_args) and run the study again: recorded trials are kept");
            }
            await store.RecordJobAsync(study.Id, new ClusterJob(Name, job, StoreClock.Now()), CancellationToken.None);
            logger.LogInformation("{Study}: submitted Slurm job array {Job} ({Tasks} task(s)); logs in {Logs}", study.Name, job,
                part.Tasks.ToString(CultureInfo.InvariantCulture), request.LogDirectory);
            jobs.Add(job);
        }
        return jobs;
    }
}
