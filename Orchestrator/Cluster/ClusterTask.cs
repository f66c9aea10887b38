using System.Globalization;
using Microsoft.Extensions.Logging;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Studies;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Cluster;

/// <summary>What one task of a study's job array needs besides its command line (<c>Cli/ClusterTaskCommand</c>): its slots,
/// where it runs, its time left and how long it waits while idle.</summary>
public static class ClusterTask
{
    /// <summary>How long an idle task waits at most between looks at the store (waits double from the scheduler's idle poll).</summary>
    /// <remarks>60 s: an idle task opens a connection per look (it keeps none while idle), ~30 ms of server CPU here; 1,000
    /// idle tasks looking every 30 s cost about a core (bench cluster --simulate-tasks 1000), every 60 s half that.</remarks>
    public static readonly TimeSpan IdlePollLimit = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The study's <c>resources.fuse</c>, read from its recorded definition: a task forms fused packs on its own slots as a
    /// local run does. Off (with a warning) when the recorded definition no longer reads.
    /// </summary>
    public static FuseSetting Fuse(StudyRow row, ILogger logger)
    {
        try
        {
            var file = row.SourcePath ?? $"{row.Name}.yaml";
            return StudyLoader.Parse(row.Definition, Path.GetFileName(file), Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".", row.SourcePath).Resources.Fuse;
        }
        catch (StudyValidationException e)
        {
            logger.LogWarning("study {Study}: its recorded definition no longer reads ({Error}); this task runs its trials unfused", row.Name, e.Message);
            return FuseSetting.Off;
        }
    }

    /// <summary>
    /// The slots of a task: on a GPU task, <paramref name="perDevice"/> trials on each of the <paramref name="gpus"/> GPUs its
    /// gres gives it (Slurm numbers them cuda:0..N-1 inside the task through CUDA_VISIBLE_DEVICES), filled round-robin; on
    /// a CPU task, <paramref name="perDevice"/> CPU slots.
    /// </summary>
    public static IReadOnlyList<DeviceSlot> Slots(string device, int gpus, int perDevice, int threads)
    {
        perDevice = Math.Max(1, perDevice);
        if (!device.StartsWith("cuda", StringComparison.Ordinal))
            return Enumerable.Range(0, perDevice).Select(i => new DeviceSlot(i, "cpu", Math.Max(1, threads))).ToList();
        var count = Math.Max(1, gpus);
        return DeviceInventory.Slots(new ResourceRequest(Enumerable.Range(0, count).Select(g => $"cuda:{g}").ToList(), perDevice, threads), count, Environment.ProcessorCount);
    }

    /// <summary>The task's time left before its limit, as Slurm sees it; null when unlimited or Slurm cannot be asked.</summary>
    public static async Task<TimeSpan?> TimeLeftAsync(ISlurm slurm, string job, ILogger logger)
    {
        try
        {
            return (await slurm.TaskStatesAsync(job, CancellationToken.None)).FirstOrDefault()?.TimeLeft;
        }
        catch (SlurmException e)
        {
            logger.LogWarning("the time left of job {Job} is not known ({Error}): trials are claimed until Slurm stops the task", job, e.Message);
            return null;
        }
    }

    /// <summary>Where this task runs, from Slurm's variables: recorded with every attempt it makes.</summary>
    public static IReadOnlyDictionary<string, string> Placement(Func<string, string?> variable)
    {
        var placement = new Dictionary<string, string>
        {
            ["host"] = Environment.MachineName,
            ["pid"] = Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            ["slurm_state"] = "RUNNING",
        };
        foreach (var (key, name) in new[]
                 {
                     ("slurm_job_id", "SLURM_JOB_ID"), ("slurm_array_job_id", "SLURM_ARRAY_JOB_ID"), ("slurm_array_task_id", "SLURM_ARRAY_TASK_ID"),
                     ("node", "SLURMD_NODENAME"), ("partition", "SLURM_JOB_PARTITION"),
                 })
        {
            if (variable(name) is { Length: > 0 } value) placement[key] = value;
        }
        // As Slurm names an array task (squeue, scancel): JOB_TASK; what `studies status` shows.
        if (placement.TryGetValue("slurm_array_job_id", out var array) && placement.TryGetValue("slurm_array_task_id", out var task)) placement["job"] = $"{array}_{task}";
        else if (placement.TryGetValue("slurm_job_id", out var job)) placement["job"] = job;
        return placement;
    }

    public sealed class LoggingObserver(ILogger logger) : IExecutionObserver
    {
        /// <summary>The attempts this task started: those a stop signal ended get Slurm's reason.</summary>
        public System.Collections.Concurrent.ConcurrentQueue<(string Trial, int Attempt)> Started { get; } = new();

        public void TrialStarted(TrialRow trial, DeviceSlot slot)
        {
            Started.Enqueue((trial.TrialId, trial.Attempts));
            logger.LogInformation("trial {Trial} started on {Slot} (attempt {Attempt})", trial.TrialId, slot, trial.Attempts);
        }

        public void TrialEnded(string trialId, TrialState state, string? error) => logger.LogInformation("trial {Trial}: {State} {Error}", trialId, state.Name(), error);
    }

    /// <summary>
    /// Inside a Slurm job, stops claiming before the time limit's warning window (a trial started there would only be
    /// interrupted); false when the task is already inside it and should claim nothing at all.
    /// </summary>
    public static async Task<bool> LimitClaimingAsync(ISlurm slurm, CancellationTokenSource claiming, ILogger logger)
    {
        if (Environment.GetEnvironmentVariable("SLURM_JOB_ID") is not { Length: > 0 } self || await TimeLeftAsync(slurm, self, logger) is not { } left) return true;
        var claimFor = left - TimeSpan.FromSeconds(SlurmScript.WarningSeconds);
        if (claimFor <= TimeSpan.Zero)
        {
            logger.LogWarning("job {Job} has {Left:0} s left, inside its time limit's {Warning} s warning window: it claims no trial", self,
                left.TotalSeconds, SlurmScript.WarningSeconds);
            return false;
        }
        // (A timer takes at most ~49 days; a limit that far off is no limit for a trial.)
        if (claimFor < TimeSpan.FromDays(40)) claiming.CancelAfter(claimFor);
        return true;
    }
}
