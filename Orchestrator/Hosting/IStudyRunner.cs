namespace Studies.Orchestrator.Hosting;

/// <summary>Runs one study file to the end (or until stopped) and writes its report.</summary>
public interface IStudyRunner
{
    Task<StudyRunOutcome> RunAsync(string studyFile, StudyRunRequest request, CancellationToken stopping, CancellationToken kill);
}

public sealed record StudyRunRequest(bool Force = false, int? Workers = null, bool Interactive = false);

/// <summary>How a study run ended: the report it wrote and whether it was stopped before the end.</summary>
public sealed record StudyRunOutcome(string StudyName, string? ReportPath, bool Stopped, IReadOnlyDictionary<string, int> States);
