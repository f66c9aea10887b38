using Studies.Orchestrator.Storage;

namespace Studies.Orchestrator.Reporting;

/// <summary>Writes the report of one or more recorded studies and returns the path of its HTML file.</summary>
public interface IReportPublisher
{
    Task<string> PublishAsync(IStudyStorage store, IReadOnlyList<string> studies, string outputDirectory, CancellationToken ct);
}
