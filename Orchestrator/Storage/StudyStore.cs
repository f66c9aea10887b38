using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Storage;

/// <summary>
/// The embedded SQLite store of studies, trials and their metrics. WAL mode lets readers
/// (<c>studies status</c>, reports) read while the orchestrator writes; every write that belongs
/// together (a trial's result and its state) is one transaction, so a crash at any point leaves
/// either all of a trial's rows or none. Only the orchestrator process writes; workers report to it.
/// </summary>
public sealed class StudyStore : IAsyncDisposable, IDisposable
{
    private readonly SqliteConnection connection;
    private readonly SemaphoreSlim gate = new(1, 1);

    private StudyStore(SqliteConnection connection, string path)
    {
        this.connection = connection;
        Path = path;
    }

    public string Path { get; }

    public static async Task<StudyStore> OpenAsync(string path, CancellationToken ct = default)
    {
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = full,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString());
        try
        {
            await connection.OpenAsync(ct);
            await ExecuteAsync(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; PRAGMA foreign_keys=ON;", ct);
            var store = new StudyStore(connection, full);
            await store.MigrateAsync(ct);
            return store;
        }
        catch (SqliteException e)
        {
            await connection.DisposeAsync();
            throw new StoreException($"cannot open the study database {full}: {Describe(e)}", e);
        }
    }

    /// <summary>A message a person can act on for SQLite's common failures.</summary>
    internal static string Describe(SqliteException e) => e.SqliteErrorCode switch
    {
        5 or 6 => $"the database is locked by another process for longer than the busy timeout ({e.Message})",
        13 => $"the disk is full ({e.Message}); free space and run again: recorded results are kept",
        8 => $"the database file is read-only ({e.Message})",
        11 or 26 => $"the file is not a valid SQLite database or is corrupt ({e.Message})",
        _ => e.Message,
    };

    private async Task MigrateAsync(CancellationToken ct)
    {
        var version = Convert.ToInt32(await ScalarAsync("PRAGMA user_version;", ct), CultureInfo.InvariantCulture);
        if (version > Schema.Migrations.Length)
            throw new StoreException($"{Path} was written by a newer version of studies (schema {version}, this one knows {Schema.Migrations.Length})");
        for (var v = version; v < Schema.Migrations.Length; v++)
        {
            await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
            await ExecuteAsync(connection, Schema.Migrations[v], ct, tx);
            await ExecuteAsync(connection, $"PRAGMA user_version = {v + 1};", ct, tx);
            await tx.CommitAsync(ct);
        }
    }

    public static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;

    // ---- studies ------------------------------------------------------------------------------

    public async Task<StudyRow?> FindStudyAsync(string name, CancellationToken ct = default)
    {
        await using var cmd = Command("SELECT * FROM studies WHERE name = $name", ("$name", name));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadStudy(reader) : null;
    }

    public async Task<IReadOnlyList<StudyRow>> ListStudiesAsync(CancellationToken ct = default)
    {
        await using var cmd = Command("SELECT * FROM studies ORDER BY name");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<StudyRow>();
        while (await reader.ReadAsync(ct)) list.Add(ReadStudy(reader));
        return list;
    }

