using System.Data.Common;
using System.Text.Json;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Storage;

/// <summary>Wall-clock time as stores record it: seconds since the Unix epoch, millisecond resolution.</summary>
public static class StoreClock
{
    public static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
}

/// <summary>Puts a trial's stored rows back together as the runner's result; the same for every backend.</summary>
public static class StoredResult
{
    public static TrialResult Compose(TrialRow trial, IReadOnlyList<EpochRecord> epochs, IReadOnlyList<MassMetrics> masses, IReadOnlyList<PhaseTiming> phases) => new()
    {
        Outcome = trial.State switch
        {
            TrialState.Completed => TrialOutcome.Completed,
            TrialState.Diverged => TrialOutcome.Diverged,
            // A pruned trial was stopped on purpose, as a cancelled one is: its record is a partial curve, not a failure.
            TrialState.Cancelled or TrialState.Pruned => TrialOutcome.Cancelled,
            _ => TrialOutcome.Failed,
        },
        Error = trial.Error,
        Epochs = epochs,
        Masses = masses,
        Phases = phases,
        BestEpoch = trial.BestEpoch ?? 0,
        LastEpoch = trial.LastEpoch ?? 0,
    };
}

/// <summary>Reads the trial rows every backend stores with the same columns (the schemas differ only in types).</summary>
public static class StoredRows
{
    /// <summary>Proposal rows joined with their trials (number, point JSON, created, trial id or null), grouped by proposal.</summary>
    public static IReadOnlyList<RecordedProposal> Proposals(IEnumerable<(int Number, string Point, double CreatedAt, string? TrialId)> rows) =>
        rows.GroupBy(r => r.Number).Select(g =>
        {
            var first = g.First();
            var point = JsonSerializer.Deserialize<Dictionary<string, double>>(first.Point) ?? [];
            return new RecordedProposal(new SearchProposal(g.Key, point, first.CreatedAt), g.Select(r => r.TrialId).OfType<string>().ToList());
        }).ToList();

    public static TrialRow ReadTrial(DbDataReader r) => new(
        r.GetString(r.GetOrdinal("trial_id")), r.GetInt32(r.GetOrdinal("ordinal")), r.GetString(r.GetOrdinal("spec")),
        JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(r.GetOrdinal("axes")))!,
        // SQLite stores the flag as an integer, PostgreSQL as a boolean.
        Convert.ToBoolean(r.GetValue(r.GetOrdinal("in_definition")), System.Globalization.CultureInfo.InvariantCulture),
        TrialStates.Parse(r.GetString(r.GetOrdinal("state"))), r.GetInt32(r.GetOrdinal("attempts")),
        r.GetDouble(r.GetOrdinal("not_before")), NullableString(r, "owner"), NullableString(r, "device"), NullableDouble(r, "heartbeat_at"),
        NullableInt(r, "phase"), NullableInt(r, "epoch"), NullableDouble(r, "started_at"), NullableDouble(r, "finished_at"),
        NullableDouble(r, "seconds"), NullableString(r, "error"), NullableString(r, "error_kind"), NullableInt(r, "best_epoch"),
        NullableInt(r, "last_epoch"), NullableString(r, "provenance"), NullableDouble(r, "lease_until"), r.GetInt32(r.GetOrdinal("retries_from")),
        Placement(NullableString(r, "placement")));

    public static IReadOnlyDictionary<string, string> Placement(string? json) =>
        json is { Length: > 0 } ? JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? new() : new Dictionary<string, string>();

    /// <summary>A stored placement with keys added or replaced, as stored again.</summary>
    public static string MergePlacement(string? json, IReadOnlyDictionary<string, string> added)
    {
        var merged = new Dictionary<string, string>(Placement(json));
        foreach (var (k, v) in added) merged[k] = v;
        return JsonSerializer.Serialize(merged);
    }

    public static string? NullableString(DbDataReader r, string column) { var i = r.GetOrdinal(column); return r.IsDBNull(i) ? null : r.GetString(i); }
    public static double? NullableDouble(DbDataReader r, string column) { var i = r.GetOrdinal(column); return r.IsDBNull(i) ? null : r.GetDouble(i); }
    public static int? NullableInt(DbDataReader r, string column) { var i = r.GetOrdinal(column); return r.IsDBNull(i) ? null : r.GetInt32(i); }
}
