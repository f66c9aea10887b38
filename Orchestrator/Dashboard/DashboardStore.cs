using Studies.Orchestrator.Actions;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Reporting;
using Studies.Orchestrator.Storage;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Dashboard;

/// <summary>
/// The dashboard's only way into the store: a handful of reads, and the cancel, retry and report
/// actions through <see cref="StudyActions"/> (the CLI's code). One connection, used by one request
/// at a time (a connection is not thread-safe). A workspace without a database is shown as empty:
/// the dashboard does not create one (the first study run does).
/// </summary>
public sealed class DashboardStore(Workspace workspace) : IAsyncDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private StudyStore? store;

    public Workspace Workspace { get; } = workspace;

    private async Task<T> UseAsync<T>(Func<StudyStore, Task<T>> read, T empty, CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try
        {
            if (store is null)
            {
                if (!File.Exists(Workspace.Database)) return empty;
                store = await StudyStore.OpenAsync(Workspace.Database, ct);
            }
            return await read(store);
        }
        finally
        {
            gate.Release();
        }
    }

    public Task<IReadOnlyList<StudyRow>> StudiesAsync(CancellationToken ct) => UseAsync(s => s.ListStudiesAsync(ct), [], ct);

    public Task<StudyRow?> StudyAsync(string name, CancellationToken ct) => UseAsync(s => s.FindStudyAsync(name, ct), null, ct);

    /// <summary>Trials of the current definition, in study order.</summary>
    public Task<IReadOnlyList<TrialRow>> TrialsAsync(StudyRow study, CancellationToken ct) =>
        UseAsync<IReadOnlyList<TrialRow>>(async s => (await s.ListTrialsAsync(study.Id, ct)).Where(t => t.InDefinition).ToList(), [], ct);

    public Task<StateCounts> CountsAsync(StudyRow study, CancellationToken ct) =>
        UseAsync(s => s.CountStatesAsync(study.Id, ct), new StateCounts(new Dictionary<string, int>()), ct);

    public Task<TrialResult> ResultAsync(StudyRow study, TrialRow trial, CancellationToken ct) =>
        UseAsync(s => s.LoadResultAsync(study.Id, trial, ct), new TrialResult { Outcome = TrialOutcome.Failed }, ct);

    /// <summary>
    /// The study as Reports sees it, every trial with its result: what the report's charts are made
    /// from. <paramref name="trim"/> is applied trial by trial as results load, so a large study is
    /// never held in full.
    /// </summary>
    public Task<StudyRecord?> RecordAsync(StudyRow study, Func<TrialResult, TrialResult> trim, CancellationToken ct) =>
        UseAsync<StudyRecord?>(async s => await StudyRecords.LoadAsync(s, study, ct, trim), null, ct);

    public Task<int> CancelAsync(StudyRow study, CancellationToken ct) => UseAsync(s => StudyActions.CancelAsync(s, study, ct), 0, ct);

    public Task<int> RetryFailedAsync(StudyRow study, CancellationToken ct) => UseAsync(s => StudyActions.RetryAsync(s, study, failedToo: true, ct), 0, ct);

    /// <summary>Writes the study's report where <c>studies report STUDY</c> writes it; returns report.html's path.</summary>
    public Task<string> ReportAsync(StudyRow study, CancellationToken ct) =>
        UseAsync(s => StudyActions.ReportAsync(s, Workspace, [study.Name], null, ct), "", ct);

    public async ValueTask DisposeAsync()
    {
        if (store is not null) await store.DisposeAsync();
        gate.Dispose();
    }
}