    /// <summary>
    /// Records a study definition and its planned trials. New trials are queued, trials no longer in
    /// the definition keep their records and are marked outside it. A changed data definition is
    /// refused unless <paramref name="force"/>: old results would no longer be comparable.
    /// </summary>
    public async Task<StudyRow> SyncStudyAsync(string name, string? sourcePath, string definition, string definitionHash, string dataHash,
        string settings, IReadOnlyList<PlannedTrialRow> trials, bool force, CancellationToken ct = default)
    {
        return await WriteAsync(async tx =>
        {
            var now = Now();
            var existing = await FindStudyAsync(name, ct);
            if (existing is not null && existing.DataHash != dataHash && !force)
                throw new StoreException($"study '{name}' was recorded with a different data definition; " +
                    "its results would not be comparable. Use a new study name, or --force to keep both under one study");
            if (existing is null)
            {
                await ExecuteAsync(connection, """
                    INSERT INTO studies(name, source_path, definition, definition_hash, data_hash, settings, created_at, updated_at)
                    VALUES ($name, $path, $def, $hash, $data, $settings, $now, $now)
                    """, ct, tx, ("$name", name), ("$path", sourcePath), ("$def", definition), ("$hash", definitionHash),
                    ("$data", dataHash), ("$settings", settings), ("$now", now));
            }
            else
            {
                await ExecuteAsync(connection, """
                    UPDATE studies SET source_path = $path, definition = $def, definition_hash = $hash, data_hash = $data,
                    settings = $settings, updated_at = $now, cancelled = 0 WHERE id = $id
                    """, ct, tx, ("$path", sourcePath), ("$def", definition), ("$hash", definitionHash), ("$data", dataHash),
                    ("$settings", settings), ("$now", now), ("$id", existing.Id));
            }
            var study = (await FindStudyAsync(name, ct))!;
            await ExecuteAsync(connection, "UPDATE trials SET in_definition = 0 WHERE study_id = $s", ct, tx, ("$s", study.Id));
            var ordinal = 0;
            foreach (var trial in trials)
            {
                await ExecuteAsync(connection, """
                    INSERT INTO trials(study_id, trial_id, ordinal, spec, axes, in_definition, state)
                    VALUES ($s, $t, $o, $spec, $axes, 1, 'queued')
                    ON CONFLICT(study_id, trial_id) DO UPDATE SET in_definition = 1, ordinal = $o, axes = $axes,
                        state = CASE WHEN state = 'cancelled' THEN 'queued' ELSE state END
                    """, ct, tx, ("$s", study.Id), ("$t", trial.TrialId), ("$o", ordinal++), ("$spec", trial.SpecJson),
                    ("$axes", JsonSerializer.Serialize(trial.Axes)));
            }
            return study;
        }, ct);
    }

    public Task SetCancelledAsync(long studyId, CancellationToken ct = default) => WriteAsync(async tx =>
    {
        await ExecuteAsync(connection, "UPDATE studies SET cancelled = 1 WHERE id = $s", ct, tx, ("$s", studyId));
        await ExecuteAsync(connection, "UPDATE trials SET state = 'cancelled' WHERE study_id = $s AND state IN ('queued', 'interrupted')",
            ct, tx, ("$s", studyId));
        return 0;
    }, ct);

    // ---- trial life cycle ---------------------------------------------------------------------

    /// <summary>
    /// Trials left running by a process that no longer runs them become interrupted, so they resume
    /// (from their checkpoint) instead of staying "running" forever. <paramref name="isAlive"/> tells
    /// whether an owner is still alive.
    /// </summary>
    public async Task<int> ReconcileAsync(long studyId, Func<string, bool> isAlive, CancellationToken ct = default)
    {
        var running = (await ListTrialsAsync(studyId, ct)).Where(t => t.State == TrialState.Running).ToList();
        var dead = running.Where(t => t.Owner is null || !isAlive(t.Owner)).ToList();
        if (dead.Count == 0) return 0;
        return await WriteAsync(async tx =>
        {
            foreach (var t in dead)
            {
                await ExecuteAsync(connection, """
                    UPDATE trials SET state = 'interrupted', owner = NULL, error = 'its orchestrator process ended while it was running',
                    error_kind = 'orphaned' WHERE study_id = $s AND trial_id = $t AND state = 'running'
                    """, ct, tx, ("$s", studyId), ("$t", t.TrialId));
            }
            return dead.Count;
        }, ct);
    }

    /// <summary>Re-queues interrupted trials (and failed ones when asked) of the current definition.</summary>
    public Task<int> RequeueAsync(long studyId, bool failedToo, CancellationToken ct = default) => WriteAsync(async tx =>
    {
        var states = failedToo ? "('interrupted', 'failed')" : "('interrupted')";
        var n = await ExecuteAsync(connection, $"""
            UPDATE trials SET state = 'queued', not_before = 0, attempts = CASE WHEN state = 'failed' THEN 0 ELSE attempts END
            WHERE study_id = $s AND in_definition = 1 AND state IN {states}
            """, ct, tx, ("$s", studyId));
        return n;
    }, ct);

