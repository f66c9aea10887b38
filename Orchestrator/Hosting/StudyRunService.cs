using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Studies.Orchestrator.Reporting;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Studies;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Hosting;

/// <summary>
/// Runs a parsed study: expands it, plans it on its executor, records it (resuming what is there), runs the
/// trials that are not done, and writes its report. Used by <c>studies run</c> in the foreground and by
/// <c>studies serve</c> for queued files.
/// </summary>
public sealed class StudyRunService(Workspace workspace, StudyStores stores, IServiceProvider services, IReportPublisher reports,
    IExecutionObserverFactory observers, Notifier notifier, ServeNotifications serveNotifications) : IStudyRunner
{
    public async Task<StudyRunOutcome> RunAsync(Study study, StudyRunRequest request, CancellationToken stopping, CancellationToken kill)
    {
        var trials = StudyExpander.Expand(study);
        var location = stores.Locate(study.Store, study.BaseDirectory);
        if (request.Untrusted) QueuedStudyGuard.Check(study, trials, location, stores.StudyChoosesStore(study.Store), stores.AllowedRoots);
        var executorName = request.Executor ?? study.Resources.Executor;
        var executor = services.GetKeyedService<ITrialExecutor>(executorName)
            ?? throw new ResourceException($"{study.SourcePath}: no executor '{executorName}' in this build");
        // Planned before anything is recorded: a study this host cannot run leaves no trace in the store.
        var plan = executor.Plan(study, trials, request.Workers);

        Directory.CreateDirectory(workspace.Root);
        await using var store = await stores.OpenAsync(location, StoreAccess.ReadWrite, CancellationToken.None);
        var settings = new StudySettings
        {
            Description = study.Description,
            Compare = study.Report.Compare,
            Headline = study.Report.Headline,
            IsSearch = study.Search is not null,
            Objectives = study.Search?.Objectives.Select(o => o.Metric).ToList() ?? [],
        };
        var row = await store.SyncStudyAsync(new StudyDefinition(study.Name, study.SourcePath, study.Text, study.DefinitionHash, study.Data.Hash, settings),
            StudyExpander.Recorded(study).Select(t => new PlannedTrialRow(t.TrialId, SpecJson.Serialize(t.Spec), t.Axes)).ToList(), request.Force, CancellationToken.None);

        var before = await store.CountStatesAsync(row.Id, CancellationToken.None);
        IReadOnlyList<NotifySettings> targets = [.. serveNotifications.Targets, .. study.Notify is { } own ? [own] : Array.Empty<NotifySettings>()];
        var observer = observers.Create(study.Name);
        NotifyingObserver? notifying = null;
        if (targets.Count > 0) observer = notifying = new NotifyingObserver(observer, notifier, targets, study.Name);
        // An adaptive search records its trials as it proposes them: progress counts every trial its budget allows.
        var total = study.Search is { Adaptive: true } search ? Math.Max(before.Total, search.Samples * trials.Count) : before.Total;
        observer.RunStarting(new RunOverview(study.Name, total, before.Finished, plan.Describe())
        {
            Settings = settings,
            Trials = (await store.ListTrialsAsync(row.Id, CancellationToken.None)).Where(t => t.InDefinition).ToList(),
            Slots = plan.Slots.Count,
            Unproposed = Enumerable.Range(0, total - before.Total).Select(i => trials[i % trials.Count].Spec).ToList(),
        });
        var options = new ExecutionOptions
        {
            ArtifactsDirectory = study.Checkpoints is { } shared ? Path.Combine(shared, study.Name) : workspace.Artifacts(study.Name),
            Store = location,
            Retry = new RetryPolicy(study.Retries.Max, study.Retries.BackoffSeconds),
            TrialTimeout = request.TrialTimeout,
            FailFastAfter = request.FailFastAfter,
            Provenance = Provenance.OfOrchestrator(),
            Search = SearchDriver.For(study, services.GetRequiredService<ILoggerFactory>().CreateLogger<SearchDriver>()),
            Fuse = study.Resources.Fuse,
        };
        StateCounts counts;
        try
        {
            counts = await observer.ShowWhile(executor.RunAsync(store, row, plan, options, observer, stopping, kill));
        }
        catch (Exception e) when (targets.Count > 0 && e is not OperationCanceledException)
        {
            await notifier.SendAsync(targets, new Notification(NotifySettings.Failure, study.Name, $"study {study.Name} failed: {e.Message}"));
            throw;
        }
        if (notifying is not null) await notifying.Pending;
        string? reportPath = null;
        string? verdict = null;
        if (!kill.IsCancellationRequested)
        {
            reportPath = await reports.PublishAsync(store, [row.Name], workspace.ReportDirectory(study.Name), CancellationToken.None);
            verdict = await VerdictAsync(store, row);
        }
        if (targets.Count > 0 && !stopping.IsCancellationRequested)
        {
            var tally = string.Join(", ", counts.ByState.Where(s => s.Value > 0).Select(s => $"{s.Value} {s.Key.Name()}"));
            await notifier.SendAsync(targets, new Notification(NotifySettings.End, study.Name, $"study {study.Name} finished: {tally}\n{verdict}\nreport: {reportPath}")
            {
                Verdict = verdict, Report = reportPath,
            });
        }
        return new StudyRunOutcome(study.Name, reportPath, stopping.IsCancellationRequested, counts.ByState) { Verdict = verdict, Why = counts.Why };
    }

    /// <summary>The headline result in one line (the run's last line before the report path).</summary>
    public static async Task<string> VerdictAsync(IStudyStorage store, StudyRow study)
    {
        var record = await Reporting.StudyRecords.LoadAsync(store, study, CancellationToken.None);
        return Reports.Verdict.Verdicts.VerdictLine(record);
    }
}
