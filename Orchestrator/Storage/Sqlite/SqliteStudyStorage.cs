using System.Globalization;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Storage.Sqlite;

/// <summary>The embedded store: one SQLite file per workspace.</summary>
public sealed class SqliteBackend : IStorageBackend
{
    public StoreBackendEntry Entry => StoreBackends.Sqlite;

    public Task<bool> ExistsAsync(StoreLocation location, CancellationToken ct) => Task.FromResult(File.Exists(location.Target));

    public async Task<IStudyStorage> OpenAsync(StoreLocation location, StoreAccess access, CancellationToken ct) =>
        await SqliteStudyStorage.OpenAsync(location.Target, access, ct);
}

/// <summary>
/// <see cref="IStudyStorage"/> on one SQLite file. WAL mode lets readers (<c>studies status</c>, reports, a second
/// orchestrator) read while one process writes; a write transaction is <c>BEGIN IMMEDIATE</c>, so SQLite's single writer
/// makes claiming atomic across processes on one host. Several orchestrators on one file are safe (each claims with
/// its own lease); hosts sharing the file over a network file system are not (SQLite's locks are not reliable there):
/// clusters use the PostgreSQL backend.
/// </summary>
public sealed class SqliteStudyStorage : IStudyStorage
{
    private readonly SqliteConnection connection;
    // One connection, used by one operation at a time: Microsoft.Data.Sqlite connections are not thread-safe,
    // and the scheduler's slots, its heartbeat loop and progress updates all call in concurrently.
    private readonly SemaphoreSlim gate = new(1, 1);

    private SqliteStudyStorage(SqliteConnection connection, string path, bool readOnly)
    {
        this.connection = connection;
        Location = path;
        IsReadOnly = readOnly;
    }

    public string Location { get; }
    public bool IsReadOnly { get; }

