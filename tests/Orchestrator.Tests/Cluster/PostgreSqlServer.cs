using Studies.Orchestrator.Cluster.Local;

namespace Studies.Orchestrator.Tests.Cluster;

/// <summary>
/// The tests' own PostgreSQL server (<see cref="LocalPostgreSql"/>), started once per test class; each test gets its own
/// database. Without root or the server binaries a test fails with one line saying so.
/// </summary>
public sealed class PostgreSqlServer : IAsyncLifetime
{
    private LocalPostgreSql? server;

    private LocalPostgreSql Server => server ?? throw new InvalidOperationException("the test PostgreSQL server was not started");

    public int Port => Server.Port;

    public Task InitializeAsync()
    {
        server = LocalPostgreSql.Start();
        return Task.CompletedTask;
    }

    /// <summary>Starts the stopped server again.</summary>
    public Task StartAsync()
    {
        Server.Resume();
        return Task.CompletedTask;
    }

    public void Stop() => Server.Stop();

    public Task<string> CreateDatabaseAsync() => Server.CreateDatabaseAsync();

    public string ViaSocket(string location) => Server.ViaSocket(location);

    public async Task DisposeAsync()
    {
        if (server is not null) await server.DisposeAsync();
    }
}
