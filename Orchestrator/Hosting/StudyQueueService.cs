using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Studies;
using Studies.Trials.Catalog;

namespace Studies.Orchestrator.Hosting;

/// <summary>
/// The background service of <c>studies serve</c>: takes study files from the queue folder one at a
/// time and runs them. When the host stops (SIGTERM, Ctrl+C) the running study is asked to
/// checkpoint its trials and goes back to the head of the queue, to resume on the next start.
/// </summary>
public sealed class StudyQueueService(StudyQueue queue, IStudyRunner runner, IOptions<SchedulingOptions> scheduling, ILogger<StudyQueueService> logger,
    Notifier? notifier = null, ServeNotifications? notifications = null, ComponentCatalog? components = null)
    : BackgroundService
{
    /// <summary>How often the folder is looked at when idle.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(scheduling.Value.QueuePollSeconds);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var recovered = queue.RecoverAbandoned();
        if (recovered > 0) logger.LogWarning("{Count} study file(s) left running by a previous server were queued again", recovered);
        logger.LogInformation("watching {Queue} for study files", queue.Directory);
        using var watcher = new FileSystemWatcher(queue.Directory, "*.y*ml") { EnableRaisingEvents = true };
        var arrived = new SemaphoreSlim(0);
        watcher.Created += (_, _) => arrived.Release();
        watcher.Renamed += (_, _) => arrived.Release();

        while (!stoppingToken.IsCancellationRequested)
        {
            var file = queue.TakeNext();
            if (file is null)
            {
                try { await arrived.WaitAsync(PollInterval, stoppingToken); } catch (OperationCanceledException) { break; }
                continue;
            }
            logger.LogInformation("running study file {File}", Path.GetFileName(file));
            try
            {
                // A queued copy's relative paths resolve against the folder it was submitted from.
                var study = StudyLoader.Load(file, components, queue.OriginOf(file));
                var outcome = await runner.RunAsync(study, new StudyRunRequest { Untrusted = true }, stoppingToken, CancellationToken.None);
                if (outcome.Stopped)
                {
                    queue.Return(file);
                    logger.LogInformation("study {Study} stopped; it resumes when the server starts again", outcome.StudyName);
                    break;
                }
                queue.Finish(file, succeeded: true, error: null);
                logger.LogInformation("study {Study} finished; report: {Report}", outcome.StudyName, outcome.ReportPath);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError("study file {File} failed: {Error}", Path.GetFileName(file), e.Message);
                queue.Finish(file, succeeded: false, error: e.Message);
                // A file that never got to run (invalid, unreadable data) says so to the server's targets; a study's own run
                // failure was already sent to its targets and the server's by the run itself.
                if (notifier is not null && notifications is { Targets.Count: > 0 } && e is Studies.StudyValidationException or ResourceException or InvalidDataException)
                    await notifier.SendAsync(notifications.Targets, new Notification(NotifySettings.Failure, Path.GetFileNameWithoutExtension(file),
                        $"study file {Path.GetFileName(file)} failed: {e.Message}"));
            }
        }
    }
}
