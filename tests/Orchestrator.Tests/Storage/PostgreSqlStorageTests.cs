using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.PostgreSql;
using Studies.Orchestrator.Tests.Cluster;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Storage;

/// <summary>The storage contract on PostgreSQL: a real server started by the tests, one database per test.</summary>
public sealed class PostgreSqlStorageContractTests(PostgreSqlServer server) : StorageContract, IClassFixture<PostgreSqlServer>
{
    protected override Task<string> CreateStoreAsync() => server.CreateDatabaseAsync();

    // The test server has just started: without the grace after a server start, the contract's lease tests run at once.
    protected override async Task<IStudyStorage> OpenAsync(StoreAccess access = StoreAccess.ReadWrite)
    {
        var store = await PostgreSqlStudyStorage.OpenAsync(Location, access);
        store.ReclaimGrace = TimeSpan.Zero;
        return store;
    }
}

/// <summary>What only the PostgreSQL backend has to say: locations, missing databases, a restart of the server mid-study.</summary>
public sealed class PostgreSqlStorageTests(PostgreSqlServer server) : IClassFixture<PostgreSqlServer>
{
    [Fact]
    public void A_location_becomes_a_connection_string_and_its_password_never_reaches_messages()
    {
        var builder = PostgreSqlStudyStorage.ConnectionString("postgresql://alice:s3cret@db.example.org:6543/studies?schema=group_a");
        Assert.Equal(("db.example.org", 6543, "studies", "alice", "s3cret", "group_a"),
            (builder.Host, builder.Port, builder.Database, builder.Username, builder.Password, builder.SearchPath));
        Assert.Equal(5432, PostgreSqlStudyStorage.ConnectionString("postgres://bob@host/db").Port);
        Assert.Equal("postgresql://alice:***@db.example.org:6543/studies", new StoreLocation(StoreBackends.PostgreSql.Name, "postgresql://alice:s3cret@db.example.org:6543/studies").ToString());
        var error = Assert.Throws<StoreException>(() => PostgreSqlStudyStorage.ConnectionString("postgresql://alice:s3cret@host/db?colour=red"));
        Assert.Contains("unknown option 'colour'", error.Message);
        Assert.DoesNotContain("s3cret", error.Message);
    }

    [Fact]
    public async Task Leases_expire_by_the_servers_clock_and_none_is_reclaimed_within_the_grace_after_the_server_started()
    {
        await using var store = await PostgreSqlStudyStorage.OpenAsync(await server.CreateDatabaseAsync());
        var study = await store.SyncStudyAsync(new StudyDefinition("g", null, "def", "h", "d", new StudySettings()),
            [new PlannedTrialRow("a", "{}", new Dictionary<string, string>())], false);
        var trial = (await store.ClaimNextAsync(study.Id, new TrialClaim("w", "cpu", TimeSpan.FromMilliseconds(50))))!;
        // The lease ran from the server's clock: heartbeat_at and lease_until are the server's.
        Assert.Equal(0.05, trial.LeaseUntil!.Value - trial.HeartbeatAt!.Value, 3);
        await Task.Delay(200);
        // The server started moments ago (the test fixture's): owners cut off by its restart get the grace to renew.
        store.ReclaimGrace = TimeSpan.FromHours(1);
        Assert.Equal(0, await store.ReclaimExpiredAsync(study.Id));
        store.ReclaimGrace = TimeSpan.Zero;
        Assert.Equal(1, await store.ReclaimExpiredAsync(study.Id));
    }

    [Fact]
    public async Task A_missing_database_is_no_store_for_readers_and_a_clear_error_for_writers()
    {
        var location = $"postgresql://postgres@127.0.0.1:{server.Port}/no_such_db";
        Assert.False(await PostgreSqlStudyStorage.ExistsAsync(location, CancellationToken.None));
        var error = await Assert.ThrowsAsync<StoreException>(() => PostgreSqlStudyStorage.OpenAsync(location));
        Assert.Contains("does not exist", error.Message);
        Assert.Contains("createdb", error.Message);

        var empty = await server.CreateDatabaseAsync();
        Assert.False(await PostgreSqlStudyStorage.ExistsAsync(empty, CancellationToken.None));
        var readError = await Assert.ThrowsAsync<StoreException>(() => PostgreSqlStudyStorage.OpenAsync(empty, StoreAccess.ReadOnly));
        Assert.Contains("no studies tables", readError.Message);
        await using (await PostgreSqlStudyStorage.OpenAsync(empty)) { }
        Assert.True(await PostgreSqlStudyStorage.ExistsAsync(empty, CancellationToken.None));
    }

    [Fact]
    public async Task Opening_the_same_new_database_from_many_clients_at_once_creates_the_schema_once()
    {
        var location = await server.CreateDatabaseAsync();
        var stores = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => PostgreSqlStudyStorage.OpenAsync(location)));
        foreach (var s in stores) await s.DisposeAsync();
        await using var store = await PostgreSqlStudyStorage.OpenAsync(location, StoreAccess.ReadOnly);
        Assert.Equal("ok", await store.IntegrityCheckAsync());
    }
}
