using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Studies.Orchestrator.Cluster.Local;

/// <summary>
/// A PostgreSQL server of one's own on this host, for the tests and <c>studies bench cluster</c>: a fresh cluster
/// (initdb) in a temporary folder, run as the user postgres, listening on 127.0.0.1 on a free port and on a Unix socket
/// in that folder, fsync off (its data is thrown away). Only this server is ever stopped, by its own data folder.
/// Needs root (to run as postgres) and the PostgreSQL server binaries (<c>tools/setup.sh postgresql</c>).
/// </summary>
public sealed class LocalPostgreSql : IAsyncDisposable
{
    private readonly string root;
    private readonly string pgCtl;
    private int databases;

    public int Port { get; }

    /// <summary>The folder of its data, socket and log.</summary>
    public string Root => root;
    private string DataDirectory => Path.Combine(root, "data");
    private string LogFile => Path.Combine(root, "server.log");

    private LocalPostgreSql(string bin, string? root = null, int? port = null)
    {
        pgCtl = Path.Combine(bin, "pg_ctl");
        this.root = root ?? Directory.CreateTempSubdirectory("studies-pg-").FullName;
        Port = port ?? FreePort();
    }

    /// <summary>A server started by another process (<c>studies cluster up</c>), to stop it.</summary>
    public static LocalPostgreSql Attach(string root, int port) =>
        new(BinDirectory() ?? throw new LocalClusterException("prerequisite missing: PostgreSQL server binaries"), root, port);

    /// <summary>The server binaries (Debian keeps them under /usr/lib/postgresql/VERSION/bin), or null.</summary>
    private static string? BinDirectory() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "pg_ctl")))
                .OrderByDescending(d => d, StringComparer.Ordinal).FirstOrDefault()
            : null;

    /// <summary>Creates and starts a new server; returns when it accepts connections.</summary>
    public static LocalPostgreSql Start()
    {
        HostProgram.RequireRoot("a local PostgreSQL server (run as user postgres)");
        var bin = BinDirectory() ?? throw new LocalClusterException(
            "prerequisite missing: PostgreSQL server binaries (/usr/lib/postgresql/*/bin/pg_ctl); run tools/setup.sh postgresql as root");
        var server = new LocalPostgreSql(bin);
        try
        {
            HostProgram.Run("chown", ["postgres:postgres", server.root]);
            server.AsPostgres(Path.Combine(bin, "initdb"), ["-D", server.DataDirectory, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
            server.Resume();
            return server;
        }
        catch
        {
            Directory.Delete(server.root, recursive: true);
            throw;
        }
    }

    /// <summary>The server's main process (postmaster), whose children are its backends; from its pid file.</summary>
    public int PostmasterPid() => int.Parse(File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Starts the (stopped) server again on its port and data.</summary>
    public void Resume() =>
        AsPostgres(pgCtl, ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "120", "-o",
            $"-p {Port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            "start"]);

    /// <summary>Stops the server at once (clients are disconnected), as a crash or a restart by an administrator would.</summary>
    public void Stop() => AsPostgres(pgCtl, ["-D", DataDirectory, "-m", "fast", "-w", "-t", "120", "stop"]);

    /// <summary>A new empty database; returns its location as <c>--store</c> names it.</summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken ct = default)
    {
        var name = $"t{Interlocked.Increment(ref databases)}";
        await using var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false;Timeout=60");
        await connection.OpenAsync(ct);
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await cmd.ExecuteNonQueryAsync(ct);
        return $"postgresql://postgres@127.0.0.1:{Port}/{name}";
    }

    /// <summary>The same database through the server's Unix socket: reachable from another network namespace of this host.</summary>
    public string ViaSocket(string location) => location.Replace("@127.0.0.1:", "@localhost:", StringComparison.Ordinal) + "?host=" + root;

    public ValueTask DisposeAsync()
    {
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try { Stop(); }
            catch (LocalClusterException) { /* already stopped: nothing of ours is left running */ }
        }
        Directory.Delete(root, recursive: true);
        return ValueTask.CompletedTask;
    }

    private void AsPostgres(string program, IReadOnlyList<string> args) =>
        HostProgram.Run("runuser", ["-u", "postgres", "--", program, .. args], workingDirectory: root);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
