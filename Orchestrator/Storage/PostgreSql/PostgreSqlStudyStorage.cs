using System.Data;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Storage.PostgreSql;

/// <summary>The shared store of a cluster: a PostgreSQL database that every node reaches over the network.</summary>
public sealed class PostgreSqlBackend(ILoggerFactory? loggers = null) : IStorageBackend
{
    public StoreBackendEntry Entry => StoreBackends.PostgreSql;

    public Task<bool> ExistsAsync(StoreLocation location, CancellationToken ct) =>
        PostgreSqlStudyStorage.ExistsAsync(location.Target, ct);

    public async Task<IStudyStorage> OpenAsync(StoreLocation location, StoreAccess access, CancellationToken ct) =>
        await PostgreSqlStudyStorage.OpenAsync(location.Target, access, loggers?.CreateLogger<PostgreSqlStudyStorage>(), ct);
}

/// <summary>
/// <see cref="IStudyStorage"/> on a PostgreSQL database, for studies whose trials run on many hosts at once. Claiming is
/// one <c>UPDATE ... WHERE (study_id, trial_id) = (SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1)</c>: concurrent claimers
/// skip each other's rows instead of waiting, and no two get the same trial. Writes about a running trial lock its row
/// (<c>FOR UPDATE</c>) and check the owner in the same transaction, so a reclaim cannot slip in between. Every operation
/// is retried while the server is unreachable or restarting (up to <see cref="ReconnectFor"/>), so that a restart of
/// the database makes a run wait and go on instead of failing its trials.
/// <para>Leases are judged by the server's clock (<c>clock_timestamp()</c>): claims, heartbeats and reclaims read it in
/// their own transaction, so a node whose clock is off can neither cut another's lease short nor stretch its own. After
/// the server restarted, or after this client could not reach it, nothing is reclaimed for <see cref="ReclaimGrace"/>:
/// owners that waited through the outage renew first, and a result finished meanwhile is recorded, not discarded.
/// Other times (when a trial started, back-offs) are the clients' clocks, as in the SQLite store.</para>
/// </summary>
public sealed class PostgreSqlStudyStorage : IStudyStorage
{
    private readonly NpgsqlDataSource source;
    private readonly ILogger logger;

    /// <summary>1 while the server does not answer: one warning per outage, not one per operation waiting through it.</summary>
    private int unreachable;

    private PostgreSqlStudyStorage(NpgsqlDataSource source, string location, bool readOnly, ILogger logger)
    {
        this.source = source;
        this.logger = logger;
        Location = location;
        IsReadOnly = readOnly;
    }

    public string Location { get; }
    public bool IsReadOnly { get; }

    /// <summary>
    /// After the server restarted, or this client got its answers again after an outage, how long no lease is reclaimed:
    /// owners renew with their next heartbeat (every 5 s by default) and record what finished during the outage.
    /// </summary>
    public TimeSpan ReclaimGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>When this client last got an answer after an outage (Stopwatch ticks); 0: never.</summary>
    private long answeredAgainAt;

    /// <summary>How long an operation keeps trying while the server cannot be reached (a restart, a fail-over).</summary>
    public static TimeSpan ReconnectFor { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// <c>postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME&amp;host=SOCKET_FOLDER]</c> as an Npgsql connection string. Without a
    /// password in the URI, Npgsql reads <c>PGPASSWORD</c> or <c>~/.pgpass</c>, which is where a cluster keeps it.
    /// </summary>
    public static NpgsqlConnectionStringBuilder ConnectionString(string uri)
    {
        Uri parsed;
        try
        {
            parsed = new Uri(uri);
        }
        catch (UriFormatException e)
        {
            throw new StoreException($"'{new StoreLocation(StoreBackends.PostgreSql.Name, uri)}' is not a PostgreSQL location: use postgresql://USER@HOST:PORT/DATABASE ({e.Message})");
        }
        var database = Uri.UnescapeDataString(parsed.AbsolutePath.Trim('/'));
        if (parsed.Host.Length == 0 || database.Length == 0)
            throw new StoreException($"'{new StoreLocation(StoreBackends.PostgreSql.Name, uri)}' needs a host and a database: postgresql://USER@HOST:PORT/DATABASE");
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = parsed.Host,
            Port = parsed.IsDefaultPort || parsed.Port <= 0 ? 5432 : parsed.Port,
            Database = database,
            // Short commands, short waits: a dead server is detected quickly and retried by the store's own loop.
            Timeout = 15,
            CommandTimeout = 60,
            ApplicationName = "studies",
            // Few connections per process, and none kept long while idle: a task uses one or two at a time (a claim or a
            // result, a heartbeat), and an idle one holds none after ~15 s, so a study's connections follow its busy tasks,
            // not its array size. Beyond the server's max_connections, put pgbouncer in between (docs/cluster.md).
            MaxPoolSize = 20,
            ConnectionIdleLifetime = 10,
            ConnectionPruningInterval = 5,
        };
        if (parsed.UserInfo.Length > 0)
        {
            var parts = parsed.UserInfo.Split(':', 2);
            builder.Username = Uri.UnescapeDataString(parts[0]);
            if (parts.Length == 2) builder.Password = Uri.UnescapeDataString(parts[1]);
        }
        foreach (var pair in parsed.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            var value = kv.Length == 2 ? Uri.UnescapeDataString(kv[1]) : "";
            switch (kv[0])
            {
                case "schema": builder.SearchPath = value; break;
                // A folder: the server's Unix socket there (a database on the same host, reached without TCP).
                case "host": builder.Host = value; break;
                case "sslmode": builder.SslMode = Enum.Parse<SslMode>(value, ignoreCase: true); break;
                default: throw new StoreException($"'{new StoreLocation(StoreBackends.PostgreSql.Name, uri)}': unknown option '{kv[0]}' (known: schema, sslmode, host)");
            }
        }
        return builder;
    }

