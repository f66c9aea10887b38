using System.Text.Json;
using System.Text.Json.Serialization;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Storage;

/// <summary>A study as a store records it: the file's text and hashes, and its typed settings.</summary>
public sealed record StudyDefinition(string Name, string? SourcePath, string Text, string DefinitionHash, string DataHash, StudySettings Settings);

/// <summary>What reports and status need of a study beyond its trials; stored as JSON beside the definition.</summary>
public sealed record StudySettings
{
    public string Description { get; init; } = "";
    /// <summary>Axes whose values name a compared method.</summary>
    public IReadOnlyList<string> Compare { get; init; } = [];
    /// <summary>The metric the ranking leads with; null: the reports' default.</summary>
    public string? Headline { get; init; }
    public bool IsSearch { get; init; }
    /// <summary>A search's objectives (validation metrics); empty for studies recorded before searches named them.</summary>
    public IReadOnlyList<string> Objectives { get; init; } = [];

    private static readonly JsonSerializerOptions Json = new(SpecJson.Options) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads settings written by any version: unknown keys are ignored, missing ones default.</summary>
    public static StudySettings FromJson(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return new StudySettings();
        try
        {
            var settings = JsonSerializer.Deserialize<StudySettings>(json, Json) ?? new StudySettings();
            // Stores written before settings were typed kept compare/headline under "report".
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.TryGetProperty("report", out var report) && report.ValueKind == JsonValueKind.Object)
            {
                if (report.TryGetProperty("compare", out var c) && c.ValueKind == JsonValueKind.Array)
                    settings = settings with { Compare = c.EnumerateArray().Select(e => e.GetString() ?? "").ToList() };
                if (report.TryGetProperty("headline", out var h) && h.ValueKind == JsonValueKind.String)
                    settings = settings with { Headline = h.GetString() };
            }
            return settings;
        }
        catch (JsonException)
        {
            return new StudySettings();
        }
    }
}

/// <summary>
/// One point an adaptive search proposed, recorded before any of its trials runs: its number (proposal order, unique per
/// study, so two orchestrators never record the same proposal twice) and its values by search parameter (a choice as its index).
/// </summary>
public sealed record SearchProposal(int Number, IReadOnlyDictionary<string, double> Point, double CreatedAt = 0);

/// <summary>A recorded proposal and the ids of its trials (one per matrix combination).</summary>
public sealed record RecordedProposal(SearchProposal Proposal, IReadOnlyList<string> TrialIds);

/// <summary>
/// Where a proposal's trials sit in the claim order: after every planned trial, in proposal order, so a worker finishes
/// what was proposed first (its results inform the next proposals) and a study's file-planned trials keep their ordinals.
/// </summary>
public static class SearchOrdinals
{
    public const int First = 1_000_000_000;
    public const int PerProposal = 10_000;

    public static int Of(int number, int k) => checked(First + number * PerProposal + k);
}

/// <summary>A trial as planned by the expansion of a study file.</summary>
public sealed record PlannedTrialRow(string TrialId, string SpecJson, IReadOnlyDictionary<string, string> Axes);

public sealed record StudyRow(long Id, string Name, string? SourcePath, string Definition, string DefinitionHash, string DataHash,
    StudySettings Settings, double CreatedAt, double UpdatedAt, bool Cancelled);

/// <param name="Owner">The orchestrator or worker that holds the trial's lease while it runs.</param>
/// <param name="LeaseUntil">When the owner's lease ends unless renewed (seconds since the epoch).</param>
/// <param name="Placement">Where the current or last attempt runs: host, process, and a cluster's job id, node and state.</param>
public sealed record TrialRow(
    string TrialId, int Ordinal, string SpecJson, IReadOnlyDictionary<string, string> Axes, bool InDefinition, TrialState State,
    int Attempts, double NotBefore, string? Owner, string? Device, double? HeartbeatAt, int? Phase, int? Epoch,
    double? StartedAt, double? FinishedAt, double? Seconds, string? Error, string? ErrorKind, int? BestEpoch, int? LastEpoch,
    string? Provenance, double? LeaseUntil = null, int RetriesFrom = 0, IReadOnlyDictionary<string, string>? Placement = null)
{
    /// <summary>Running, but its owner stopped renewing the lease: the next claimer reclaims it.</summary>
    public bool LeaseExpired(double now) => State == TrialState.Running && LeaseUntil is { } until && until < now;

    /// <summary>Infrastructure retries spent since the trial was last queued by hand (<c>studies retry</c> keeps <see cref="Attempts"/>).</summary>
    public int AttemptsSinceRetry => Attempts - RetriesFrom;
}

/// <summary>Counts of trials per state (only trials of the current definition).</summary>
public sealed record StateCounts(IReadOnlyDictionary<TrialState, int> ByState)
{
    public int Total => ByState.Values.Sum();
    public int Count(TrialState state) => ByState.TryGetValue(state, out var n) ? n : 0;
    /// <summary>Completed, failed, diverged or pruned: nothing more will happen to them.</summary>
    public int Finished => Count(TrialState.Completed) + Count(TrialState.Failed) + Count(TrialState.Diverged) + Count(TrialState.Pruned);
    /// <summary>Queued, running or interrupted: trials the run did not finish.</summary>
    public int Left => Count(TrialState.Queued) + Count(TrialState.Running) + Count(TrialState.Interrupted);
    /// <summary>Why an executor stopped with trials left (a cancel, job arrays that ended without progress); null when it ran to the end.</summary>
    public string? Why { get; init; }
}

/// <summary>
/// Who claims a trial: <paramref name="Owner"/> (unique per process, see <see cref="OwnerIdentity"/>), the device it
/// will run on, how long the lease lasts before it must be renewed, and where it runs (host, job id, ...).
/// </summary>
public sealed record TrialClaim(string Owner, string Device, TimeSpan Lease, IReadOnlyDictionary<string, string>? Placement = null)
{
    /// <summary>Claim only among these trials (the queued mates of a fused pack); null: any queued trial.</summary>
    public IReadOnlyList<string>? Among { get; init; }
}

/// <summary>Some trials of a study, and how many matched in all.</summary>
public sealed record TrialPage(IReadOnlyList<TrialRow> Trials, int Total);

/// <summary>Trial rows changed since a cursor, and the cursor to read from next time.</summary>
public sealed record TrialChanges(IReadOnlyList<TrialRow> Trials, long Cursor);

/// <summary>How a trial ended without a result, and what the retry policy decided.</summary>
/// <param name="RequeueAt">Null: the trial ends in <paramref name="State"/>. Otherwise it is queued again, not before this time.</param>
public sealed record TrialFailure(TrialState State, string Error, string ErrorKind, double? RequeueAt = null);

/// <summary>One past or current attempt of a trial: who ran it, where, and how it ended.</summary>
public sealed record AttemptRow(int Attempt, string Owner, string? Device, IReadOnlyDictionary<string, string> Placement, double StartedAt,
    double? EndedAt, string? Outcome);

/// <summary>A job a cluster executor submitted for a study: which executor (e.g. slurm), its job id there, when.</summary>
public sealed record ClusterJob(string Executor, string JobId, double SubmittedAt);

/// <summary>Raised when the store cannot do what was asked; the message says what and where.</summary>
public sealed class StoreException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Identifies this process as an owner of trial leases: host, pid and a random part, so no two processes share one.</summary>
public static class OwnerIdentity
{
    public static string Current { get; } = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
}
