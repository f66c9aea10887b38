using System.Diagnostics;

namespace Studies.Orchestrator.Tests.Cluster;

/// <summary>
/// A real single-node Slurm of the tests' own (slurm-up.sh): munged with its own key, slurmctld and slurmd with fresh
/// state in a temporary folder, inside a network namespace of their own. Clients run in that namespace
/// (<see cref="Command"/>); a PostgreSQL server is reached from there through its Unix socket. Disposing stops exactly the
/// daemons it started, by their PIDs. Needs root and the packages <c>tools/setup.sh slurm-wlm munge</c> installs.
/// </summary>
public sealed class SlurmCluster : IAsyncLifetime
{
    private readonly string root = Directory.CreateTempSubdirectory("studies-slurm-").FullName;
    private int[] pids = [];

    public const int Cpus = 2;

    public int Holder => pids[0];
    public string Config => Path.Combine(root, "slurm.conf");

    public Task InitializeAsync()
    {
        Prerequisites.RequireRoot("a test Slurm (slurmctld, slurmd, munged) in its own network namespace");
        foreach (var program in new[] { "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch" })
        {
            if (!File.Exists(program))
                throw new InvalidOperationException($"prerequisite missing: {program}; run tools/setup.sh slurm-wlm munge as root");
        }
        var script = Path.Combine(AppContext.BaseDirectory, "Cluster", "slurm-up.sh");
        // Ports of its own, so that two test runs on one machine never meet.
        var port = 20000 + Environment.ProcessId % 20000;
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, root, Cpus.ToString(System.Globalization.CultureInfo.InvariantCulture), port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        // The daemons keep no handle on these pipes (their output goes to files), so reading to the end returns.
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        pids = stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        if (process.ExitCode != 0 || pids.Length != 4)
            throw new InvalidOperationException($"the test Slurm did not start: {stderr.Trim()}");
        return Task.CompletedTask;
    }

    /// <summary>A program run inside the cluster's network namespace, with SLURM_CONF set.</summary>
    public ProcessStartInfo Command(string program, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("nsenter") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-t", Holder.ToString(System.Globalization.CultureInfo.InvariantCulture), "-n", "--", program }.Concat(args))
            start.ArgumentList.Add(a);
        start.Environment["SLURM_CONF"] = Config;
        start.Environment.Remove("STUDIES_HOME");
        start.Environment.Remove("STUDIES_STORE");
        return start;
    }

    /// <summary>Runs a Slurm client (squeue, scancel, ...) in the namespace; its output.</summary>
    public string Client(string program, params string[] args)
    {
        using var process = Process.Start(Command(program, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(1))) { process.Kill(); throw new TimeoutException($"{program} did not answer"); }
        if (process.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', args)}: {stderr.Result}");
        return stdout.Result;
    }

    public async Task DisposeAsync()
    {
        // Jobs of this cluster first (their workers are children of slurmstepd, not of the daemons).
        if (pids.Length == 4)
        {
            try { Client("scancel", "--user=root"); await Task.Delay(TimeSpan.FromSeconds(2)); }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException) { }
        }
        // slurmctld, slurmd, then munged, then the namespace holder: only what this fixture started.
        foreach (var pid in pids.Skip(1).Append(pids.FirstOrDefault()))
        {
            if (pid <= 0) continue;
            try
            {
                using var p = Process.GetProcessById(pid);
                p.Kill();
                await p.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or OperationCanceledException)
            {
                // already gone
            }
        }
        try { Directory.Delete(root, recursive: true); }
        catch (IOException) { /* a slurmstepd still writing its spool: the temporary folder goes with the machine */ }
    }
}
