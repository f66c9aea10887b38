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
/// <c>studies cluster-task STUDY</c> (hidden): what one task of a study's job array runs. Opens the shared store
/// (STUDIES_STORE), claims the study's trials one by one on its slots until none is left anywhere, and records where each
/// runs: Slurm's job id, array task and node, and its state.
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
        var command = new Command("cluster-task", "One task of a study's cluster job array (started by the executor)")
        {
            study, checkpoints, slots, threads, device, retries, backoff,
        };
        command.Hidden = true;
        command.SetAction(async (parse, _) =>
        {
            using var signals = new StopSignals(Console.Error);
            using var loggers = Logging.CreateFactory();
            var logger = loggers.CreateLogger("cluster-task");
            try
            {
                await using var services = CommonOptions.Services(parse, loggers);
                var stores = services.GetRequiredService<StudyStores>();
                await using var store = await stores.OpenAsync(stores.Locate(), StoreAccess.ReadWrite, CancellationToken.None);
                var row = await store.FindStudyAsync(parse.GetValue(study)!, CancellationToken.None);
                if (row is null)
                {
                    Console.Error.WriteLine($"error: no study '{parse.GetValue(study)}' in {store.Location}");
                    return 1;
                }
                var execution = new StudyExecution(store, services.GetRequiredService<ITrialLauncher>(),
                    services.GetRequiredService<IOptions<SchedulingOptions>>().Value, loggers.CreateLogger<StudyExecution>())
                {
                    Placement = Placement(Environment.GetEnvironmentVariable),
                };
                var slotList = Enumerable.Range(0, Math.Max(1, parse.GetValue(slots)))
                    .Select(i => new DeviceSlot(i, parse.GetValue(device)!, Math.Max(1, parse.GetValue(threads)))).ToList();
                var options = new ExecutionOptions
                {
                    ArtifactsDirectory = parse.GetValue(checkpoints)!,
                    Retry = new RetryPolicy(parse.GetValue(retries), parse.GetValue(backoff)),
                    Provenance = Provenance.OfOrchestrator(),
                };
                var observer = new LoggingObserver(logger);
                var counts = await execution.RunAsync(row, slotList, options, observer, signals.Stopping, signals.Kill);
                if (signals.Stopping.IsCancellationRequested && Environment.GetEnvironmentVariable("SLURM_JOB_ID") is { Length: > 0 } job)
                {
                    try
                    {
                        if (await SlurmEndStates.RecordTimeLimitAsync(services.GetRequiredService<ISlurm>(), store, row, job, observer.Started, CancellationToken.None))
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
