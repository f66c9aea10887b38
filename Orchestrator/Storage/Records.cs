namespace Studies.Orchestrator.Storage;

/// <summary>A trial as planned by the expansion of a study file.</summary>
public sealed record PlannedTrialRow(string TrialId, string SpecJson, IReadOnlyDictionary<string, string> Axes);

public sealed record StudyRow(long Id, string Name, string? SourcePath, string Definition, string DefinitionHash, string DataHash,
    string Settings, double CreatedAt, double UpdatedAt, bool Cancelled);

public sealed record TrialRow(
    string TrialId, int Ordinal, string SpecJson, IReadOnlyDictionary<string, string> Axes, bool InDefinition, string State,
    int Attempts, double NotBefore, string? Owner, string? Device, double? HeartbeatAt, int? Phase, int? Epoch,
    double? StartedAt, double? FinishedAt, double? Seconds, string? Error, string? ErrorKind, int? BestEpoch, int? LastEpoch,
    string? Provenance);

/// <summary>Counts of trials per state (only trials of the current definition).</summary>
public sealed record StateCounts(IReadOnlyDictionary<string, int> ByState)
{
    public int Total => ByState.Values.Sum();
    public int Count(string state) => ByState.TryGetValue(state, out var n) ? n : 0;
}

/// <summary>Raised when the store cannot do what was asked; the message says what and where.</summary>
public sealed class StoreException(string message, Exception? inner = null) : Exception(message, inner);
