using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Studies.Orchestrator.Cli;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Cluster;

/// <summary>
/// <c>studies cluster-task STUDY --store URI | --store-file PATH</c> (hidden): what one task of a study's job array runs.
/// Opens the shared store named on its command line (never a local SQLite file: a task without the study's store refuses
/// to start), claims the study's trials on its slots (every GPU of its gres, <c>trials_per_device</c> on each) until none is
/// queued, and records where each runs: Slurm's job id, array task and node, and its state. It claims nothing inside its
/// time limit's warning window, and leaves when nothing is queued, waiting longer between looks while idle.
/// </summary>
public static class ClusterTaskCommand
{
    public static Command Create()
    {
        var study = new Argument<string>("study");
        var checkpoints = new Option<string>("--checkpoints") { Required = true };
        var slots = new Option<int>("--slots") { DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 1 };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu" };
        var retries = new Option<int>("--retries") { DefaultValueFactory = _ => 2 };
        var backoff = new Option<double>("--backoff") { DefaultValueFactory = _ => 30 };
        var gpus = new Option<int>("--gpus") { DefaultValueFactory = _ => 0 };
        var storeFile = new Option<FileInfo?>("--store-file");
        var trialTimeout = new Option<double?>("--trial-timeout");
        var failFast = new Option<int>("--fail-fast");
        var command = new Command("cluster-task", "One task of a study's cluster job array (started by the executor)")
        {
            study, checkpoints, slots, threads, device, retries, backoff, gpus, storeFile, trialTimeout, failFast,
        };
        command.Hidden = true;
        command.SetAction(async (parse, _) =>
        {
            using var signals = new StopSignals(Console.Error);
            // Each trial's start and end in the task's log (CHECKPOINTS/slurm/JOB_TASK.out), not only warnings.
            using var loggers = Logging.CreateFactory(LogLevel.Information);
            var logger = loggers.CreateLogger("cluster-task");
            try
            {
                var location = parse.GetValue(CommonOptions.Store);
                if (parse.GetValue(storeFile) is { } file) location = (await File.ReadAllTextAsync(file.FullName)).Trim();
                if (location is null || !location.StartsWith("postgres", StringComparison.OrdinalIgnoreCase))
                {
                    // Never a local SQLite file: results recorded there would be lost to the study.
                    Console.Error.WriteLine($"error: this task was started without the study's PostgreSQL store ({(location is null ? "no --store or --store-file" : "got " + location)}); " +
                        "it claims nothing. Submit the study with `studies run FILE --executor slurm`, which names the store on the task's command line");
                    return ExitCodes.Usage;
                }
                await using var services = StudiesServices.ForCommand(StudiesServices.Configuration(parse.GetValue(CommonOptions.Home), location), loggers);
                var stores = services.GetRequiredService<StudyStores>();
                await using var store = await stores.OpenAsync(stores.Locate(), StoreAccess.ReadWrite, CancellationToken.None);
                var row = await store.FindStudyAsync(parse.GetValue(study)!, CancellationToken.None);
                if (row is null)
                {
                    Console.Error.WriteLine($"error: no study '{parse.GetValue(study)}' in {store.Location}");
                    return 1;
                }
                var slurm = services.GetRequiredService<ISlurm>();
                using var claiming = new CancellationTokenSource();
                if (Environment.GetEnvironmentVariable("SLURM_JOB_ID") is { Length: > 0 } self && await TimeLeftAsync(slurm, self, logger) is { } left)
                {
                    // Inside the warning window Slurm is about to stop the task: a trial started there would only be interrupted.
                    var claimFor = left - TimeSpan.FromSeconds(SlurmScript.WarningSeconds);
                    if (claimFor <= TimeSpan.Zero)
                    {
                        logger.LogWarning("job {Job} has {Left:0} s left, inside its time limit's {Warning} s warning window: it claims no trial", self,
                            left.TotalSeconds, SlurmScript.WarningSeconds);
                        return 0;
                    }
                    // (A timer takes at most ~49 days; a limit that far off is no limit for a trial.)
                    if (claimFor < TimeSpan.FromDays(40)) claiming.CancelAfter(claimFor);
                }
                var execution = new StudyExecution(store, services.GetRequiredService<ITrialLauncher>(),
                    services.GetRequiredService<IOptions<SchedulingOptions>>().Value, loggers.CreateLogger<StudyExecution>())
                {
                    Placement = Placement(Environment.GetEnvironmentVariable),
                    StopClaiming = claiming.Token,
                    LeaveWhenNothingQueued = true,
                    MaxIdlePoll = IdlePollLimit,
                    Search = Search.SearchDriver.FromRecord(row, logger),
                };
                var slotList = Slots(parse.GetValue(device)!, parse.GetValue(gpus), parse.GetValue(slots), parse.GetValue(threads));
                var options = new ExecutionOptions
                {
                    ArtifactsDirectory = parse.GetValue(checkpoints)!,
                    Retry = new RetryPolicy(parse.GetValue(retries), parse.GetValue(backoff)),
                    Provenance = Provenance.OfOrchestrator(),
                    TrialTimeout = parse.GetValue(trialTimeout) is { } minutes ? TimeSpan.FromMinutes(minutes) : null,
                    FailFastAfter = parse.GetValue(failFast),
                };
                var observer = new LoggingObserver(logger);
                var counts = await execution.RunAsync(row, slotList, options, observer, signals.Stopping, signals.Kill);
                if (signals.Stopping.IsCancellationRequested && Environment.GetEnvironmentVariable("SLURM_JOB_ID") is { Length: > 0 } job)
                {
                    try
                    {
                        if (await SlurmEndStates.RecordTimeLimitAsync(slurm, store, row, job, observer.Started, CancellationToken.None))
                            logger.LogWarning("stopped by the time limit of job {Job}: its trials resume in another task", job);
                    }
                    catch (SlurmException e)
                    {
                        logger.LogWarning("why Slurm stopped this task is not known: {Error}", e.Message);
                    }
                }
                logger.LogInformation("task done: {Counts}", string.Join(", ", counts.ByState.Where(s => s.Value > 0).Select(s => $"{s.Value} {s.Key.Name()}")));
                return signals.Stopping.IsCancellationRequested ? 143 : 0;
            }
            catch (StoreException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>How long an idle task waits at most between looks at the store (waits double from the scheduler's idle poll).</summary>
    /// <remarks>60 s: an idle task opens a connection per look (it keeps none while idle), ~30 ms of server CPU here; 1,000
    /// idle tasks looking every 30 s cost about a core (bench cluster --simulate-tasks 1000), every 60 s half that.</remarks>
    public static readonly TimeSpan IdlePollLimit = TimeSpan.FromSeconds(60);

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
    private static async Task<TimeSpan?> TimeLeftAsync(ISlurm slurm, string job, ILogger logger)
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

    private sealed class LoggingObserver(ILogger logger) : IExecutionObserver
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
}