    /// <summary>
    /// The store's connections. Its columns and parameters are PostgreSQL's built-in types only (text, integers, float8,
    /// boolean and their arrays), which Npgsql knows without reading the server's catalogue: no type-loading query at a
    /// process's first connection. (`studies status` of a 100,000-trial study: this and <see cref="probed"/> took the
    /// store's opening from ~260 to ~150 ms of CPU; bench cluster --simulate-trials.)
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string uri)
    {
        var builder = new NpgsqlSlimDataSourceBuilder(ConnectionString(uri).ConnectionString);
        builder.EnableArrays();
        builder.ConfigureTypeLoading(types => types.EnableTypeLoading(false));
        return builder.Build();
    }

    /// <summary>
    /// The data source (and its pooled connection) of the last <see cref="ExistsAsync"/> that found a store, for the
    /// <see cref="OpenAsync"/> that follows it: a reading command checks, then opens, on one connection rather than two.
    /// </summary>
    private static (string Uri, NpgsqlDataSource Source)? probed;
    private static readonly Lock probeGate = new();

    public static async Task<bool> ExistsAsync(string uri, CancellationToken ct)
    {
        var source = CreateDataSource(uri);
        try
        {
            await using (var connection = await source.OpenConnectionAsync(ct))
            {
                await using var cmd = new NpgsqlCommand("SELECT to_regclass('studies_schema') IS NOT NULL", connection);
                if ((bool)(await cmd.ExecuteScalarAsync(ct))! is false) return false;
            }
            (string, NpgsqlDataSource)? previous;
            lock (probeGate)
            {
                previous = probed;
                probed = (uri, source);
            }
            source = null;
            if (previous is { } p) await p.Item2.DisposeAsync();
            return true;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InvalidCatalogName)
        {
            return false;
        }
        catch (NpgsqlException e)
        {
            throw new StoreException($"cannot reach the study database {new StoreLocation(StoreBackends.PostgreSql.Name, uri)}: {Describe(e)}", e);
        }
        finally
        {
            if (source is not null) await source.DisposeAsync();
        }
    }

    private static NpgsqlDataSource TakeProbedOrCreate(string uri)
    {
        lock (probeGate)
        {
            if (probed is { } p && p.Uri == uri)
            {
                probed = null;
                return p.Source;
            }
        }
        return CreateDataSource(uri);
    }

    public static async Task<PostgreSqlStudyStorage> OpenAsync(string uri, StoreAccess access = StoreAccess.ReadWrite, ILogger? logger = null,
        CancellationToken ct = default)
    {
        var location = new StoreLocation(StoreBackends.PostgreSql.Name, uri).ToString();
        var source = TakeProbedOrCreate(uri);
        var storage = new PostgreSqlStudyStorage(source, location, access == StoreAccess.ReadOnly, logger ?? NullLogger.Instance);
        try
        {
            await storage.PrepareAsync(migrate: access == StoreAccess.ReadWrite, ct);
            return storage;
        }
        catch
        {
            await source.DisposeAsync();
            throw;
        }
    }

    private Task PrepareAsync(bool migrate, CancellationToken ct) => RetryAsync(async () =>
    {
        await using var connection = await source.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        if (migrate)
        {
            // One migrating opener at a time: the others wait here and then find the schema current.
            await ExecuteAsync(connection, tx, "SELECT pg_advisory_xact_lock(7270121)", ct);
            await ExecuteAsync(connection, tx, "CREATE TABLE IF NOT EXISTS studies_schema (version INTEGER NOT NULL)", ct);
        }
        else if (await ScalarAsync(connection, tx, "SELECT to_regclass('studies_schema') IS NOT NULL", ct) is not true)
        {
            throw new StoreException($"no studies recorded: the database {Location} has no studies tables");
        }
        var version = await ScalarAsync(connection, tx, "SELECT MAX(version) FROM studies_schema", ct) is int v ? v : 0;
        if (version > PostgreSqlSchema.Migrations.Length)
            throw new StoreException($"{Location} was written by a newer version of studies (schema {version}, this one knows {PostgreSqlSchema.Migrations.Length})");
        if (!migrate && version < PostgreSqlSchema.Migrations.Length)
            throw new StoreException($"{Location} was written by an older version of studies (schema {version}); " +
                "run a writing command on it once (e.g. `studies run` of one of its studies) to upgrade it");
        for (var next = version; next < PostgreSqlSchema.Migrations.Length; next++)
            await ExecuteAsync(connection, tx, PostgreSqlSchema.Migrations[next], ct);
        if (version < PostgreSqlSchema.Migrations.Length)
        {
            await ExecuteAsync(connection, tx, "DELETE FROM studies_schema", ct);
            await ExecuteAsync(connection, tx, "INSERT INTO studies_schema VALUES (@v)", ct, ("v", PostgreSqlSchema.Migrations.Length));
        }
        await tx.CommitAsync(ct);
        return true;
    }, ct);

    /// <summary>A message a person can act on for the common failures.</summary>
    internal static string Describe(NpgsqlException e) => e switch
    {
        PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName } p =>
            $"the database does not exist ({p.MessageText}); create it first (createdb), studies creates its tables",
        PostgresException { SqlState: PostgresErrorCodes.InvalidPassword or PostgresErrorCodes.InvalidAuthorizationSpecification } p =>
            $"the server refused the login ({p.MessageText}); check the user, and the password in PGPASSWORD or ~/.pgpass",
        PostgresException { SqlState: PostgresErrorCodes.InsufficientPrivilege } p => $"permission denied ({p.MessageText})",
        PostgresException p => p.MessageText,
        _ => e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message,
    };

    /// <summary>
    /// Errors after which the same operation may simply be tried again: the server is unreachable, restarting or shutting
    /// down, or PostgreSQL chose this transaction as a deadlock or serialisation victim.
    /// </summary>
    private static bool IsTransient(Exception e) => e switch
    {
        PostgresException p => p.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
            or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.TooManyConnections
            || p.SqlState.StartsWith("08", StringComparison.Ordinal),
        NpgsqlException n => n.IsTransient || n.InnerException is System.Net.Sockets.SocketException or IOException or TimeoutException,
        _ => false,
    };

    private async Task<T> RetryAsync<T>(Func<Task<T>> work, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var delay = TimeSpan.FromMilliseconds(200);
        var waited = false;
        while (true)
        {
            try
            {
                var result = await work();
                if (waited)
                {
                    Interlocked.Exchange(ref answeredAgainAt, System.Diagnostics.Stopwatch.GetTimestamp());
                    if (Interlocked.Exchange(ref unreachable, 0) == 1) logger.LogWarning("the study database {Location} answers again", Location);
                }
                return result;
            }
            catch (Exception e) when (IsTransient(e) && started.Elapsed < ReconnectFor && !ct.IsCancellationRequested)
            {
                // Connections of the pool died with the server: drop them all, not one per failed attempt.
                source.Clear();
                if (Interlocked.Exchange(ref unreachable, 1) == 0)
                    logger.LogWarning("the study database {Location} does not answer ({Error}); retrying for up to {Minutes:0.#} min",
                        Location, e is NpgsqlException n ? Describe(n) : e.Message, ReconnectFor.TotalMinutes);
                waited = true;
                await Task.Delay(delay, ct);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
            }
            catch (NpgsqlException e)
            {
                throw new StoreException($"{Location}: {Describe(e)}", e);
            }
        }
    }

    private Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken ct) => RetryAsync(async () =>
    {
        await using var connection = await source.OpenConnectionAsync(ct);
        return await work(connection);
    }, ct);

    /// <summary>One transaction (READ COMMITTED: row locks and SKIP LOCKED do the rest), retried whole on a transient error.</summary>
    private Task<T> WriteAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken ct)
    {
        if (IsReadOnly) throw new StoreException($"{Location} was opened read-only; this command cannot change it");
        return RetryAsync(async () =>
        {
            await using var connection = await source.OpenConnectionAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
            var result = await work(connection, tx);
            await tx.CommitAsync(ct);
            return result;
        }, ct);
    }

    private static double Now() => StoreClock.Now();

    /// <summary>A state as the SQL literal it is stored as: the enum is the one list of states.</summary>
    private static string S(TrialState state) => "'" + state.Name() + "'";

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var cmd = new NpgsqlCommand(sql, connection, tx);
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, string sql, CancellationToken ct,
        params (string Name, object? Value)[] parameters)
    {
        await using var cmd = Command(connection, tx, sql, parameters);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, string sql, CancellationToken ct,
        params (string Name, object? Value)[] parameters)
    {
        await using var cmd = Command(connection, tx, sql, parameters);
        var value = await cmd.ExecuteScalarAsync(ct);
        return value is DBNull ? null : value;
    }

    private static async Task<List<T>> ListAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? tx, string sql, Func<NpgsqlDataReader, T> read,
        CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var cmd = Command(connection, tx, sql, parameters);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<T>();
        while (await reader.ReadAsync(ct)) list.Add(read(reader));
        return list;
    }

    // ---- studies ------------------------------------------------------------------------------

    public Task<StudyRow?> FindStudyAsync(string name, CancellationToken ct = default) =>
        ReadAsync(c => FindStudyCoreAsync(c, null, name, ct), ct);

    private static async Task<StudyRow?> FindStudyCoreAsync(NpgsqlConnection c, NpgsqlTransaction? tx, string name, CancellationToken ct) =>
        (await ListAsync(c, tx, "SELECT * FROM studies WHERE name = @name", ReadStudy, ct, ("name", name))).FirstOrDefault();

    public Task<IReadOnlyList<StudyRow>> ListStudiesAsync(CancellationToken ct = default) =>
        ReadAsync(async c => (IReadOnlyList<StudyRow>)await ListAsync(c, null, "SELECT * FROM studies ORDER BY name", ReadStudy, ct), ct);

    public Task<StudyRow> SyncStudyAsync(StudyDefinition study, IReadOnlyList<PlannedTrialRow> trials, bool force, CancellationToken ct = default) =>
        WriteAsync(async (c, tx) =>
        {
            var now = Now();
            // Two runs of one study starting at once: the second waits here for the first's definition, then finds it.
            await ExecuteAsync(c, tx, "SELECT pg_advisory_xact_lock(7270122, hashtext(@name))", ct, ("name", study.Name));
            var existing = await FindStudyCoreAsync(c, tx, study.Name, ct);
            if (existing is not null && existing.DataHash != study.DataHash && !force)
                throw new StoreException($"study '{study.Name}' was recorded with a different data definition; " +
                    "its results would not be comparable. Use a new study name, or --force to keep both under one study");
            var settings = study.Settings.ToJson();
            if (existing is null)
            {
                await ExecuteAsync(c, tx, """
                    INSERT INTO studies(name, source_path, definition, definition_hash, data_hash, settings, created_at, updated_at)
                    VALUES (@name, @path, @def, @hash, @data, @settings, @now, @now)
                    """, ct, ("name", study.Name), ("path", study.SourcePath), ("def", study.Text), ("hash", study.DefinitionHash),
                    ("data", study.DataHash), ("settings", settings), ("now", now));
            }
            else
            {
                await ExecuteAsync(c, tx, """
                    UPDATE studies SET source_path = @path, definition = @def, definition_hash = @hash, data_hash = @data,
                    settings = @settings, updated_at = @now, cancelled = FALSE WHERE id = @id
                    """, ct, ("path", study.SourcePath), ("def", study.Text), ("hash", study.DefinitionHash), ("data", study.DataHash),
                    ("settings", settings), ("now", now), ("id", existing.Id));
            }
            var row = (await FindStudyCoreAsync(c, tx, study.Name, ct))!;
            // A search's proposals belong to the study whatever the file now plans (their number orders the search's history).
            await ExecuteAsync(c, tx, "UPDATE trials SET in_definition = FALSE WHERE study_id = @s AND proposal IS NULL", ct, ("s", row.Id));
            await ExecuteAsync(c, tx, $"""
                INSERT INTO trials(study_id, trial_id, ordinal, spec, axes, in_definition, state)
                SELECT @s, t.id, t.ordinal, t.spec, t.axes, TRUE, {S(TrialState.Queued)}
                FROM unnest(@ids, @ordinals, @specs, @axes) AS t(id, ordinal, spec, axes)
                ON CONFLICT (study_id, trial_id) DO UPDATE SET ordinal = EXCLUDED.ordinal, spec = EXCLUDED.spec, axes = EXCLUDED.axes,
                    in_definition = TRUE,
                    state = CASE WHEN trials.state = {S(TrialState.Cancelled)} THEN {S(TrialState.Queued)} ELSE trials.state END
                """, ct, ("s", row.Id), ("ids", trials.Select(t => t.TrialId).ToArray()), ("ordinals", trials.Select((_, i) => i).ToArray()),
                ("specs", trials.Select(t => t.SpecJson).ToArray()), ("axes", trials.Select(t => JsonSerializer.Serialize(t.Axes)).ToArray()));
            return row;
        }, ct);

    public Task<int> SetCancelledAsync(long studyId, CancellationToken ct = default) => WriteAsync(async (c, tx) =>
    {
        await ExecuteAsync(c, tx, "UPDATE studies SET cancelled = TRUE, updated_at = @now WHERE id = @s", ct, ("now", Now()), ("s", studyId));
        return await ExecuteAsync(c, tx, $"""
            UPDATE trials SET state = {S(TrialState.Cancelled)}
            WHERE study_id = @s AND state IN ({S(TrialState.Queued)}, {S(TrialState.Interrupted)})
            """, ct, ("s", studyId));
    }, ct);

    public Task<int> RequeueAsync(long studyId, bool failedToo, CancellationToken ct = default) => WriteAsync(async (c, tx) =>
    {
        var states = failedToo ? $"({S(TrialState.Interrupted)}, {S(TrialState.Failed)})" : $"({S(TrialState.Interrupted)})";
        // A failed trial queued by hand gets its retry budget back but keeps counting attempts: "attempts 4" means four starts.
        return await ExecuteAsync(c, tx, $"""
            UPDATE trials SET not_before = 0,
                retries_from = CASE WHEN state = {S(TrialState.Failed)} THEN attempts ELSE retries_from END,
                state = {S(TrialState.Queued)}
            WHERE study_id = @s AND in_definition AND state IN {states}
            """, ct, ("s", studyId));
    }, ct);

    public Task<bool> AddProposalAsync(long studyId, SearchProposal proposal, IReadOnlyList<PlannedTrialRow> trials, CancellationToken ct = default) =>
        WriteAsync(async (c, tx) =>
        {
            // Serialises the proposals of one study: the second of two orchestrators asking at once then sees the number taken.
            await ExecuteAsync(c, tx, "SELECT pg_advisory_xact_lock(7270123, @s)", ct, ("s", (int)studyId));
            if (await ScalarAsync(c, tx, "SELECT 1 FROM proposals WHERE study_id = @s AND number = @n", ct, ("s", studyId), ("n", proposal.Number)) is not null)
                return false;
            if (await ScalarAsync(c, tx, "SELECT 1 FROM trials WHERE study_id = @s AND trial_id = ANY(@ids)", ct,
                    ("s", studyId), ("ids", trials.Select(t => t.TrialId).ToArray())) is not null)
                return false;
            await ExecuteAsync(c, tx, "INSERT INTO proposals VALUES (@s, @n, @p, @now)", ct,
                ("s", studyId), ("n", proposal.Number), ("p", JsonSerializer.Serialize(proposal.Point)), ("now", Now()));
            await ExecuteAsync(c, tx, $"""
                INSERT INTO trials(study_id, trial_id, ordinal, spec, axes, in_definition, state, proposal)
                SELECT @s, t.id, t.ordinal, t.spec, t.axes, TRUE, {S(TrialState.Queued)}, @n
                FROM unnest(@ids, @ordinals, @specs, @axes) AS t(id, ordinal, spec, axes)
                """, ct, ("s", studyId), ("n", proposal.Number), ("ids", trials.Select(t => t.TrialId).ToArray()),
                ("ordinals", trials.Select((_, k) => SearchOrdinals.Of(proposal.Number, k)).ToArray()),
                ("specs", trials.Select(t => t.SpecJson).ToArray()), ("axes", trials.Select(t => JsonSerializer.Serialize(t.Axes)).ToArray()));
            return true;
        }, ct);

    public Task<IReadOnlyList<RecordedProposal>> ListProposalsAsync(long studyId, CancellationToken ct = default) =>
        ReadAsync(async c => StoredRows.Proposals(await ListAsync(c, null, """
            SELECT p.number, p.point, p.created_at, t.trial_id FROM proposals p LEFT JOIN trials t ON t.study_id = p.study_id AND t.proposal = p.number
            WHERE p.study_id = @s ORDER BY p.number, t.ordinal
            """, r => (r.GetInt32(0), r.GetString(1), r.GetDouble(2), r.IsDBNull(3) ? null : r.GetString(3)), ct, ("s", studyId))), ct);

    public Task RecordJobAsync(long studyId, ClusterJob job, CancellationToken ct = default) => WriteAsync(async (c, tx) =>
        await ExecuteAsync(c, tx, "INSERT INTO jobs VALUES (@s, @e, @j, @at) ON CONFLICT DO NOTHING", ct,
            ("s", studyId), ("e", job.Executor), ("j", job.JobId), ("at", job.SubmittedAt)), ct);

    public Task<IReadOnlyList<ClusterJob>> ListJobsAsync(long studyId, CancellationToken ct = default) => ReadAsync(async c =>
        (IReadOnlyList<ClusterJob>)await ListAsync(c, null, "SELECT executor, job_id, submitted_at FROM jobs WHERE study_id = @s ORDER BY submitted_at, job_id",
            r => new ClusterJob(r.GetString(0), r.GetString(1), r.GetDouble(2)), ct, ("s", studyId)), ct);

    // ---- trial life cycle ---------------------------------------------------------------------

    /// <summary>The server's clock, seconds since the epoch: what leases are judged by.</summary>
    private static async Task<double> ServerNowAsync(NpgsqlConnection c, NpgsqlTransaction tx, CancellationToken ct) =>
        (double)(await ScalarAsync(c, tx, "SELECT extract(epoch FROM clock_timestamp())::float8", ct))!;

    public Task<TrialRow?> ClaimNextAsync(long studyId, TrialClaim claim, CancellationToken ct = default) => WriteAsync(async (c, tx) =>
    {
        var now = await ServerNowAsync(c, tx, ct);
        var claimed = await ListAsync(c, tx, $"""
            UPDATE trials SET state = {S(TrialState.Running)}, owner = @owner, device = @device, attempts = attempts + 1, heartbeat_at = @now,
                lease_until = @until, started_at = @now, phase = NULL, epoch = NULL, error = NULL, error_kind = NULL, placement = @placement
            WHERE (study_id, trial_id) = (
                SELECT study_id, trial_id FROM trials
                WHERE study_id = @s AND in_definition AND state = {S(TrialState.Queued)} AND not_before <= @now
                    AND NOT EXISTS (SELECT 1 FROM studies WHERE id = @s AND cancelled)
                    AND (CAST(@among AS TEXT[]) IS NULL OR trial_id = ANY(CAST(@among AS TEXT[])))
                ORDER BY ordinal LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING *
            """, ReadTrial, ct, ("owner", claim.Owner), ("device", claim.Device), ("now", now), ("until", now + claim.Lease.TotalSeconds),
            ("placement", JsonSerializer.Serialize(claim.Placement ?? new Dictionary<string, string>())), ("s", studyId),
            ("among", claim.Among?.ToArray()));
        if (claimed.Count == 0) return null;
        var trial = claimed[0];
        await ExecuteAsync(c, tx, """
            INSERT INTO attempts(study_id, trial_id, attempt, owner, device, placement, started_at)
            SELECT study_id, trial_id, attempts, owner, device, placement, @now FROM trials WHERE study_id = @s AND trial_id = @t
            ON CONFLICT (study_id, trial_id, attempt) DO UPDATE SET owner = EXCLUDED.owner, device = EXCLUDED.device,
                placement = EXCLUDED.placement, started_at = EXCLUDED.started_at, ended_at = NULL, outcome = NULL
            """, ct, ("now", now), ("s", studyId), ("t", trial.TrialId));
        return trial;
    }, ct);

    public Task<bool> HeartbeatAsync(long studyId, string trialId, string owner, TimeSpan lease, int? phase = null, int? epoch = null,
        CancellationToken ct = default) => WriteAsync(async (c, tx) =>
    {
        var now = await ServerNowAsync(c, tx, ct);
        return await ExecuteAsync(c, tx, $"""
            UPDATE trials SET heartbeat_at = @now, lease_until = @until, phase = COALESCE(CAST(@phase AS INTEGER), phase), epoch = COALESCE(CAST(@epoch AS INTEGER), epoch)
            WHERE study_id = @s AND trial_id = @t AND state = {S(TrialState.Running)} AND owner = @owner
            """, ct, ("now", now), ("until", now + lease.TotalSeconds), ("phase", phase), ("epoch", epoch),
            ("s", studyId), ("t", trialId), ("owner", owner)) == 1;
    }, ct);

    public Task<int> ReclaimExpiredAsync(long studyId, CancellationToken ct = default) => WriteAsync(async (c, tx) =>
    {
        // Just back from an outage: the owners were cut off too; give them a heartbeat or two to renew or record.
        var back = Interlocked.Read(ref answeredAgainAt);
        if (back != 0 && System.Diagnostics.Stopwatch.GetElapsedTime(back) < ReclaimGrace) return 0;
        var now = await ServerNowAsync(c, tx, ct);
        // One statement: the trials whose lease ran out become interrupted and their attempts end, as one change.
        await using var cmd = Command(c, tx, $"""
            WITH reclaimed AS (
                UPDATE trials SET state = {S(TrialState.Interrupted)},
                    error = 'its owner (' || COALESCE(owner, '?') || ') stopped renewing its lease; it resumes from its checkpoint',
                    error_kind = 'lease-expired', owner = NULL, lease_until = NULL,
                    seconds = COALESCE(seconds, 0) + (COALESCE(heartbeat_at, started_at, @now) - COALESCE(started_at, @now))
                WHERE study_id = @s AND state = {S(TrialState.Running)} AND COALESCE(lease_until, 0) < @now
                    AND extract(epoch FROM pg_postmaster_start_time()) < @now - @grace
                RETURNING trial_id, attempts),
            ended AS (
                UPDATE attempts a SET ended_at = @now, outcome = 'lease-expired' FROM reclaimed r
                WHERE a.study_id = @s AND a.trial_id = r.trial_id AND a.attempt = r.attempts AND a.ended_at IS NULL)
            SELECT COUNT(*) FROM reclaimed
            """, ("now", now), ("s", studyId), ("grace", ReclaimGrace.TotalSeconds));
        return Convert.ToInt32(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }, ct);

    public Task<double?> NextQueuedTimeAsync(long studyId, CancellationToken ct = default) => ReadAsync(async c =>
        await ScalarAsync(c, null, $"SELECT MIN(not_before) FROM trials WHERE study_id = @s AND in_definition AND state = {S(TrialState.Queued)}",
            ct, ("s", studyId)) as double?, ct);

    /// <summary>Locks the trial's row and checks that <paramref name="owner"/> holds it: nothing can change hands until commit.</summary>
    private static async Task<bool> OwnsAsync(NpgsqlConnection c, NpgsqlTransaction tx, long studyId, string trialId, string owner, CancellationToken ct) =>
        await ScalarAsync(c, tx, $"SELECT 1 FROM trials WHERE study_id = @s AND trial_id = @t AND state = {S(TrialState.Running)} AND owner = @o FOR UPDATE",
            ct, ("s", studyId), ("t", trialId), ("o", owner)) is not null;

    public Task<bool> RecordEpochsAsync(long studyId, string trialId, string owner, IReadOnlyList<EpochRecord> epochs, CancellationToken ct = default) =>
        WriteAsync(async (c, tx) =>
        {
            if (!await OwnsAsync(c, tx, studyId, trialId, owner, ct)) return false;
            await InsertEpochsAsync(c, tx, studyId, trialId, epochs, upsert: true, ct);
            return true;
        }, ct);

    /// <summary>All metric values of the epochs in one statement; a repeated (phase, epoch, metric) keeps its last value.</summary>
    private static Task<int> InsertEpochsAsync(NpgsqlConnection c, NpgsqlTransaction tx, long studyId, string trialId, IReadOnlyList<EpochRecord> epochs,
        bool upsert, CancellationToken ct)
    {
        var rows = epochs.SelectMany(e => e.Metrics.Select(m => (e.Phase, e.Epoch, Metric: m.Key, Value: Finite(m.Value))))
            .GroupBy(r => (r.Phase, r.Epoch, r.Metric)).Select(g => g.Last()).ToList();
        if (rows.Count == 0) return Task.FromResult(0);
        return ExecuteAsync(c, tx, $"""
            INSERT INTO epochs SELECT @s, @t, r.phase, r.epoch, r.metric, r.value FROM unnest(@phases, @epochs, @metrics, @values) AS r(phase, epoch, metric, value)
            {(upsert ? "ON CONFLICT (study_id, trial_id, phase, epoch, metric) DO UPDATE SET value = EXCLUDED.value" : "")}
            """, ct, ("s", studyId), ("t", trialId), ("phases", rows.Select(r => r.Phase).ToArray()), ("epochs", rows.Select(r => r.Epoch).ToArray()),
            ("metrics", rows.Select(r => r.Metric).ToArray()), ("values", rows.Select(r => r.Value).ToArray()));
    }

    /// <summary>NaN (an undefined metric) is stored as NULL, as in the SQLite store, so that both read back alike.</summary>
    private static double? Finite(double value) => double.IsNaN(value) ? null : value;

    public Task<bool> RecordResultAsync(long studyId, string trialId, string owner, TrialState state, TrialResult result, double seconds,
        string provenance, CancellationToken ct = default) => WriteAsync(async (c, tx) =>
    {
        if (!await OwnsAsync(c, tx, studyId, trialId, owner, ct)) return false;
        foreach (var table in new[] { "epochs", "mass_metrics", "phases" })
            await ExecuteAsync(c, tx, $"DELETE FROM {table} WHERE study_id = @s AND trial_id = @t", ct, ("s", studyId), ("t", trialId));
        await InsertEpochsAsync(c, tx, studyId, trialId, result.Epochs, upsert: false, ct);
        var masses = result.Masses.SelectMany(m => m.Metrics.Select(kv => (m, Metric: kv.Key, Value: Finite(kv.Value)))).ToList();
        if (masses.Count > 0)
        {
            await ExecuteAsync(c, tx, """
                INSERT INTO mass_metrics SELECT @s, @t, r.mass, r.heldout, r.split, r.kind, r.epoch, r.metric, r.value
                FROM unnest(@masses, @heldout, @splits, @kinds, @epochs, @metrics, @values) AS r(mass, heldout, split, kind, epoch, metric, value)
                """, ct, ("s", studyId), ("t", trialId), ("masses", masses.Select(r => r.m.Mass).ToArray()),
                ("heldout", masses.Select(r => r.m.Heldout).ToArray()), ("splits", masses.Select(r => r.m.Split.ToString().ToLowerInvariant()).ToArray()),
                ("kinds", masses.Select(r => r.m.EpochKind.ToString().ToLowerInvariant()).ToArray()), ("epochs", masses.Select(r => r.m.Epoch).ToArray()),
                ("metrics", masses.Select(r => r.Metric).ToArray()), ("values", masses.Select(r => r.Value).ToArray()));
        }
        foreach (var phase in result.Phases)
        {
            await ExecuteAsync(c, tx, "INSERT INTO phases VALUES (@s, @t, @p, @loss, @epochs, @seconds)", ct,
                ("s", studyId), ("t", trialId), ("p", phase.Phase), ("loss", phase.Loss), ("epochs", phase.Epochs), ("seconds", phase.Seconds));
        }
        await StoredCurves.ReplaceAsync(tx, studyId, trialId, result.Curves, ct);
        var now = Now();
        await ExecuteAsync(c, tx, """
            UPDATE trials SET state = @state, owner = NULL, lease_until = NULL, finished_at = @now, seconds = @seconds, error = @error,
            error_kind = @kind, best_epoch = @best, last_epoch = @last, provenance = @prov WHERE study_id = @s AND trial_id = @t
            """, ct, ("state", state.Name()), ("now", now), ("seconds", seconds), ("error", result.Error),
            ("kind", state == TrialState.Completed ? null : result.ErrorKind ?? state.Name()), ("best", result.BestEpoch), ("last", result.LastEpoch),
            ("prov", provenance), ("s", studyId), ("t", trialId));
        await EndAttemptAsync(c, tx, studyId, trialId, state.Name(), now, ct);
        return true;
    }, ct);

    public Task<TrialState?> RecordFailureAsync(long studyId, string trialId, string owner, TrialFailure failure, CancellationToken ct = default) =>
        WriteAsync(async (c, tx) =>
        {
            if (!await OwnsAsync(c, tx, studyId, trialId, owner, ct)) return (TrialState?)null;
            var newState = failure.RequeueAt is null ? failure.State : TrialState.Queued;
            var now = Now();
            await ExecuteAsync(c, tx, """
                UPDATE trials SET state = @state, owner = NULL, lease_until = NULL, error = @error, error_kind = @kind, not_before = @nb,
                finished_at = @finished, seconds = COALESCE(seconds, 0) + (@now - COALESCE(started_at, @now))
                WHERE study_id = @s AND trial_id = @t
                """, ct, ("state", newState.Name()), ("error", failure.Error), ("kind", failure.ErrorKind), ("nb", failure.RequeueAt ?? 0),
                ("finished", newState == TrialState.Queued ? (double?)null : now), ("now", now), ("s", studyId), ("t", trialId));
            await EndAttemptAsync(c, tx, studyId, trialId, failure.ErrorKind, now, ct);
            return newState;
        }, ct);

    public Task<bool> SetPlacementAsync(long studyId, string trialId, string owner, IReadOnlyDictionary<string, string> placement,
        CancellationToken ct = default) => WriteAsync(async (c, tx) =>
    {
        if (!await OwnsAsync(c, tx, studyId, trialId, owner, ct)) return false;
        var trial = (await FindTrialCoreAsync(c, tx, studyId, trialId, ct))!;
        var json = StoredRows.MergePlacement(trial.Placement is { } p ? JsonSerializer.Serialize(p) : null, placement);
        await ExecuteAsync(c, tx, "UPDATE trials SET placement = @p WHERE study_id = @s AND trial_id = @t", ct, ("p", json), ("s", studyId), ("t", trialId));
        await ExecuteAsync(c, tx, "UPDATE attempts SET placement = @p WHERE study_id = @s AND trial_id = @t AND attempt = @a", ct,
            ("p", json), ("s", studyId), ("t", trialId), ("a", trial.Attempts));
        return true;
    }, ct);

    public Task<bool> AnnotateAttemptAsync(long studyId, string trialId, int attempt, IReadOnlyDictionary<string, string> placement,
        CancellationToken ct = default) => WriteAsync(async (c, tx) =>
    {
        var stored = await ListAsync(c, tx, "SELECT placement FROM attempts WHERE study_id = @s AND trial_id = @t AND attempt = @a FOR UPDATE",
            r => r.IsDBNull(0) ? null : r.GetString(0), ct, ("s", studyId), ("t", trialId), ("a", attempt));
        if (stored.Count == 0) return false;
        var json = StoredRows.MergePlacement(stored[0], placement);
        await ExecuteAsync(c, tx, "UPDATE attempts SET placement = @p WHERE study_id = @s AND trial_id = @t AND attempt = @a", ct,
            ("p", json), ("s", studyId), ("t", trialId), ("a", attempt));
        await ExecuteAsync(c, tx, "UPDATE trials SET placement = @p WHERE study_id = @s AND trial_id = @t AND attempts = @a", ct,
            ("p", json), ("s", studyId), ("t", trialId), ("a", attempt));
        return true;
    }, ct);

    public Task SetArtifactAsync(long studyId, string trialId, string kind, string path, CancellationToken ct = default) => WriteAsync(async (c, tx) =>
        await ExecuteAsync(c, tx, "INSERT INTO artifacts VALUES (@s, @t, @k, @p) ON CONFLICT (study_id, trial_id, kind) DO UPDATE SET path = EXCLUDED.path",
            ct, ("s", studyId), ("t", trialId), ("k", kind), ("p", path)), ct);

    private static Task<int> EndAttemptAsync(NpgsqlConnection c, NpgsqlTransaction tx, long studyId, string trialId, string outcome, double now,
        CancellationToken ct) =>
        ExecuteAsync(c, tx, """
            UPDATE attempts SET ended_at = @now, outcome = @outcome
            WHERE study_id = @s AND trial_id = @t AND attempt = (SELECT attempts FROM trials WHERE study_id = @s AND trial_id = @t)
            """, ct, ("now", now), ("outcome", outcome), ("s", studyId), ("t", trialId));

    // ---- queries ------------------------------------------------------------------------------

    public Task<TrialChanges> ListTrialsChangedAsync(long studyId, long cursor, CancellationToken ct = default) => ReadAsync(async c =>
    {
        // Taken before the read: every transaction older than it has ended, so the read below sees all of their changes.
        var next = Convert.ToInt64(await ScalarAsync(c, null, "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint", ct),
            System.Globalization.CultureInfo.InvariantCulture);
        var rows = await ListAsync(c, null, "SELECT * FROM trials WHERE study_id = @s AND changed >= @c ORDER BY changed", ReadTrial, ct,
            ("s", studyId), ("c", cursor));
        return new TrialChanges(rows, Math.Max(cursor, next));
    }, ct);

    public Task<TrialPage> ListTrialsWhereAsync(long studyId, IReadOnlyList<TrialState> states, int minAttempts, int limit, CancellationToken ct = default, int offset = 0) =>
        ReadAsync(async c =>
        {
            // Without an attempts bound the states alone: the state index gives the first rows in order (no scan of the study).
            var where = minAttempts == int.MaxValue ? "study_id = @s AND in_definition AND state = ANY(@states)"
                : "study_id = @s AND in_definition AND (state = ANY(@states) OR attempts >= @m)";
            (string, object?)[] args = [("s", studyId), ("states", states.Select(s => s.Name()).ToArray()), ("m", minAttempts), ("l", limit), ("o", Math.Max(0, offset))];
            var total = Convert.ToInt32(await ScalarAsync(c, null, $"SELECT COUNT(*) FROM trials WHERE {where}", ct, args), System.Globalization.CultureInfo.InvariantCulture);
            var rows = await ListAsync(c, null, $"SELECT * FROM trials WHERE {where} ORDER BY ordinal LIMIT @l OFFSET @o", ReadTrial, ct, args);
            return new TrialPage(rows, total);
        }, ct);

    public Task<(double? MeanSeconds, int Count)> CompletedSecondsAsync(long studyId, CancellationToken ct = default) => ReadAsync(async c =>
        (await ListAsync(c, null, $"SELECT AVG(seconds)::float8, COUNT(*)::int FROM trials WHERE study_id = @s AND in_definition AND state = {S(TrialState.Completed)} AND seconds > 0",
            r => (r.IsDBNull(0) ? (double?)null : r.GetDouble(0), r.GetInt32(1)), ct, ("s", studyId)))[0], ct);

    public Task<int> CountOutsideDefinitionAsync(long studyId, CancellationToken ct = default) => ReadAsync(async c =>
        Convert.ToInt32(await ScalarAsync(c, null, "SELECT COUNT(*) FROM trials WHERE study_id = @s AND NOT in_definition", ct, ("s", studyId)),
            System.Globalization.CultureInfo.InvariantCulture), ct);

    public Task<IReadOnlyList<TrialRow>> ListTrialsAsync(long studyId, CancellationToken ct = default) => ReadAsync(async c =>
        (IReadOnlyList<TrialRow>)await ListAsync(c, null, "SELECT * FROM trials WHERE study_id = @s ORDER BY in_definition DESC, ordinal",
            ReadTrial, ct, ("s", studyId)), ct);

    public Task<TrialRow?> FindTrialAsync(long studyId, string trialId, CancellationToken ct = default) =>
        ReadAsync(c => FindTrialCoreAsync(c, null, studyId, trialId, ct), ct);

    private static async Task<TrialRow?> FindTrialCoreAsync(NpgsqlConnection c, NpgsqlTransaction? tx, long studyId, string trialId, CancellationToken ct) =>
        (await ListAsync(c, tx, "SELECT * FROM trials WHERE study_id = @s AND trial_id = @t", ReadTrial, ct, ("s", studyId), ("t", trialId))).FirstOrDefault();

    public Task<StateCounts> CountStatesAsync(long studyId, CancellationToken ct = default) => ReadAsync(async c =>
    {
        var rows = await ListAsync(c, null, "SELECT state, COUNT(*)::int FROM trials WHERE study_id = @s AND in_definition GROUP BY state",
            r => (TrialStates.Parse(r.GetString(0)), r.GetInt32(1)), ct, ("s", studyId));
        return new StateCounts(rows.ToDictionary(r => r.Item1, r => r.Item2));
    }, ct);

    public Task<IReadOnlyList<EpochRecord>> LoadEpochsAsync(long studyId, string trialId, CancellationToken ct = default) =>
        ReadAsync(c => LoadEpochsCoreAsync(c, studyId, trialId, ct), ct);

    private static async Task<IReadOnlyList<EpochRecord>> LoadEpochsCoreAsync(NpgsqlConnection c, long studyId, string trialId, CancellationToken ct)
    {
        var epochs = new SortedDictionary<(int, int), Dictionary<string, double>>();
        var rows = await ListAsync(c, null, "SELECT phase, epoch, metric, value FROM epochs WHERE study_id = @s AND trial_id = @t",
            r => (r.GetInt32(0), r.GetInt32(1), r.GetString(2), r.IsDBNull(3) ? double.NaN : r.GetDouble(3)), ct, ("s", studyId), ("t", trialId));
        foreach (var (phase, epoch, metric, value) in rows)
        {
            if (!epochs.TryGetValue((phase, epoch), out var metrics)) epochs[(phase, epoch)] = metrics = new Dictionary<string, double>();
            metrics[metric] = value;
        }
        return epochs.Select(e => new EpochRecord(e.Key.Item1, e.Key.Item2, e.Value)).ToList();
    }

    public Task<TrialResult> LoadResultAsync(long studyId, TrialRow trial, CancellationToken ct = default) => ReadAsync(async c =>
    {
        // One snapshot for the three tables: a result recorded meanwhile is seen whole or not at all.
        await using var tx = await c.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
        var epochs = await LoadEpochsCoreAsync(c, studyId, trial.TrialId, ct);
        var masses = new Dictionary<(double, bool, string, string, int), Dictionary<string, double>>();
        var rows = await ListAsync(c, tx, """
            SELECT mass, heldout, split, epoch_kind, epoch, metric, value FROM mass_metrics WHERE study_id = @s AND trial_id = @t
            ORDER BY epoch_kind, split, mass
            """, r => ((r.GetDouble(0), r.GetBoolean(1), r.GetString(2), r.GetString(3), r.GetInt32(4)), r.GetString(5), r.IsDBNull(6) ? double.NaN : r.GetDouble(6)),
            ct, ("s", studyId), ("t", trial.TrialId));
        foreach (var (key, metric, value) in rows)
        {
            if (!masses.TryGetValue(key, out var metrics)) masses[key] = metrics = new Dictionary<string, double>();
            metrics[metric] = value;
        }
        var phases = await ListAsync(c, tx, "SELECT phase, loss, epochs, seconds FROM phases WHERE study_id = @s AND trial_id = @t ORDER BY phase",
            r => new PhaseTiming(r.GetInt32(0), r.GetString(1), r.GetInt32(2), r.GetDouble(3)), ct, ("s", studyId), ("t", trial.TrialId));
        var curves = await StoredCurves.LoadAsync(c, tx, studyId, trial.TrialId, ct);
        await tx.CommitAsync(ct);
        return StoredResult.Compose(trial, epochs, masses.Select(m => new MassMetrics(m.Key.Item1, m.Key.Item2, Enum.Parse<SplitKind>(m.Key.Item3, true),
            Enum.Parse<EpochKind>(m.Key.Item4, true), m.Key.Item5, m.Value)).ToList(), phases) with { Curves = curves };
    }, ct);

    public Task<IReadOnlyList<AttemptRow>> ListAttemptsAsync(long studyId, string trialId, CancellationToken ct = default) => ReadAsync(async c =>
        (IReadOnlyList<AttemptRow>)await ListAsync(c, null,
            "SELECT attempt, owner, device, placement, started_at, ended_at, outcome FROM attempts WHERE study_id = @s AND trial_id = @t ORDER BY attempt",
            r => new AttemptRow(r.GetInt32(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), Placement(r.IsDBNull(3) ? null : r.GetString(3)),
                r.GetDouble(4), r.IsDBNull(5) ? null : r.GetDouble(5), r.IsDBNull(6) ? null : r.GetString(6)), ct, ("s", studyId), ("t", trialId)), ct);

    /// <summary>What can go wrong between tables without foreign keys: metric rows of trials that do not exist, running trials without an owner.</summary>
    public Task<string> IntegrityCheckAsync(CancellationToken ct = default) => ReadAsync(async c =>
    {
        var problems = new List<string>();
        foreach (var table in new[] { "epochs", "mass_metrics", "phases", "attempts", StoredCurves.Table })
        {
            var orphans = (long)(await ScalarAsync(c, null,
                $"SELECT COUNT(*) FROM {table} x WHERE NOT EXISTS (SELECT 1 FROM trials t WHERE t.study_id = x.study_id AND t.trial_id = x.trial_id)", ct))!;
            if (orphans > 0) problems.Add($"{orphans} row(s) of {table} belong to no trial");
        }
        var ownerless = (long)(await ScalarAsync(c, null, $"SELECT COUNT(*) FROM trials WHERE state = {S(TrialState.Running)} AND owner IS NULL", ct))!;
        if (ownerless > 0) problems.Add($"{ownerless} running trial(s) without an owner");
        return problems.Count == 0 ? "ok" : string.Join("; ", problems);
    }, ct);

    // ---- rows ---------------------------------------------------------------------------------

    private static StudyRow ReadStudy(NpgsqlDataReader r) => new(
        r.GetInt64(r.GetOrdinal("id")), r.GetString(r.GetOrdinal("name")), NullableString(r, "source_path"), r.GetString(r.GetOrdinal("definition")),
        r.GetString(r.GetOrdinal("definition_hash")), r.GetString(r.GetOrdinal("data_hash")), StudySettings.FromJson(r.GetString(r.GetOrdinal("settings"))),
        r.GetDouble(r.GetOrdinal("created_at")), r.GetDouble(r.GetOrdinal("updated_at")), r.GetBoolean(r.GetOrdinal("cancelled")));

    private static TrialRow ReadTrial(NpgsqlDataReader r) => StoredRows.ReadTrial(r);
    private static IReadOnlyDictionary<string, string> Placement(string? json) => StoredRows.Placement(json);
    private static string? NullableString(NpgsqlDataReader r, string column) => StoredRows.NullableString(r, column);

    public ValueTask DisposeAsync() => source.DisposeAsync();
}
