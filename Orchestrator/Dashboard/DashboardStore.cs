using Studies.Orchestrator.Actions;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Reporting;
using Studies.Orchestrator.Storage;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Dashboard;

/// <summary>
/// The dashboard's only way into the store. Pages read through one connection opened read-only
/// (<see cref="StoreAccess.ReadOnly"/>: a write through it throws), used by one request at a time;
/// the cancel, retry and report actions open the store for writing just for the action and run
/// <see cref="StudyActions"/>, the CLI's code. A workspace with nothing recorded yet is shown as
/// empty: the dashboard creates no store (the first study run does).
/// </summary>
public sealed class DashboardStore(StudyStores stores, IReportPublisher reports, Workspace workspace) : IAsyncDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private IStudyStorage? reader;

    public Workspace Workspace { get; } = workspace;

    private async Task<T> ReadAsync<T>(Func<IStudyStorage, Task<T>> read, T empty, CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try
        {
            reader ??= await stores.OpenExistingAsync(StoreAccess.ReadOnly, TextWriter.Null, ct);
            return reader is null ? empty : await read(reader);
        }
        finally
        {
            gate.Release();
        }
    }

    public Task<IReadOnlyList<StudyRow>> StudiesAsync(CancellationToken ct) => ReadAsync(s => s.ListStudiesAsync(ct), [], ct);

    public Task<StudyRow?> StudyAsync(string name, CancellationToken ct) => ReadAsync(s => s.FindStudyAsync(name, ct), null, ct);

    // Every read here is bounded (a page, one trial, or an aggregate): a page of a study of 100,000 trials reads what it
    // shows, not the study (tests/Orchestrator.Tests/Dashboard/DashboardScaleTests.cs).

    /// <summary>A page of the trials of the current definition in <paramref name="states"/>, in study order, and how many there are.</summary>
    public Task<TrialPage> PageAsync(StudyRow study, IReadOnlyList<TrialState> states, int limit, int offset, CancellationToken ct) =>
        ReadAsync(s => s.ListTrialsWhereAsync(study.Id, states, int.MaxValue, limit, ct, offset), new TrialPage([], 0), ct);

    /// <summary>One trial of the current definition; null when there is none of that id.</summary>
    public Task<TrialRow?> TrialAsync(StudyRow study, string trialId, CancellationToken ct) =>
        ReadAsync(async s => await s.FindTrialAsync(study.Id, trialId, ct) is { InDefinition: true } t ? t : null, null, ct);

    /// <summary>The mean run time of the completed trials, aggregated by the store.</summary>
    public Task<(double? MeanSeconds, int Count)> CompletedSecondsAsync(StudyRow study, CancellationToken ct) =>
        ReadAsync(s => s.CompletedSecondsAsync(study.Id, ct), (null, 0), ct);

    public Task<StateCounts> CountsAsync(StudyRow study, CancellationToken ct) =>
        ReadAsync(s => s.CountStatesAsync(study.Id, ct), new StateCounts(new Dictionary<TrialState, int>()), ct);

    public Task<TrialResult> ResultAsync(StudyRow study, TrialRow trial, CancellationToken ct) =>
        ReadAsync(s => s.LoadResultAsync(study.Id, trial, ct), new TrialResult { Outcome = TrialOutcome.Failed }, ct);

    /// <summary>The epochs a trial recorded so far: a running trial's batches (its live curve), or a finished one's.</summary>
    public Task<IReadOnlyList<EpochRecord>> EpochsAsync(StudyRow study, TrialRow trial, CancellationToken ct) =>
        ReadAsync(s => s.LoadEpochsAsync(study.Id, trial.TrialId, ct), [], ct);

    /// <summary>
    /// The study as Reports sees it, every trial with its result: what the report's charts are made
    /// from. <paramref name="trim"/> is applied trial by trial as results load, so a large study is
    /// never held in full.
    /// </summary>
    public Task<StudyRecord?> RecordAsync(StudyRow study, Func<TrialResult, TrialResult> trim, CancellationToken ct) =>
        ReadAsync<StudyRecord?>(async s => await StudyRecords.LoadAsync(s, study, ct, trim), null, ct);

    public Task<int> CancelAsync(StudyRow study, CancellationToken ct) => ActAsync(s => StudyActions.CancelAsync(s, study, ct), ct);

    public Task<int> RetryFailedAsync(StudyRow study, CancellationToken ct) => ActAsync(s => StudyActions.RetryAsync(s, study, failedToo: true, ct), ct);

    /// <summary>Writes the study's report where <c>studies report STUDY</c> writes it; returns report.html's path.</summary>
    public Task<string> ReportAsync(StudyRow study, CancellationToken ct) =>
        ReadAsync(s => StudyActions.ReportAsync(reports, s, Workspace, [study.Name], null, ct), "", ct);

    private async Task<T> ActAsync<T>(Func<IStudyStorage, Task<T>> action, CancellationToken ct)
    {
        await using var store = await stores.OpenExistingAsync(StoreAccess.ReadWrite, TextWriter.Null, ct)
            ?? throw new StoreException($"nothing is recorded in {stores.Locate()}");
        return await action(store);
    }

    public async ValueTask DisposeAsync()
    {
        if (reader is not null) await reader.DisposeAsync();
        gate.Dispose();
    }
}
