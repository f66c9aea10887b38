using System.Diagnostics;
using Studies.Orchestrator.Cluster.Local;

namespace Studies.Orchestrator.Tests.Cluster;

/// <summary>
/// The tests' own single-node Slurm (<see cref="LocalSlurm"/>), started once per test class. Without root or the Slurm
/// packages a test fails with one line saying so.
/// </summary>
public sealed class SlurmCluster : IAsyncLifetime
{
    public const int Cpus = 2;

    private LocalSlurm? cluster;

    public LocalSlurm Cluster => cluster ?? throw new InvalidOperationException("the test Slurm was not started");

    public Task InitializeAsync()
    {
        cluster = LocalSlurm.Start(Cpus);
        return Task.CompletedTask;
    }

    public ProcessStartInfo Command(string program, IEnumerable<string> args) => Cluster.Command(program, args);

    public string Client(string program, params string[] args) => Cluster.Client(program, args);

    public async Task DisposeAsync()
    {
        if (cluster is not null) await cluster.DisposeAsync();
    }
}
