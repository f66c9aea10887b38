using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Studies.Orchestrator.Cluster;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Cli;

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
                if (location is null || !StoreLocation.Parse(location, Directory.GetCurrentDirectory()).Backend.Shared)
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
                if (!await ClusterTask.LimitClaimingAsync(slurm, claiming, logger)) return 0;
                var execution = new StudyExecution(store, services.GetRequiredService<ITrialLauncher>(),
                    services.GetRequiredService<IOptions<SchedulingOptions>>().Value, loggers.CreateLogger<StudyExecution>())
                {
                    Placement = ClusterTask.Placement(Environment.GetEnvironmentVariable),
                    StopClaiming = claiming.Token,
                    LeaveWhenNothingQueued = true,
                    MaxIdlePoll = ClusterTask.IdlePollLimit,
                    Search = SearchDriver.FromRecord(row, logger),
                };
                var slotList = ClusterTask.Slots(parse.GetValue(device)!, parse.GetValue(gpus), parse.GetValue(slots), parse.GetValue(threads));
                var options = new ExecutionOptions
                {
                    ArtifactsDirectory = parse.GetValue(checkpoints)!,
                    Retry = new RetryPolicy(parse.GetValue(retries), parse.GetValue(backoff)),
                    Provenance = Provenance.OfOrchestrator(),
                    TrialTimeout = parse.GetValue(trialTimeout) is { } minutes ? TimeSpan.FromMinutes(minutes) : null,
                    FailFastAfter = parse.GetValue(failFast),
                    Fuse = ClusterTask.Fuse(row, logger),
                };
                var observer = new ClusterTask.LoggingObserver(logger);
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
}
