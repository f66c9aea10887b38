using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Storage;
using Studies.Reports;
using Studies.Reports.Input;

namespace Studies.Orchestrator.Reporting;

/// <summary>Loads recorded studies and hands them to Reports; returns the path of report.html.</summary>
public sealed class StoreReportPublisher : IReportPublisher
{
    public async Task<string> PublishAsync(IStudyStorage store, IReadOnlyList<string> studies, string outputDirectory, CancellationToken ct)
    {
        var records = new List<StudyRecord>();
        foreach (var name in studies)
        {
            var row = await store.FindStudyAsync(name, ct) ?? throw new StoreException($"no study named '{name}' in {store.Location}");
            records.Add(await StudyRecords.LoadAsync(store, row, ct));
        }
        return ReportBuilder.Write(new ReportInput { Studies = records }, outputDirectory).Html;
    }
}