    /// <summary>
    /// Atomically takes the next queued trial whose back-off has passed and marks it running for
    /// <paramref name="owner"/>: two orchestrators sharing a database never take the same trial.
    /// </summary>
    public Task<TrialRow?> ClaimNextAsync(long studyId, string owner, string device, CancellationToken ct = default) => WriteAsync(async tx =>
    {
        var now = Now();
        await using var pick = Command("""
            SELECT trial_id FROM trials WHERE study_id = $s AND in_definition = 1 AND state = 'queued' AND not_before <= $now
            ORDER BY ordinal LIMIT 1
            """, ("$s", studyId), ("$now", now));
        pick.Transaction = tx;
        if (await pick.ExecuteScalarAsync(ct) is not string trialId) return null;
        await ExecuteAsync(connection, """
            UPDATE trials SET state = 'running', owner = $owner, device = $device, attempts = attempts + 1, heartbeat_at = $now,
            started_at = $now, phase = NULL, epoch = NULL, error = NULL, error_kind = NULL WHERE study_id = $s AND trial_id = $t
            """, ct, tx, ("$owner", owner), ("$device", device), ("$now", now), ("$s", studyId), ("$t", trialId));
        return await FindTrialAsync(studyId, trialId, ct, tx);
    }, ct);

    /// <summary>Earliest time a queued trial may start (back-off), or null when none is queued.</summary>
    public async Task<double?> NextQueuedTimeAsync(long studyId, CancellationToken ct = default)
    {
        var value = await ScalarAsync("SELECT MIN(not_before) FROM trials WHERE study_id = $s AND in_definition = 1 AND state = 'queued'", ct,
            ("$s", studyId));
        return value is DBNull or null ? null : Convert.ToDouble(value, CultureInfo.InvariantCulture);
    }

    public Task HeartbeatAsync(long studyId, string trialId, int? phase, int? epoch, CancellationToken ct = default) => WriteAsync(async tx =>
        await ExecuteAsync(connection, """
            UPDATE trials SET heartbeat_at = $now, phase = COALESCE($phase, phase), epoch = COALESCE($epoch, epoch)
            WHERE study_id = $s AND trial_id = $t AND state = 'running'
            """, ct, tx, ("$now", Now()), ("$phase", phase), ("$epoch", epoch), ("$s", studyId), ("$t", trialId)), ct);

