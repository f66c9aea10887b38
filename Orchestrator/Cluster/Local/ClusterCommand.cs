using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Studies.Orchestrator.Cluster.Local;

/// <summary>
/// <c>studies cluster up | down</c>: the single-node Slurm and PostgreSQL server that the tests and <c>studies bench
/// cluster</c> use, started for a person to try the cluster path by hand (as root), and stopped again. <c>up</c> records
/// what it started in a state file; <c>down</c> stops exactly that, by its PIDs and data folder.
/// </summary>
public static class ClusterCommand
{
    private sealed record State(string SlurmRoot, int[] SlurmPids, int Cpus, string PostgresRoot, int Port, string Store);

    private static readonly string DefaultStateFile = Path.Combine(Path.GetTempPath(), "studies-cluster.json");

    public static Command Create()
    {
        var stateFile = new Option<FileInfo?>("--state") { Description = "Where `up` records what it started, for `down` (default: /tmp/studies-cluster.json)" };
        var cpus = new Option<int>("--cpus") { Description = "CPUs of the node", DefaultValueFactory = _ => Math.Max(1, Environment.ProcessorCount) };
        var up = new Command("up", "Start a single-node Slurm and a PostgreSQL server on this host (as root) and print how to use them") { stateFile, cpus };
        up.SetAction(async (parse, ct) =>
        {
            var file = parse.GetValue(stateFile)?.FullName ?? DefaultStateFile;
            if (File.Exists(file))
            {
                Console.Error.WriteLine($"error: a test cluster is already up ({file}); `studies cluster down` first");
                return 1;
            }
            try
            {
                var postgres = LocalPostgreSql.Start();
                var store = postgres.ViaSocket(await postgres.CreateDatabaseAsync(ct));
                LocalSlurm slurm;
                try
                {
                    slurm = LocalSlurm.Start(Math.Max(1, parse.GetValue(cpus)));
                }
                catch
                {
                    await postgres.DisposeAsync();
                    throw;
                }
                var state = new State(slurm.Root, slurm.Pids.ToArray(), slurm.Cpus, postgres.Root, postgres.Port, store);
                await File.WriteAllTextAsync(file, JsonSerializer.Serialize(state), ct);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
                    a single-node Slurm ({slurm.Cpus} CPUs) and a PostgreSQL server are up; Slurm's clients run in its network namespace:
                      export SLURM_CONF={slurm.Config}
                      nsenter -t {slurm.Holder} -n -- studies run studies/quickstart.yaml --executor slurm --store '{store}'
                      nsenter -t {slurm.Holder} -n -- squeue
                    `studies cluster down` stops both (state in {file})
                    """));
                return 0;
            }
            catch (LocalClusterException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        var down = new Command("down", "Stop the Slurm and PostgreSQL server `studies cluster up` started") { stateFile };
        down.SetAction(async (parse, ct) =>
        {
            var file = parse.GetValue(stateFile)?.FullName ?? DefaultStateFile;
            if (!File.Exists(file))
            {
                Console.Error.WriteLine($"no test cluster is up (no {file})");
                return 1;
            }
            var state = JsonSerializer.Deserialize<State>(await File.ReadAllTextAsync(file, ct))!;
            await LocalSlurm.Attach(state.SlurmRoot, state.SlurmPids, state.Cpus).DisposeAsync();
            await LocalPostgreSql.Attach(state.PostgresRoot, state.Port).DisposeAsync();
            File.Delete(file);
            Console.WriteLine("the test cluster is down");
            return 0;
        });
        return new Command("cluster", "A single-node Slurm and PostgreSQL on this host, to try the cluster path (as root)") { up, down };
    }
}
