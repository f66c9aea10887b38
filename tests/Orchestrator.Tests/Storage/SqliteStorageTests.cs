using Microsoft.Data.Sqlite;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Storage;

/// <summary>The storage contract on the embedded SQLite store.</summary>
public sealed class SqliteStorageContractTests : StorageContract
{
    private readonly string dir = Directory.CreateTempSubdirectory("studies-store-").FullName;
    private string DbPath => Path.Combine(dir, "studies.db");

    protected override Task<string> CreateStoreAsync() => Task.FromResult("sqlite:" + DbPath);

    protected override async Task<IStudyStorage> OpenAsync(StoreAccess access = StoreAccess.ReadWrite) => await SqliteStudyStorage.OpenAsync(DbPath, access);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(dir, recursive: true);
    }
}

/// <summary>What only the SQLite backend has to say: its file, WAL readers, damaged files, the schema upgrade.</summary>
public sealed class SqliteStorageTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("studies-sqlite-").FullName;
    private string DbPath => Path.Combine(dir, "studies.db");

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public async Task A_reader_can_read_while_a_write_transaction_is_open()
    {
        await using var store = await SqliteStudyStorage.OpenAsync(DbPath);
        var study = await store.SyncStudyAsync(new StudyDefinition("s", null, "def", "h", "d", new StudySettings()),
            [new PlannedTrialRow("a", "{}", new Dictionary<string, string>())], false);
        await using var writer = new SqliteConnection($"Data Source={DbPath}");
        await writer.OpenAsync();
        await using var tx = writer.BeginTransaction(deferred: false);
        await using (var cmd = writer.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = "UPDATE studies SET updated_at = 0";
            await cmd.ExecuteNonQueryAsync();
        }
        // WAL: the store reads the last committed state without waiting for the writer.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Single(await store.ListTrialsAsync(study.Id));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2));
        tx.Rollback();
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_gives_a_clear_error_for_writers_and_readers()
    {
        await File.WriteAllTextAsync(DbPath, "this is not sqlite, just text that is long enough to look like a header........");
        foreach (var access in new[] { StoreAccess.ReadWrite, StoreAccess.ReadOnly })
        {
            var error = await Assert.ThrowsAsync<StoreException>(() => SqliteStudyStorage.OpenAsync(DbPath, access));
            Assert.Contains(DbPath, error.Message);
            Assert.Contains("not a valid SQLite database", error.Message);
        }
    }

    [Fact]
    public async Task A_zero_length_database_is_an_error_not_a_new_store()
    {
        await File.WriteAllBytesAsync(DbPath, []);
        var error = await Assert.ThrowsAsync<StoreException>(() => SqliteStudyStorage.OpenAsync(DbPath));
        Assert.Contains("empty (0 bytes)", error.Message);
        Assert.Equal(0, new FileInfo(DbPath).Length); // left as it was, for the user to look at
    }

    [Fact]
    public async Task Reading_a_missing_store_does_not_create_one()
    {
        var error = await Assert.ThrowsAsync<StoreException>(() => SqliteStudyStorage.OpenAsync(DbPath, StoreAccess.ReadOnly));
        Assert.Contains("does not exist", error.Message);
        Assert.False(File.Exists(DbPath));
    }

    [Fact]
    public async Task A_store_written_by_the_previous_schema_is_upgraded_and_its_running_trial_gets_a_lease()
    {
        await using (var old = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            await old.OpenAsync();
            await using var cmd = old.CreateCommand();
            cmd.CommandText = SqliteSchema.Migrations[0] + """
                PRAGMA user_version = 1;
                INSERT INTO studies(name, definition, definition_hash, data_hash, settings, created_at, updated_at)
                VALUES ('old', 'def', 'h', 'd', '{"description":"x","is_search":false,"report":{"compare":["model.kind"],"headline":"auc"}}', 0, 0);
                INSERT INTO trials(study_id, trial_id, ordinal, spec, axes, state, attempts, owner, heartbeat_at)
                VALUES (1, 't', 0, '{}', '{}', 'running', 1, 'host:1:2', 100);
                """;
            await cmd.ExecuteNonQueryAsync();
        }
        await using var store = await SqliteStudyStorage.OpenAsync(DbPath);
        var study = (await store.FindStudyAsync("old"))!;
        Assert.Equal(["model.kind"], study.Settings.Compare);
        Assert.Equal("auc", study.Settings.Headline);
        var trial = (await store.FindTrialAsync(study.Id, "t"))!;
        Assert.Equal(160, trial.LeaseUntil);
        Assert.Equal(1, await store.ReclaimExpiredAsync(study.Id));
        Assert.Equal(TrialState.Interrupted, (await store.FindTrialAsync(study.Id, "t"))!.State);
    }
}