    /// <summary>
    /// Records a finished trial (completed, diverged, or failed for a deterministic reason) with all
    /// its metrics in one transaction. Rows a crashed earlier attempt may have left are replaced,
    /// so no metric row is ever duplicated.
    /// </summary>
    public Task RecordResultAsync(long studyId, string trialId, string state, TrialResult result, double seconds, string provenance,
        CancellationToken ct = default) => WriteAsync(async tx =>
    {
        foreach (var table in new[] { "epochs", "mass_metrics", "phases" })
            await ExecuteAsync(connection, $"DELETE FROM {table} WHERE study_id = $s AND trial_id = $t", ct, tx, ("$s", studyId), ("$t", trialId));

        await using (var insert = Command("INSERT INTO epochs VALUES ($s, $t, $phase, $epoch, $metric, $value)"))
        {
            insert.Transaction = tx;
            var p = Parameters(insert, "$s", "$t", "$phase", "$epoch", "$metric", "$value");
            p[0].Value = studyId;
            p[1].Value = trialId;
            foreach (var e in result.Epochs)
            foreach (var (metric, value) in e.Metrics)
            {
                p[2].Value = e.Phase;
                p[3].Value = e.Epoch;
                p[4].Value = metric;
                p[5].Value = Finite(value);
                await insert.ExecuteNonQueryAsync(ct);
            }
        }
        await using (var insert = Command("INSERT INTO mass_metrics VALUES ($s, $t, $mass, $heldout, $split, $kind, $epoch, $metric, $value)"))
        {
            insert.Transaction = tx;
            var p = Parameters(insert, "$s", "$t", "$mass", "$heldout", "$split", "$kind", "$epoch", "$metric", "$value");
            p[0].Value = studyId;
            p[1].Value = trialId;
            foreach (var m in result.Masses)
            foreach (var (metric, value) in m.Metrics)
            {
                p[2].Value = m.Mass;
                p[3].Value = m.Heldout ? 1 : 0;
                p[4].Value = m.Split.ToString().ToLowerInvariant();
                p[5].Value = m.EpochKind.ToString().ToLowerInvariant();
                p[6].Value = m.Epoch;
                p[7].Value = metric;
                p[8].Value = Finite(value);
                await insert.ExecuteNonQueryAsync(ct);
            }
        }
        foreach (var phase in result.Phases)
        {
            await ExecuteAsync(connection, "INSERT INTO phases VALUES ($s, $t, $p, $loss, $epochs, $seconds)", ct, tx,
                ("$s", studyId), ("$t", trialId), ("$p", phase.Phase), ("$loss", phase.Loss), ("$epochs", phase.Epochs), ("$seconds", phase.Seconds));
        }
        await ExecuteAsync(connection, """
            UPDATE trials SET state = $state, owner = NULL, finished_at = $now, seconds = $seconds, error = $error,
            error_kind = $kind, best_epoch = $best, last_epoch = $last, provenance = $prov WHERE study_id = $s AND trial_id = $t
            """, ct, tx, ("$state", state), ("$now", Now()), ("$seconds", seconds), ("$error", result.Error),
            ("$kind", state == TrialState.Completed ? null : state), ("$best", result.BestEpoch), ("$last", result.LastEpoch),
            ("$prov", provenance), ("$s", studyId), ("$t", trialId));
        return 0;
    }, ct);

    /// <summary>
    /// Records a trial that ended without a result. Infrastructure failures (a crashed or killed
    /// worker, a timeout) are re-queued with exponential back-off until <paramref name="maxRetries"/>
    /// retries are spent; deterministic errors and user interruptions are not retried here.
    /// </summary>
    public Task<string> RecordFailureAsync(long studyId, string trialId, string state, string error, string errorKind, bool retryable,
        int maxRetries, double backoffSeconds, CancellationToken ct = default) => WriteAsync(async tx =>
    {
        var trial = await FindTrialAsync(studyId, trialId, ct, tx) ?? throw new StoreException($"no trial {trialId}");
        var newState = state;
        double notBefore = 0;
        if (retryable && trial.Attempts <= maxRetries)
        {
            newState = TrialState.Queued;
            notBefore = Now() + backoffSeconds * Math.Pow(2, trial.Attempts - 1);
        }
        await ExecuteAsync(connection, """
            UPDATE trials SET state = $state, owner = NULL, error = $error, error_kind = $kind, not_before = $nb,
            finished_at = CASE WHEN $state = 'queued' THEN NULL ELSE $now END,
            seconds = COALESCE(seconds, 0) + ($now - COALESCE(started_at, $now))
            WHERE study_id = $s AND trial_id = $t
            """, ct, tx, ("$state", newState), ("$error", error), ("$kind", errorKind), ("$nb", notBefore), ("$now", Now()),
            ("$s", studyId), ("$t", trialId));
        return newState;
    }, ct);

    public Task SetArtifactAsync(long studyId, string trialId, string kind, string path, CancellationToken ct = default) => WriteAsync(async tx =>
        await ExecuteAsync(connection, "INSERT OR REPLACE INTO artifacts VALUES ($s, $t, $k, $p)", ct, tx,
            ("$s", studyId), ("$t", trialId), ("$k", kind), ("$p", path)), ct);

    // ---- reading ------------------------------------------------------------------------------

    public async Task<IReadOnlyList<TrialRow>> ListTrialsAsync(long studyId, CancellationToken ct = default)
    {
        await using var cmd = Command("SELECT * FROM trials WHERE study_id = $s ORDER BY in_definition DESC, ordinal", ("$s", studyId));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<TrialRow>();
        while (await reader.ReadAsync(ct)) list.Add(ReadTrial(reader));
        return list;
    }

