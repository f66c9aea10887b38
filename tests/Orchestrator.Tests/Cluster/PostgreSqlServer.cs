using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Studies.Orchestrator.Tests.Cluster;

/// <summary>
/// A real PostgreSQL server of the tests' own: a fresh cluster (initdb) in a temporary folder, run as the user postgres,
/// listening on 127.0.0.1 on a free port, fsync off. Started once per test class; each test gets its own database.
/// Only this server is ever stopped, by its own data folder. Needs root (to run as postgres) and the PostgreSQL server
/// binaries, which <c>tools/setup.sh postgresql</c> installs; without them a test fails with one line saying so.
/// </summary>
public sealed class PostgreSqlServer : IAsyncLifetime
{
    private readonly string root = Directory.CreateTempSubdirectory("studies-pg-").FullName;
    private int databases;

    public int Port { get; private set; }
    private string DataDirectory => Path.Combine(root, "data");
    private string LogFile => Path.Combine(root, "server.log");

    /// <summary>The server binaries (Debian keeps them under /usr/lib/postgresql/VERSION/bin), or null.</summary>
    private static string? BinDirectory() =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "pg_ctl")))
                .OrderByDescending(d => d, StringComparer.Ordinal).FirstOrDefault()
            : null;

    public async Task InitializeAsync()
    {
        Prerequisites.RequireRoot("a test PostgreSQL server (run as user postgres)");
        var bin = BinDirectory() ?? throw new InvalidOperationException(
            "prerequisite missing: PostgreSQL server binaries (/usr/lib/postgresql/*/bin/pg_ctl); run tools/setup.sh postgresql as root");
        Prerequisites.Run("chown", ["postgres:postgres", root]);
        Port = FreePort();
        AsPostgres(Path.Combine(bin, "initdb"), ["-D", DataDirectory, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
        pgCtl = Path.Combine(bin, "pg_ctl");
        await StartAsync();
    }

    private string pgCtl = "";

    public Task StartAsync()
    {
        AsPostgres(pgCtl, ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "120", "-o",
            $"-p {Port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            "start"]);
        return Task.CompletedTask;
    }

    /// <summary>Stops the server at once (clients are disconnected), as a crash or a restart by an administrator would.</summary>
    public void Stop() => AsPostgres(pgCtl, ["-D", DataDirectory, "-m", "fast", "-w", "-t", "120", "stop"]);

    /// <summary>A new empty database; returns its location as <c>--store</c> names it.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"t{Interlocked.Increment(ref databases)}";
        await using var connection = new NpgsqlConnection($"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false;Timeout=60");
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await cmd.ExecuteNonQueryAsync();
        return $"postgresql://postgres@127.0.0.1:{Port}/{name}";
    }

    /// <summary>The same database through the server's Unix socket: reachable from another network namespace of this host.</summary>
    public string ViaSocket(string location) => location.Replace("@127.0.0.1:", "@localhost:", StringComparison.Ordinal) + "?host=" + root;

    public Task DisposeAsync()
    {
        if (pgCtl.Length > 0 && File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try { Stop(); }
            catch (InvalidOperationException) { /* already stopped: nothing of ours is left running */ }
        }
        Directory.Delete(root, recursive: true);
        return Task.CompletedTask;
    }

    private void AsPostgres(string program, IReadOnlyList<string> args)
    {
        Prerequisites.Run("runuser", ["-u", "postgres", "--", program, .. args], workingDirectory: root);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>What the cluster tests need of the machine, each missing piece said in one line.</summary>
public static class Prerequisites
{
    public static void RequireRoot(string what)
    {
        if (!Environment.IsPrivilegedProcess)
            throw new InvalidOperationException($"prerequisite missing: root, for {what}; run the tests as root (CI does)");
    }

    /// <summary>Runs a program to the end; its output, or an exception with its output when it fails.</summary>
    public static string Run(string program, IReadOnlyList<string> args, string? workingDirectory = null, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory(),
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"prerequisite missing: {program} ({e.Message}); run tools/setup.sh as root", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(3)))
            {
                process.Kill(entireProcessTree: true);
                throw new InvalidOperationException($"{program} {string.Join(' ', args)} did not finish in time");
            }
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {stderr.Result}{stdout.Result}");
            return stdout.Result;
        }
    }
}
