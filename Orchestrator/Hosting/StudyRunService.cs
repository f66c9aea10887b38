using Microsoft.Extensions.Logging;
using Spectre.Console;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Studies;
using Studies.Orchestrator.Terminal;
using Studies.Orchestrator.Workers;
using Studies.Trials.Engine;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Hosting;

/// <summary>
/// Runs a study file: validates and expands it, records it (resuming what is there), runs the
/// trials that are not done on the slots its resources ask for, and writes its report. Used by
/// <c>studies run</c> in the foreground and by <c>studies serve</c> for queued files.
/// </summary>
/// <param name="progress">Told about every trial start, epoch and end besides the console (the dashboard's live feed); may be null.</param>
public sealed class StudyRunService(Workspace workspace, ILoggerFactory loggers, IReportPublisher reports, ITrialLauncher launcher, IAnsiConsole console,
    IExecutionObserver? progress = null)
    : IStudyRunner
{
    public async Task<StudyRunOutcome> RunAsync(string studyFile, StudyRunRequest request, CancellationToken stopping, CancellationToken kill)
    {
        var study = request.BaseDirectory is null
            ? StudyLoader.Load(studyFile)
            : StudyLoader.Parse(await File.ReadAllTextAsync(studyFile, CancellationToken.None), studyFile, request.BaseDirectory, Path.GetFullPath(studyFile));
        var trials = StudyExpander.Expand(study);
        Directory.CreateDirectory(workspace.Root);
        await using var store = await StudyStore.OpenAsync(workspace.Database, CancellationToken.None);
        var row = await store.SyncStudyAsync(study.Name, study.SourcePath, await File.ReadAllTextAsync(studyFile, CancellationToken.None),
            study.DefinitionHash, study.Data.Hash, SpecJson.Serialize(new { study.Report, study.Description, IsSearch = study.Search is not null }),
            trials.Select(t => new PlannedTrialRow(t.TrialId, SpecJson.Serialize(t.Spec), t.Axes)).ToList(), request.Force, CancellationToken.None);

        var slots = Slots(study, trials, request.Workers);
        var before = await store.CountStatesAsync(row.Id, CancellationToken.None);
        var observer = new ConsoleProgress(console, before.Total,
            before.Count(TrialState.Completed) + before.Count(TrialState.Failed) + before.Count(TrialState.Diverged));
        console.MarkupLineInterpolated($"[bold]{study.Name}[/]: {before.Total} trials, {before.Count(TrialState.Completed)} already completed; {slots.Count} worker slot(s): {string.Join(", ", slots.Select(s => s.Device).Distinct())}");
        var execution = new StudyExecution(store, launcher, loggers.CreateLogger<StudyExecution>());
        var options = new ExecutionOptions
        {
            Slots = slots,
            ArtifactsDirectory = workspace.Artifacts(study.Name),
            MaxRetries = study.Retries.Max,
            BackoffSeconds = study.Retries.BackoffSeconds,
            TrialTimeout = request.TrialTimeout,
            FailFastAfter = request.FailFastAfter,
            Provenance = Provenance.OfOrchestrator(),
        };
        var counts = await observer.ShowWhile(execution.RunAsync(row, options, progress is null ? observer : new Tee(observer, progress), stopping, kill));
        string? reportPath = null;
        if (!kill.IsCancellationRequested)
            reportPath = await reports.PublishAsync(store, [row.Name], workspace.ReportDirectory(study.Name), CancellationToken.None);
        return new StudyRunOutcome(study.Name, reportPath, stopping.IsCancellationRequested, counts.ByState);
    }

    private sealed class Tee(IExecutionObserver first, IExecutionObserver second) : IExecutionObserver
    {
        public void TrialStarted(TrialRow trial, DeviceSlot slot) { first.TrialStarted(trial, slot); second.TrialStarted(trial, slot); }
        public void TrialProgress(TrialProgress p) { first.TrialProgress(p); second.TrialProgress(p); }
        public void TrialEnded(string trialId, string state, string? error) { first.TrialEnded(trialId, state, error); second.TrialEnded(trialId, state, error); }
    }

    /// <summary>CUDA trials go to the study's GPUs (all visible ones by default), CPU trials to CPU workers.</summary>
    public static IReadOnlyList<DeviceSlot> Slots(Study study, IReadOnlyList<PlannedTrial> trials, int? workers)
    {
        var r = study.Resources;
        var wantsCuda = trials.Any(t => t.Spec.Device.StartsWith("cuda", StringComparison.Ordinal));
        var cudaCount = wantsCuda ? Torch.CudaDeviceCount() : 0;
        if (wantsCuda && cudaCount == 0)
            throw new InvalidOperationException($"{study.SourcePath}: the study asks for device cuda, but libtorch ({Torch.Version}) sees no CUDA device on this host");
        var request = wantsCuda
            ? new ResourceRequest((r.Devices ?? Enumerable.Range(0, cudaCount).ToList()).Select(i => $"cuda:{i}").ToList(), r.TrialsPerDevice, r.ThreadsPerTrial, workers ?? 0)
            : new ResourceRequest(["cpu"], r.CpuWorkers ?? 0, r.ThreadsPerTrial, workers ?? 0);
        return DeviceInventory.Slots(request, cudaCount, Environment.ProcessorCount);
    }
}

/// <summary>Writes the report of one or more recorded studies and returns the path of its HTML file.</summary>
public interface IReportPublisher
{
    Task<string> PublishAsync(StudyStore store, IReadOnlyList<string> studies, string outputDirectory, CancellationToken ct);
}