    public async Task<TrialRow?> FindTrialAsync(long studyId, string trialId, CancellationToken ct = default, SqliteTransaction? tx = null)
    {
        await using var cmd = Command("SELECT * FROM trials WHERE study_id = $s AND trial_id = $t", ("$s", studyId), ("$t", trialId));
        cmd.Transaction = tx;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadTrial(reader) : null;
    }

    public async Task<StateCounts> CountStatesAsync(long studyId, CancellationToken ct = default)
    {
        await using var cmd = Command("SELECT state, COUNT(*) FROM trials WHERE study_id = $s AND in_definition = 1 GROUP BY state", ("$s", studyId));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var counts = new Dictionary<string, int>();
        while (await reader.ReadAsync(ct)) counts[reader.GetString(0)] = reader.GetInt32(1);
        return new StateCounts(counts);
    }

    /// <summary>The recorded result of a trial (epochs, per-mass metrics, phases), as the runner returned it.</summary>
    public async Task<TrialResult> LoadResultAsync(long studyId, TrialRow trial, CancellationToken ct = default)
    {
        var epochs = new Dictionary<(int, int), Dictionary<string, double>>();
        await using (var cmd = Command("SELECT phase, epoch, metric, value FROM epochs WHERE study_id = $s AND trial_id = $t ORDER BY phase, epoch",
                         ("$s", studyId), ("$t", trial.TrialId)))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var key = (reader.GetInt32(0), reader.GetInt32(1));
                if (!epochs.TryGetValue(key, out var metrics)) epochs[key] = metrics = new Dictionary<string, double>();
                metrics[reader.GetString(2)] = reader.IsDBNull(3) ? double.NaN : reader.GetDouble(3);
            }
        }
        var masses = new Dictionary<(double, bool, string, string, int), Dictionary<string, double>>();
        await using (var cmd = Command("""
            SELECT mass, heldout, split, epoch_kind, epoch, metric, value FROM mass_metrics WHERE study_id = $s AND trial_id = $t
            ORDER BY epoch_kind, split, mass
            """, ("$s", studyId), ("$t", trial.TrialId)))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var key = (reader.GetDouble(0), reader.GetInt32(1) != 0, reader.GetString(2), reader.GetString(3), reader.GetInt32(4));
                if (!masses.TryGetValue(key, out var metrics)) masses[key] = metrics = new Dictionary<string, double>();
                metrics[reader.GetString(5)] = reader.IsDBNull(6) ? double.NaN : reader.GetDouble(6);
            }
        }
        var phases = new List<PhaseTiming>();
        await using (var cmd = Command("SELECT phase, loss, epochs, seconds FROM phases WHERE study_id = $s AND trial_id = $t ORDER BY phase",
                         ("$s", studyId), ("$t", trial.TrialId)))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) phases.Add(new PhaseTiming(reader.GetInt32(0), reader.GetString(1), reader.GetInt32(2), reader.GetDouble(3)));
        }
        return new TrialResult
        {
            Outcome = trial.State switch
            {
                TrialState.Completed => TrialOutcome.Completed,
                TrialState.Diverged => TrialOutcome.Diverged,
                TrialState.Cancelled => TrialOutcome.Cancelled,
                _ => TrialOutcome.Failed,
            },
            Error = trial.Error,
            Epochs = epochs.Select(e => new EpochRecord(e.Key.Item1, e.Key.Item2, e.Value)).ToList(),
            Masses = masses.Select(m => new MassMetrics(m.Key.Item1, m.Key.Item2, Enum.Parse<SplitKind>(m.Key.Item3, true),
                Enum.Parse<EpochKind>(m.Key.Item4, true), m.Key.Item5, m.Value)).ToList(),
            Phases = phases,
            BestEpoch = trial.BestEpoch ?? 0,
            LastEpoch = trial.LastEpoch ?? 0,
        };
    }

    public async Task<string> IntegrityCheckAsync(CancellationToken ct = default) =>
        Convert.ToString(await ScalarAsync("PRAGMA integrity_check;", ct), CultureInfo.InvariantCulture) ?? "";

    // ---- plumbing -----------------------------------------------------------------------------

    /// <summary>Runs a write transaction (BEGIN IMMEDIATE), serialised within this process.</summary>
    private async Task<T> WriteAsync<T>(Func<SqliteTransaction, Task<T>> work, CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try
        {
            await using var tx = connection.BeginTransaction(deferred: false);
            var result = await work(tx);
            await tx.CommitAsync(ct);
            return result;
        }
        catch (SqliteException e)
        {
            throw new StoreException($"{Path}: {Describe(e)}", e);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>NaN (an undefined metric) is stored as NULL, which SQLite keeps apart from every number.</summary>
    private static object Finite(double value) => double.IsNaN(value) ? DBNull.Value : value;

    private SqliteCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    /// <summary>Reusable parameters of a prepared insert; each value's type is taken from the value itself.</summary>
    private static SqliteParameter[] Parameters(SqliteCommand cmd, params string[] names) =>
        names.Select(n => cmd.Parameters.Add(new SqliteParameter { ParameterName = n })).ToArray();

    private async Task<object?> ScalarAsync(string sql, CancellationToken ct, params (string, object?)[] parameters)
    {
        await using var cmd = Command(sql, parameters);
        return await cmd.ExecuteScalarAsync(ct);
    }

    private static async Task<int> ExecuteAsync(SqliteConnection connection, string sql, CancellationToken ct, SqliteTransaction? tx = null,
        params (string Name, object? Value)[] parameters)
    {
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    private static StudyRow ReadStudy(SqliteDataReader r) => new(
        r.GetInt64(r.GetOrdinal("id")), r.GetString(r.GetOrdinal("name")), NullableString(r, "source_path"), r.GetString(r.GetOrdinal("definition")),
        r.GetString(r.GetOrdinal("definition_hash")), r.GetString(r.GetOrdinal("data_hash")), r.GetString(r.GetOrdinal("settings")),
        r.GetDouble(r.GetOrdinal("created_at")), r.GetDouble(r.GetOrdinal("updated_at")), r.GetInt32(r.GetOrdinal("cancelled")) != 0);

    private static TrialRow ReadTrial(SqliteDataReader r) => new(
        r.GetString(r.GetOrdinal("trial_id")), r.GetInt32(r.GetOrdinal("ordinal")), r.GetString(r.GetOrdinal("spec")),
        JsonSerializer.Deserialize<Dictionary<string, string>>(r.GetString(r.GetOrdinal("axes")))!,
        r.GetInt32(r.GetOrdinal("in_definition")) != 0, r.GetString(r.GetOrdinal("state")), r.GetInt32(r.GetOrdinal("attempts")),
        r.GetDouble(r.GetOrdinal("not_before")), NullableString(r, "owner"), NullableString(r, "device"), NullableDouble(r, "heartbeat_at"),
        NullableInt(r, "phase"), NullableInt(r, "epoch"), NullableDouble(r, "started_at"), NullableDouble(r, "finished_at"),
        NullableDouble(r, "seconds"), NullableString(r, "error"), NullableString(r, "error_kind"), NullableInt(r, "best_epoch"),
        NullableInt(r, "last_epoch"), NullableString(r, "provenance"));

    private static string? NullableString(SqliteDataReader r, string column) { var i = r.GetOrdinal(column); return r.IsDBNull(i) ? null : r.GetString(i); }
    private static double? NullableDouble(SqliteDataReader r, string column) { var i = r.GetOrdinal(column); return r.IsDBNull(i) ? null : r.GetDouble(i); }
    private static int? NullableInt(SqliteDataReader r, string column) { var i = r.GetOrdinal(column); return r.IsDBNull(i) ? null : r.GetInt32(i); }

    public void Dispose() => connection.Dispose();

    public async ValueTask DisposeAsync() => await connection.DisposeAsync();
}
