using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Reporting;
using Studies.Orchestrator.Storage;

namespace Studies.Orchestrator.Actions;

/// <summary>
/// What a user may do to a recorded study: cancel it, queue its failed trials again, write its
/// report. The CLI commands (<c>studies cancel | retry | report</c>) and the dashboard's buttons
/// both call these, so the two can never differ in what they do.
/// </summary>
public static class StudyActions
{
    /// <summary>Marks the study cancelled and its queued and interrupted trials cancelled (running ones finish); returns how many were cancelled.</summary>
    public static Task<int> CancelAsync(IStudyStorage store, StudyRow study, CancellationToken ct) => store.SetCancelledAsync(study.Id, ct);

    /// <summary>Queues interrupted (and with <paramref name="failedToo"/>, failed) trials again; returns how many.</summary>
    public static Task<int> RetryAsync(IStudyStorage store, StudyRow study, bool failedToo, CancellationToken ct) =>
        store.RequeueAsync(study.Id, failedToo, ct);

    /// <summary>Writes report.html, report.md and the CSVs of the studies into <paramref name="directory"/> (default: the workspace's report folder); returns report.html's path.</summary>
    public static Task<string> ReportAsync(IReportPublisher publisher, IStudyStorage store, Workspace workspace, IReadOnlyList<string> studies, string? directory,
        CancellationToken ct) =>
        publisher.PublishAsync(store, studies, directory ?? DefaultReportDirectory(workspace, studies), ct);

    public static string DefaultReportDirectory(Workspace workspace, IReadOnlyList<string> studies) =>
        studies.Count == 1 ? workspace.ReportDirectory(studies[0]) : Path.Combine(workspace.Root, "compare-" + string.Join("-", studies), "report");
}