    public static async Task<SqliteStudyStorage> OpenAsync(string path, StoreAccess access = StoreAccess.ReadWrite, CancellationToken ct = default)
    {
        var full = Path.GetFullPath(path);
        // The bytes first: nothing below may write into a file that is not (or no longer) a studies store.
        StoreFile.Inspect(full);
        var exists = File.Exists(full);
        if (access == StoreAccess.ReadOnly && !exists)
            throw new StoreException($"no studies recorded: {full} does not exist");

        if (access == StoreAccess.ReadWrite)
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new StoreException($"cannot create the folder of {full}: {e.Message}", e);
            }
            if (!exists) await CreateAsync(full, ct);
            var storage = await TryOpenAsync(full, $"Data Source={Quote(full)};Mode=ReadWrite;Pooling=False;Default Timeout=30", readOnly: false, ct);
            await storage.PrepareAsync(migrate: true, ct);
            return storage;
        }

        // Read-only: a plain read-only connection shares the WAL with a live writer. On a read-only file system (a copy of
        // a workspace, an archive) SQLite cannot create the WAL index, so the file is opened as immutable instead, which
        // is safe exactly there: nobody can be writing it.
        try
        {
            var storage = await TryOpenAsync(full, $"Data Source={Quote(full)};Mode=ReadOnly;Pooling=False;Default Timeout=30", readOnly: true, ct);
            await storage.PrepareAsync(migrate: false, ct);
            return storage;
        }
        catch (StoreException e) when (e.InnerException is SqliteException { SqliteErrorCode: 8 or 14 })
        {
            var uri = "file:" + Uri.EscapeDataString(full).Replace("%2F", "/", StringComparison.Ordinal) + "?immutable=1";
            var storage = await TryOpenAsync(full, $"Data Source={uri};Mode=ReadOnly;Pooling=False", readOnly: true, ct);
            await storage.PrepareAsync(migrate: false, ct);
            return storage;
        }
    }

    /// <summary>
    /// A new store appears whole or not at all: it is built under a private name beside its final one (schema, WAL mode,
    /// application id), closed, and linked into place only if nobody else got there first. Creating it in place let a
    /// second process that started at the same moment find an empty file ("studies.db is empty (0 bytes)") or a half
    /// migrated one ("table studies already exists"): 3 runs in 6 of two simultaneous `studies run`.
    /// </summary>
    private static async Task CreateAsync(string full, CancellationToken ct)
    {
        var building = $"{full}.new-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            var fresh = await TryOpenAsync(building, $"Data Source={Quote(building)};Mode=ReadWriteCreate;Pooling=False;Default Timeout=30", readOnly: false, ct);
            await using (fresh)
            {
                await fresh.ExecuteAsync($"PRAGMA journal_mode=WAL; PRAGMA application_id = {StoreFile.ApplicationId};", ct);
                await fresh.MigrateAsync(0, ct);
            }
            // Another process may have created it first: then theirs is used (ours is deleted below).
            StoreFile.TryPublish(building, full);
        }
        catch (SqliteException e)
        {
            throw new StoreException($"cannot create the study database {full}: {Describe(e)}", e);
        }
        finally
        {
            foreach (var leftover in new[] { building, building + "-wal", building + "-shm" })
            {
                try { File.Delete(leftover); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
        }
    }

    private static string Quote(string path) => "\"" + path.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static async Task<SqliteStudyStorage> TryOpenAsync(string full, string connectionString, bool readOnly, CancellationToken ct)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            await connection.OpenAsync(ct);
            return new SqliteStudyStorage(connection, full, readOnly);
        }
        catch (SqliteException e)
        {
            await connection.DisposeAsync();
            throw new StoreException($"cannot open the study database {full}: {Describe(e)}", e);
        }
    }

    private async Task PrepareAsync(bool migrate, CancellationToken ct)
    {
        try
        {
            await ExecuteAsync("PRAGMA busy_timeout=30000;", ct);
            // Reads only until the file is known to be a studies store in one piece: a foreign database is never
            // given the schema (nor switched to WAL), a damaged one is never written to.
            var version = Convert.ToInt32(await ScalarAsync("PRAGMA user_version;", ct), CultureInfo.InvariantCulture);
            await RefuseForeignAsync(version, ct);
            if (version > SqliteSchema.Migrations.Length)
                throw new StoreException($"{Location} was written by a newer version of studies (schema {version}, this one knows {SqliteSchema.Migrations.Length})");
            if (!migrate)
            {
                if (version < SqliteSchema.Migrations.Length)
                    throw new StoreException($"{Location} was written by an older version of studies (schema {version}); " +
                        "run a writing command on it once (e.g. `studies run` of one of its studies) to upgrade it, or read it with that version");
                return;
            }
            await QuickCheckAsync(ct);
            await ExecuteAsync("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", ct);
            // The version is read again inside the migration's own IMMEDIATE transaction: two processes upgrading the
            // same file at once then migrate it once, the second finding the work done.
            await MigrateAsync(null, ct);
        }
        catch (SqliteException e)
        {
            await connection.DisposeAsync();
            throw new StoreException($"cannot open the study database {Location}: {Describe(e)}", e);
        }
        catch (StoreException)
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Brings the schema up to date in one BEGIN IMMEDIATE transaction that also reads the version it starts from.</summary>
    private async Task MigrateAsync(int? knownVersion, CancellationToken ct)
    {
        await using var tx = connection.BeginTransaction(deferred: false);
        var version = knownVersion ?? Convert.ToInt32(await ScalarAsync("PRAGMA user_version;", ct, tx), CultureInfo.InvariantCulture);
        if (version > SqliteSchema.Migrations.Length)
            throw new StoreException($"{Location} was written by a newer version of studies (schema {version}, this one knows {SqliteSchema.Migrations.Length})");
        if (version == SqliteSchema.Migrations.Length) return;
        for (var v = version; v < SqliteSchema.Migrations.Length; v++)
            await ExecuteAsync(SqliteSchema.Migrations[v], ct, tx);
        await ExecuteAsync($"PRAGMA user_version = {SqliteSchema.Migrations.Length};", ct, tx);
        await tx.CommitAsync(ct);
    }

    /// <summary>
    /// A studies store has a schema version (user_version) and a <c>studies</c> table; an SQLite file with tables but
    /// neither, or another program's application id, belongs to someone else and is refused before anything is written.
    /// </summary>
    private async Task RefuseForeignAsync(int version, CancellationToken ct)
    {
        var applicationId = Convert.ToInt64(await ScalarAsync("PRAGMA application_id;", ct), CultureInfo.InvariantCulture);
        var tables = Convert.ToInt64(await ScalarAsync("SELECT count(*) FROM sqlite_master;", ct), CultureInfo.InvariantCulture);
        var hasStudies = Convert.ToInt64(await ScalarAsync("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'studies';", ct),
            CultureInfo.InvariantCulture) > 0;
        var foreign = (applicationId != 0 && applicationId != StoreFile.ApplicationId)
            || (version == 0 && tables > 0)
            || (version > 0 && !hasStudies);
        if (foreign)
            throw new StoreException($"{Location} is an SQLite database of another program ({tables} tables, no studies schema): " +
                "studies will not write into it; name another store with --store (or move the file away)");
        if (version == 0 && tables == 0 && IsReadOnly)
            throw new StoreException($"no studies recorded: {Location} is an empty SQLite database; run a study with `studies run FILE` to create the store");
    }

    /// <summary>
    /// SQLite's quick check (page structure, records and their order; not index contents) before a command writes. Random
    /// bytes written into the middle of a store otherwise went unnoticed by `run`, `status` and `list`, and a writer
    /// would build on them. Its cost grows with the file, so it is bounded: past <see cref="QuickCheckBudget"/> it stops
    /// and the store is used unchecked (`studies check-store` runs the full check without a bound).
    /// </summary>
    internal async Task QuickCheckAsync(CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var interrupted = false;
        SQLitePCL.raw.sqlite3_progress_handler(connection.Handle, 10_000, (_) =>
        {
            if (clock.Elapsed < QuickCheckBudget) return 0;
            interrupted = true;
            return 1;
        }, null);
        string result;
        try
        {
            result = Convert.ToString(await ScalarAsync("PRAGMA quick_check(1);", ct), CultureInfo.InvariantCulture) ?? "";
        }
        catch (SqliteException e) when (interrupted && e.SqliteErrorCode == 9)
        {
            return;
        }
        finally
        {
            SQLitePCL.raw.sqlite3_progress_handler(connection.Handle, 0, null, null);
        }
        if (result != "ok")
            throw new StoreException($"{Location} is damaged (SQLite's quick check: {Clip(result)}); nothing was written. " +
                "Restore it from a backup, or run `studies check-store` for the full report");
    }

    /// <summary>How long the quick check on opening for writing may take before it is skipped.</summary>
    internal static TimeSpan QuickCheckBudget { get; set; } = TimeSpan.FromSeconds(2);

    private static string Clip(string text)
    {
        var line = text.Split('\n')[0].Trim();
        return line.Length <= 160 ? line : line[..160] + "...";
    }

    /// <summary>A message a person can act on for SQLite's common failures.</summary>
    internal static string Describe(SqliteException e) => e.SqliteErrorCode switch
    {
        5 or 6 => $"the database is locked by another process for longer than the busy timeout ({e.Message})",
        13 => $"the disk is full ({e.Message}); free space and run again: recorded results are kept",
        8 => $"the database or its folder is read-only ({e.Message})",
        10 => $"an input/output error ({e.Message}); the disk may be full or failing",
        11 or 26 => $"the file is not a valid SQLite database or is corrupt ({e.Message})",
        14 => $"the file cannot be opened ({e.Message}); check that its folder exists and is accessible",
        _ => e.Message,
    };

    private static double Now() => StoreClock.Now();

    /// <summary>A state as the SQL literal it is stored as: the enum is the one list of states.</summary>
    private static string S(TrialState state) => "'" + state.Name() + "'";

    // ---- studies ------------------------------------------------------------------------------

    public Task<StudyRow?> FindStudyAsync(string name, CancellationToken ct = default) => ReadAsync(() => FindStudyCoreAsync(name, null, ct), ct);

    private async Task<StudyRow?> FindStudyCoreAsync(string name, SqliteTransaction? tx, CancellationToken ct)
    {
        await using var cmd = Command("SELECT * FROM studies WHERE name = $name", tx, ("$name", name));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadStudy(reader) : null;
    }

    public Task<IReadOnlyList<StudyRow>> ListStudiesAsync(CancellationToken ct = default) => ReadAsync(async () =>
    {
        await using var cmd = Command("SELECT * FROM studies ORDER BY name", null);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<StudyRow>();
        while (await reader.ReadAsync(ct)) list.Add(ReadStudy(reader));
        return (IReadOnlyList<StudyRow>)list;
    }, ct);

    public Task<StudyRow> SyncStudyAsync(StudyDefinition study, IReadOnlyList<PlannedTrialRow> trials, bool force, CancellationToken ct = default) =>
        WriteAsync(async tx =>
        {
            var now = Now();
            var existing = await FindStudyCoreAsync(study.Name, tx, ct);
            if (existing is not null && existing.DataHash != study.DataHash && !force)
                throw new StoreException($"study '{study.Name}' was recorded with a different data definition; " +
                    "its results would not be comparable. Use a new study name, or --force to keep both under one study");
            var settings = study.Settings.ToJson();
            if (existing is null)
            {
                await ExecuteAsync("""
                    INSERT INTO studies(name, source_path, definition, definition_hash, data_hash, settings, created_at, updated_at)
                    VALUES ($name, $path, $def, $hash, $data, $settings, $now, $now)
                    """, ct, tx, ("$name", study.Name), ("$path", study.SourcePath), ("$def", study.Text), ("$hash", study.DefinitionHash),
                    ("$data", study.DataHash), ("$settings", settings), ("$now", now));
            }
            else
            {
                await ExecuteAsync("""
                    UPDATE studies SET source_path = $path, definition = $def, definition_hash = $hash, data_hash = $data,
                    settings = $settings, updated_at = $now, cancelled = 0 WHERE id = $id
                    """, ct, tx, ("$path", study.SourcePath), ("$def", study.Text), ("$hash", study.DefinitionHash), ("$data", study.DataHash),
                    ("$settings", settings), ("$now", now), ("$id", existing.Id));
            }
            var row = (await FindStudyCoreAsync(study.Name, tx, ct))!;
            // A search's proposals belong to the study whatever the file now plans (their number orders the search's history).
            await ExecuteAsync("UPDATE trials SET in_definition = 0 WHERE study_id = $s AND proposal IS NULL", ct, tx, ("$s", row.Id));
            await using var upsert = Command($"""
                INSERT INTO trials(study_id, trial_id, ordinal, spec, axes, in_definition, state)
                VALUES ($s, $t, $o, $spec, $axes, 1, {S(TrialState.Queued)})
                ON CONFLICT(study_id, trial_id) DO UPDATE SET in_definition = 1, ordinal = $o, axes = $axes,
                    state = CASE WHEN state = {S(TrialState.Cancelled)} THEN {S(TrialState.Queued)} ELSE state END
                """, tx);
            var p = Parameters(upsert, "$s", "$t", "$o", "$spec", "$axes");
            p[0].Value = row.Id;
            var ordinal = 0;
            foreach (var trial in trials)
            {
                p[1].Value = trial.TrialId;
                p[2].Value = ordinal++;
                p[3].Value = trial.SpecJson;
                p[4].Value = JsonSerializer.Serialize(trial.Axes);
                await upsert.ExecuteNonQueryAsync(ct);
            }
            return row;
        }, ct);

    public Task<int> SetCancelledAsync(long studyId, CancellationToken ct = default) => WriteAsync(async tx =>
    {
        await ExecuteAsync("UPDATE studies SET cancelled = 1 WHERE id = $s", ct, tx, ("$s", studyId));
        return await ExecuteAsync($"""
            UPDATE trials SET state = {S(TrialState.Cancelled)}
            WHERE study_id = $s AND state IN ({S(TrialState.Queued)}, {S(TrialState.Interrupted)})
            """, ct, tx, ("$s", studyId));
    }, ct);

    public Task<int> RequeueAsync(long studyId, bool failedToo, CancellationToken ct = default) => WriteAsync(async tx =>
    {
        var states = failedToo ? $"({S(TrialState.Interrupted)}, {S(TrialState.Failed)})" : $"({S(TrialState.Interrupted)})";
        // A failed trial queued by hand gets its retry budget back but keeps counting attempts: "attempts 4" means four starts.
        return await ExecuteAsync($"""
            UPDATE trials SET not_before = 0,
                retries_from = CASE WHEN state = {S(TrialState.Failed)} THEN attempts ELSE retries_from END,
                state = {S(TrialState.Queued)}
            WHERE study_id = $s AND in_definition = 1 AND state IN {states}
            """, ct, tx, ("$s", studyId));
    }, ct);

    public Task<bool> AddProposalAsync(long studyId, SearchProposal proposal, IReadOnlyList<PlannedTrialRow> trials, CancellationToken ct = default) =>
        WriteAsync(async tx =>
        {
            if (await ScalarAsync("SELECT 1 FROM proposals WHERE study_id = $s AND number = $n", ct, tx, ("$s", studyId), ("$n", proposal.Number)) is not null)
                return false;
            foreach (var trial in trials)
            {
                if (await ScalarAsync("SELECT 1 FROM trials WHERE study_id = $s AND trial_id = $t", ct, tx, ("$s", studyId), ("$t", trial.TrialId)) is not null)
                    return false;
            }
            await ExecuteAsync("INSERT INTO proposals VALUES ($s, $n, $p, $now)", ct, tx,
                ("$s", studyId), ("$n", proposal.Number), ("$p", JsonSerializer.Serialize(proposal.Point)), ("$now", Now()));
            for (var k = 0; k < trials.Count; k++)
            {
                await ExecuteAsync($"""
                    INSERT INTO trials(study_id, trial_id, ordinal, spec, axes, in_definition, state, proposal)
                    VALUES ($s, $t, $o, $spec, $axes, 1, {S(TrialState.Queued)}, $n)
                    """, ct, tx, ("$s", studyId), ("$t", trials[k].TrialId), ("$o", SearchOrdinals.Of(proposal.Number, k)), ("$spec", trials[k].SpecJson),
                    ("$axes", JsonSerializer.Serialize(trials[k].Axes)), ("$n", proposal.Number));
            }
            return true;
        }, ct);

    public Task<IReadOnlyList<RecordedProposal>> ListProposalsAsync(long studyId, CancellationToken ct = default) =>
        ReadAsync(async () =>
        {
            await using var cmd = Command("""
                SELECT p.number, p.point, p.created_at, t.trial_id FROM proposals p LEFT JOIN trials t ON t.study_id = p.study_id AND t.proposal = p.number
                WHERE p.study_id = $s ORDER BY p.number, t.ordinal
                """, null, ("$s", studyId));
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            var rows = new List<(int, string, double, string?)>();
            while (await reader.ReadAsync(ct)) rows.Add((reader.GetInt32(0), reader.GetString(1), reader.GetDouble(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
            return StoredRows.Proposals(rows);
        }, ct);

    public Task RecordJobAsync(long studyId, ClusterJob job, CancellationToken ct = default) => WriteAsync(async tx =>
        await ExecuteAsync("INSERT OR IGNORE INTO jobs VALUES ($s, $e, $j, $at)", ct, tx,
            ("$s", studyId), ("$e", job.Executor), ("$j", job.JobId), ("$at", job.SubmittedAt)), ct);

    public Task<IReadOnlyList<ClusterJob>> ListJobsAsync(long studyId, CancellationToken ct = default) => ReadAsync(async () =>
    {
        await using var cmd = Command("SELECT executor, job_id, submitted_at FROM jobs WHERE study_id = $s ORDER BY submitted_at, job_id", null, ("$s", studyId));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<ClusterJob>();
        while (await reader.ReadAsync(ct)) list.Add(new ClusterJob(reader.GetString(0), reader.GetString(1), reader.GetDouble(2)));
        return (IReadOnlyList<ClusterJob>)list;
    }, ct);

    // ---- trial life cycle ---------------------------------------------------------------------

    public Task<TrialRow?> ClaimNextAsync(long studyId, TrialClaim claim, CancellationToken ct = default) => WriteAsync(async tx =>
    {
        var now = Now();
        await using var pick = Command($"""
            SELECT trial_id FROM trials WHERE study_id = $s AND in_definition = 1 AND state = {S(TrialState.Queued)} AND not_before <= $now
                AND NOT EXISTS (SELECT 1 FROM studies WHERE id = $s AND cancelled)
                AND ($among IS NULL OR trial_id IN (SELECT value FROM json_each($among)))
            ORDER BY ordinal LIMIT 1
            """, tx, ("$s", studyId), ("$now", now), ("$among", claim.Among is { } among ? JsonSerializer.Serialize(among) : null));
        if (await pick.ExecuteScalarAsync(ct) is not string trialId) return null;
        var placement = JsonSerializer.Serialize(claim.Placement ?? new Dictionary<string, string>());
        await ExecuteAsync($"""
            UPDATE trials SET state = {S(TrialState.Running)}, owner = $owner, device = $device, attempts = attempts + 1, heartbeat_at = $now,
            lease_until = $until, started_at = $now, phase = NULL, epoch = NULL, error = NULL, error_kind = NULL, placement = $placement
            WHERE study_id = $s AND trial_id = $t
            """, ct, tx, ("$owner", claim.Owner), ("$device", claim.Device), ("$now", now), ("$until", now + claim.Lease.TotalSeconds),
            ("$placement", placement), ("$s", studyId), ("$t", trialId));
        await ExecuteAsync("""
            INSERT OR REPLACE INTO attempts(study_id, trial_id, attempt, owner, device, placement, started_at)
            SELECT study_id, trial_id, attempts, owner, device, placement, $now FROM trials WHERE study_id = $s AND trial_id = $t
            """, ct, tx, ("$now", now), ("$s", studyId), ("$t", trialId));
        return await FindTrialCoreAsync(studyId, trialId, tx, ct);
    }, ct);

    public Task<bool> HeartbeatAsync(long studyId, string trialId, string owner, TimeSpan lease, int? phase = null, int? epoch = null,
        CancellationToken ct = default) => WriteAsync(async tx =>
    {
        var now = Now();
        return await ExecuteAsync($"""
            UPDATE trials SET heartbeat_at = $now, lease_until = $until, phase = COALESCE($phase, phase), epoch = COALESCE($epoch, epoch)
            WHERE study_id = $s AND trial_id = $t AND state = {S(TrialState.Running)} AND owner = $owner
            """, ct, tx, ("$now", now), ("$until", now + lease.TotalSeconds), ("$phase", phase), ("$epoch", epoch),
            ("$s", studyId), ("$t", trialId), ("$owner", owner)) == 1;
    }, ct);

    public Task<int> ReclaimExpiredAsync(long studyId, CancellationToken ct = default) => WriteAsync(async tx =>
    {
        var now = Now();
        await ExecuteAsync($"""
            UPDATE attempts SET ended_at = $now, outcome = 'lease-expired'
            WHERE ended_at IS NULL AND EXISTS (SELECT 1 FROM trials t WHERE t.study_id = attempts.study_id AND t.trial_id = attempts.trial_id
                AND t.study_id = $s AND t.state = {S(TrialState.Running)} AND t.attempts = attempts.attempt AND COALESCE(t.lease_until, 0) < $now)
            """, ct, tx, ("$now", now), ("$s", studyId));
        return await ExecuteAsync($"""
            UPDATE trials SET state = {S(TrialState.Interrupted)},
                error = 'its owner (' || COALESCE(owner, '?') || ') stopped renewing its lease; it resumes from its checkpoint',
                error_kind = 'lease-expired', owner = NULL, lease_until = NULL,
                seconds = COALESCE(seconds, 0) + (COALESCE(heartbeat_at, started_at, $now) - COALESCE(started_at, $now))
            WHERE study_id = $s AND state = {S(TrialState.Running)} AND COALESCE(lease_until, 0) < $now
            """, ct, tx, ("$now", now), ("$s", studyId));
    }, ct);

    public Task<double?> NextQueuedTimeAsync(long studyId, CancellationToken ct = default) => ReadAsync(async () =>
    {
        var value = await ScalarAsync($"SELECT MIN(not_before) FROM trials WHERE study_id = $s AND in_definition = 1 AND state = {S(TrialState.Queued)}",
            ct, ("$s", studyId));
        return value is DBNull or null ? (double?)null : Convert.ToDouble(value, CultureInfo.InvariantCulture);
    }, ct);

    public Task<bool> RecordEpochsAsync(long studyId, string trialId, string owner, IReadOnlyList<EpochRecord> epochs, CancellationToken ct = default) =>
        WriteAsync(async tx =>
        {
            if (!await OwnsAsync(studyId, trialId, owner, tx, ct)) return false;
            await InsertEpochsAsync(studyId, trialId, epochs, "INSERT OR REPLACE", tx, ct);
            return true;
        }, ct);

    public Task<bool> RecordResultAsync(long studyId, string trialId, string owner, TrialState state, TrialResult result, double seconds,
        string provenance, CancellationToken ct = default) => WriteAsync(async tx =>
    {
        if (!await OwnsAsync(studyId, trialId, owner, tx, ct)) return false;
        foreach (var table in new[] { "epochs", "mass_metrics", "phases" })
            await ExecuteAsync($"DELETE FROM {table} WHERE study_id = $s AND trial_id = $t", ct, tx, ("$s", studyId), ("$t", trialId));
        await InsertEpochsAsync(studyId, trialId, result.Epochs, "INSERT", tx, ct);
        await using (var insert = Command("INSERT INTO mass_metrics VALUES ($s, $t, $mass, $heldout, $split, $kind, $epoch, $metric, $value)", tx))
        {
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
            await ExecuteAsync("INSERT INTO phases VALUES ($s, $t, $p, $loss, $epochs, $seconds)", ct, tx,
                ("$s", studyId), ("$t", trialId), ("$p", phase.Phase), ("$loss", phase.Loss), ("$epochs", phase.Epochs), ("$seconds", phase.Seconds));
        }
        await StoredCurves.ReplaceAsync(tx, studyId, trialId, result.Curves, ct);
        var now = Now();
        await ExecuteAsync("""
            UPDATE trials SET state = $state, owner = NULL, lease_until = NULL, finished_at = $now, seconds = $seconds, error = $error,
            error_kind = $kind, best_epoch = $best, last_epoch = $last, provenance = $prov WHERE study_id = $s AND trial_id = $t
            """, ct, tx, ("$state", state.Name()), ("$now", now), ("$seconds", seconds), ("$error", result.Error),
            ("$kind", state == TrialState.Completed ? null : result.ErrorKind ?? state.Name()), ("$best", result.BestEpoch), ("$last", result.LastEpoch),
            ("$prov", provenance), ("$s", studyId), ("$t", trialId));
        await EndAttemptAsync(studyId, trialId, state.Name(), now, tx, ct);
        return true;
    }, ct);

    public Task<TrialState?> RecordFailureAsync(long studyId, string trialId, string owner, TrialFailure failure, CancellationToken ct = default) =>
        WriteAsync(async tx =>
        {
            if (!await OwnsAsync(studyId, trialId, owner, tx, ct)) return (TrialState?)null;
            var newState = failure.RequeueAt is null ? failure.State : TrialState.Queued;
            var now = Now();
            await ExecuteAsync($"""
                UPDATE trials SET state = $state, owner = NULL, lease_until = NULL, error = $error, error_kind = $kind, not_before = $nb,
                finished_at = CASE WHEN $state = {S(TrialState.Queued)} THEN NULL ELSE $now END,
                seconds = COALESCE(seconds, 0) + ($now - COALESCE(started_at, $now))
                WHERE study_id = $s AND trial_id = $t
                """, ct, tx, ("$state", newState.Name()), ("$error", failure.Error), ("$kind", failure.ErrorKind), ("$nb", failure.RequeueAt ?? 0),
                ("$now", now), ("$s", studyId), ("$t", trialId));
            await EndAttemptAsync(studyId, trialId, failure.ErrorKind, now, tx, ct);
            return newState;
        }, ct);

    public Task<bool> SetPlacementAsync(long studyId, string trialId, string owner, IReadOnlyDictionary<string, string> placement,
        CancellationToken ct = default) => WriteAsync(async tx =>
    {
        if (!await OwnsAsync(studyId, trialId, owner, tx, ct)) return false;
        var trial = (await FindTrialCoreAsync(studyId, trialId, tx, ct))!;
        var json = StoredRows.MergePlacement(trial.Placement is { } p ? JsonSerializer.Serialize(p) : null, placement);
        await ExecuteAsync("UPDATE trials SET placement = $p WHERE study_id = $s AND trial_id = $t", ct, tx, ("$p", json), ("$s", studyId), ("$t", trialId));
        await ExecuteAsync("UPDATE attempts SET placement = $p WHERE study_id = $s AND trial_id = $t AND attempt = $a", ct, tx,
            ("$p", json), ("$s", studyId), ("$t", trialId), ("$a", trial.Attempts));
        return true;
    }, ct);

    public Task<bool> AnnotateAttemptAsync(long studyId, string trialId, int attempt, IReadOnlyDictionary<string, string> placement,
        CancellationToken ct = default) => WriteAsync(async tx =>
    {
        if (await ScalarAsync("SELECT placement FROM attempts WHERE study_id = $s AND trial_id = $t AND attempt = $a", ct, tx,
                ("$s", studyId), ("$t", trialId), ("$a", attempt)) is not { } stored) return false;
        var json = StoredRows.MergePlacement(stored as string, placement);
        await ExecuteAsync("UPDATE attempts SET placement = $p WHERE study_id = $s AND trial_id = $t AND attempt = $a", ct, tx,
            ("$p", json), ("$s", studyId), ("$t", trialId), ("$a", attempt));
        await ExecuteAsync("UPDATE trials SET placement = $p WHERE study_id = $s AND trial_id = $t AND attempts = $a", ct, tx,
            ("$p", json), ("$s", studyId), ("$t", trialId), ("$a", attempt));
        return true;
    }, ct);

    public Task SetArtifactAsync(long studyId, string trialId, string kind, string path, CancellationToken ct = default) => WriteAsync(async tx =>
        await ExecuteAsync("INSERT OR REPLACE INTO artifacts VALUES ($s, $t, $k, $p)", ct, tx,
            ("$s", studyId), ("$t", trialId), ("$k", kind), ("$p", path)), ct);

    private async Task<bool> OwnsAsync(long studyId, string trialId, string owner, SqliteTransaction tx, CancellationToken ct) =>
        await ScalarAsync($"SELECT 1 FROM trials WHERE study_id = $s AND trial_id = $t AND state = {S(TrialState.Running)} AND owner = $o",
            ct, tx, ("$s", studyId), ("$t", trialId), ("$o", owner)) is not null;

    private Task<int> EndAttemptAsync(long studyId, string trialId, string outcome, double now, SqliteTransaction tx, CancellationToken ct) =>
        ExecuteAsync("""
            UPDATE attempts SET ended_at = $now, outcome = $outcome
            WHERE study_id = $s AND trial_id = $t AND attempt = (SELECT attempts FROM trials WHERE study_id = $s AND trial_id = $t)
            """, ct, tx, ("$now", now), ("$outcome", outcome), ("$s", studyId), ("$t", trialId));

    private async Task InsertEpochsAsync(long studyId, string trialId, IReadOnlyList<EpochRecord> epochs, string verb, SqliteTransaction tx,
        CancellationToken ct)
    {
        await using var insert = Command($"{verb} INTO epochs VALUES ($s, $t, $phase, $epoch, $metric, $value)", tx);
        var p = Parameters(insert, "$s", "$t", "$phase", "$epoch", "$metric", "$value");
        p[0].Value = studyId;
        p[1].Value = trialId;
        foreach (var e in epochs)
        foreach (var (metric, value) in e.Metrics)
        {
            p[2].Value = e.Phase;
            p[3].Value = e.Epoch;
            p[4].Value = metric;
            p[5].Value = Finite(value);
            await insert.ExecuteNonQueryAsync(ct);
        }
    }

    // ---- queries ------------------------------------------------------------------------------

    public Task<TrialChanges> ListTrialsChangedAsync(long studyId, long cursor, CancellationToken ct = default) => ReadAsync(async () =>
    {
        // The top first: rows numbered up to it were committed before the read below, which therefore sees them all.
        var top = Convert.ToInt64(await ScalarAsync("SELECT COALESCE(MAX(changed), 0) FROM trials WHERE study_id = $s", ct, ("$s", studyId)) ?? 0L,
            CultureInfo.InvariantCulture);
        await using var cmd = Command("SELECT * FROM trials WHERE study_id = $s AND changed >= $c ORDER BY changed", null, ("$s", studyId), ("$c", cursor));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<TrialRow>();
        while (await reader.ReadAsync(ct)) list.Add(ReadTrial(reader));
        return new TrialChanges(list, top + 1);
    }, ct);

    public Task<TrialPage> ListTrialsWhereAsync(long studyId, IReadOnlyList<TrialState> states, int minAttempts, int limit, CancellationToken ct = default, int offset = 0) =>
        ReadAsync(async () =>
        {
            var inStates = $"state IN ({(states.Count == 0 ? "''" : string.Join(", ", states.Select(S)))})";
            // Without an attempts bound the states alone: the state index gives the first rows in order (no scan of the study).
            var where = $"study_id = $s AND in_definition = 1 AND " + (minAttempts == int.MaxValue ? inStates : $"({inStates} OR attempts >= $m)");
            var total = Convert.ToInt32(await ScalarAsync($"SELECT COUNT(*) FROM trials WHERE {where}", ct, ("$s", studyId), ("$m", minAttempts)),
                CultureInfo.InvariantCulture);
            await using var cmd = Command($"SELECT * FROM trials WHERE {where} ORDER BY ordinal LIMIT $l OFFSET $o", null, ("$s", studyId), ("$m", minAttempts), ("$l", limit),
                ("$o", Math.Max(0, offset)));
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            var list = new List<TrialRow>();
            while (await reader.ReadAsync(ct)) list.Add(ReadTrial(reader));
            return new TrialPage(list, total);
        }, ct);

    public Task<(double? MeanSeconds, int Count)> CompletedSecondsAsync(long studyId, CancellationToken ct = default) => ReadAsync(async () =>
    {
        await using var cmd = Command($"SELECT AVG(seconds), COUNT(*) FROM trials WHERE study_id = $s AND in_definition = 1 AND state = {S(TrialState.Completed)} AND seconds > 0",
            null, ("$s", studyId));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.IsDBNull(0) ? (double?)null : reader.GetDouble(0), reader.GetInt32(1));
    }, ct);

    public Task<int> CountOutsideDefinitionAsync(long studyId, CancellationToken ct = default) => ReadAsync(async () =>
        Convert.ToInt32(await ScalarAsync("SELECT COUNT(*) FROM trials WHERE study_id = $s AND in_definition = 0", ct, ("$s", studyId)),
            CultureInfo.InvariantCulture), ct);

    public Task<IReadOnlyList<TrialRow>> ListTrialsAsync(long studyId, CancellationToken ct = default) => ReadAsync(async () =>
    {
        await using var cmd = Command("SELECT * FROM trials WHERE study_id = $s ORDER BY in_definition DESC, ordinal", null, ("$s", studyId));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<TrialRow>();
        while (await reader.ReadAsync(ct)) list.Add(ReadTrial(reader));
        return (IReadOnlyList<TrialRow>)list;
    }, ct);

    public Task<TrialRow?> FindTrialAsync(long studyId, string trialId, CancellationToken ct = default) =>
        ReadAsync(() => FindTrialCoreAsync(studyId, trialId, null, ct), ct);

    private async Task<TrialRow?> FindTrialCoreAsync(long studyId, string trialId, SqliteTransaction? tx, CancellationToken ct)
    {
        await using var cmd = Command("SELECT * FROM trials WHERE study_id = $s AND trial_id = $t", tx, ("$s", studyId), ("$t", trialId));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadTrial(reader) : null;
    }

    public Task<StateCounts> CountStatesAsync(long studyId, CancellationToken ct = default) => ReadAsync(async () =>
    {
        await using var cmd = Command("SELECT state, COUNT(*) FROM trials WHERE study_id = $s AND in_definition = 1 GROUP BY state", null, ("$s", studyId));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var counts = new Dictionary<TrialState, int>();
        while (await reader.ReadAsync(ct)) counts[TrialStates.Parse(reader.GetString(0))] = reader.GetInt32(1);
        return new StateCounts(counts);
    }, ct);

    public Task<IReadOnlyList<EpochRecord>> LoadEpochsAsync(long studyId, string trialId, CancellationToken ct = default) =>
        ReadAsync(() => LoadEpochsCoreAsync(studyId, trialId, ct), ct);

    private async Task<IReadOnlyList<EpochRecord>> LoadEpochsCoreAsync(long studyId, string trialId, CancellationToken ct)
    {
        var epochs = new SortedDictionary<(int, int), Dictionary<string, double>>();
        await using var cmd = Command("SELECT phase, epoch, metric, value FROM epochs WHERE study_id = $s AND trial_id = $t", null,
            ("$s", studyId), ("$t", trialId));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var key = (reader.GetInt32(0), reader.GetInt32(1));
            if (!epochs.TryGetValue(key, out var metrics)) epochs[key] = metrics = new Dictionary<string, double>();
            metrics[reader.GetString(2)] = reader.IsDBNull(3) ? double.NaN : reader.GetDouble(3);
        }
        return epochs.Select(e => new EpochRecord(e.Key.Item1, e.Key.Item2, e.Value)).ToList();
    }

    public Task<TrialResult> LoadResultAsync(long studyId, TrialRow trial, CancellationToken ct = default) => ReadAsync(async () =>
    {
        var epochs = await LoadEpochsCoreAsync(studyId, trial.TrialId, ct);
        var masses = new Dictionary<(double, bool, string, string, int), Dictionary<string, double>>();
        await using (var cmd = Command("""
            SELECT mass, heldout, split, epoch_kind, epoch, metric, value FROM mass_metrics WHERE study_id = $s AND trial_id = $t
            ORDER BY epoch_kind, split, mass
            """, null, ("$s", studyId), ("$t", trial.TrialId)))
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
        await using (var cmd = Command("SELECT phase, loss, epochs, seconds FROM phases WHERE study_id = $s AND trial_id = $t ORDER BY phase", null,
                         ("$s", studyId), ("$t", trial.TrialId)))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) phases.Add(new PhaseTiming(reader.GetInt32(0), reader.GetString(1), reader.GetInt32(2), reader.GetDouble(3)));
        }
        var curves = await StoredCurves.LoadAsync(connection, null, studyId, trial.TrialId, ct);
        return StoredResult.Compose(trial, epochs, masses.Select(m => new MassMetrics(m.Key.Item1, m.Key.Item2, Enum.Parse<SplitKind>(m.Key.Item3, true),
            Enum.Parse<EpochKind>(m.Key.Item4, true), m.Key.Item5, m.Value)).ToList(), phases) with { Curves = curves };
    }, ct);

    public Task<IReadOnlyList<AttemptRow>> ListAttemptsAsync(long studyId, string trialId, CancellationToken ct = default) => ReadAsync(async () =>
    {
        await using var cmd = Command("SELECT attempt, owner, device, placement, started_at, ended_at, outcome FROM attempts WHERE study_id = $s AND trial_id = $t ORDER BY attempt",
            null, ("$s", studyId), ("$t", trialId));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<AttemptRow>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(new AttemptRow(reader.GetInt32(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                Placement(reader.IsDBNull(3) ? null : reader.GetString(3)), reader.GetDouble(4), reader.IsDBNull(5) ? null : reader.GetDouble(5),
                reader.IsDBNull(6) ? null : reader.GetString(6)));
        }
        return (IReadOnlyList<AttemptRow>)list;
    }, ct);

    /// <summary>SQLite's full integrity check: "ok", or up to 100 problems, one a line.</summary>
    public Task<string> IntegrityCheckAsync(CancellationToken ct = default) => ReadAsync(async () =>
    {
        await using var cmd = Command("PRAGMA integrity_check(100);", null);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var lines = new List<string>();
        while (await reader.ReadAsync(ct)) lines.Add(reader.GetString(0));
        return string.Join("\n", lines);
    }, ct);

    // ---- plumbing -----------------------------------------------------------------------------

    private async Task<T> ReadAsync<T>(Func<Task<T>> work, CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try
        {
            return await work();
        }
        catch (SqliteException e)
        {
            throw new StoreException($"{Location}: {Describe(e)}", e);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Runs a write transaction (BEGIN IMMEDIATE: the single writer is decided before anything is read).</summary>
    private async Task<T> WriteAsync<T>(Func<SqliteTransaction, Task<T>> work, CancellationToken ct)
    {
        if (IsReadOnly) throw new StoreException($"{Location} was opened read-only; this command cannot change it");
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
            throw new StoreException($"{Location}: {Describe(e)}", e);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>NaN (an undefined metric) is stored as NULL, which SQLite keeps apart from every number.</summary>
    private static object Finite(double value) => double.IsNaN(value) ? DBNull.Value : value;

    private SqliteCommand Command(string sql, SqliteTransaction? tx, params (string Name, object? Value)[] parameters)
    {
        var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    /// <summary>Reusable parameters of a prepared insert; each value's type is taken from the value itself.</summary>
    private static SqliteParameter[] Parameters(SqliteCommand cmd, params string[] names) =>
        names.Select(n => cmd.Parameters.Add(new SqliteParameter { ParameterName = n })).ToArray();

    private Task<object?> ScalarAsync(string sql, CancellationToken ct, params (string, object?)[] parameters) => ScalarAsync(sql, ct, null, parameters);

    private async Task<object?> ScalarAsync(string sql, CancellationToken ct, SqliteTransaction? tx, params (string, object?)[] parameters)
    {
        await using var cmd = Command(sql, tx, parameters);
        return await cmd.ExecuteScalarAsync(ct);
    }

    private async Task<int> ExecuteAsync(string sql, CancellationToken ct, SqliteTransaction? tx = null, params (string Name, object? Value)[] parameters)
    {
        await using var cmd = Command(sql, tx, parameters);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    private static StudyRow ReadStudy(SqliteDataReader r) => new(
        r.GetInt64(r.GetOrdinal("id")), r.GetString(r.GetOrdinal("name")), NullableString(r, "source_path"), r.GetString(r.GetOrdinal("definition")),
        r.GetString(r.GetOrdinal("definition_hash")), r.GetString(r.GetOrdinal("data_hash")), StudySettings.FromJson(r.GetString(r.GetOrdinal("settings"))),
        r.GetDouble(r.GetOrdinal("created_at")), r.GetDouble(r.GetOrdinal("updated_at")), r.GetInt32(r.GetOrdinal("cancelled")) != 0);

    private static TrialRow ReadTrial(SqliteDataReader r) => StoredRows.ReadTrial(r);
    private static IReadOnlyDictionary<string, string> Placement(string? json) => StoredRows.Placement(json);
    private static string? NullableString(SqliteDataReader r, string column) => StoredRows.NullableString(r, column);

    public async ValueTask DisposeAsync()
    {
        await connection.DisposeAsync();
        gate.Dispose();
    }
}
