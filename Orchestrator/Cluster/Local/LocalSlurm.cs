using System.Diagnostics;
using System.Globalization;

namespace Studies.Orchestrator.Cluster.Local;

/// <summary>
/// A single-node Slurm of one's own on this host, for the tests and <c>studies bench cluster</c> (slurm-up.sh): munged
/// with its own key, slurmctld and slurmd with fresh state in a temporary folder, inside a network namespace of their own
/// (slurmctld binds 0.0.0.0 whatever its configuration says). Clients run in that namespace (<see cref="Command"/>); a
/// PostgreSQL server is reached from there through its Unix socket. Disposing stops exactly the daemons it started, by
/// their PIDs. Needs root and the packages <c>tools/setup.sh slurm-wlm munge</c> installs.
/// </summary>
public sealed class LocalSlurm : IAsyncDisposable
{
    private readonly string root;
    private int[] pids = [];

    private LocalSlurm(int cpus, string? root = null)
    {
        Cpus = cpus;
        this.root = root ?? Directory.CreateTempSubdirectory("studies-slurm-").FullName;
    }

    /// <summary>The folder of its configuration, state and logs.</summary>
    public string Root => root;

    /// <summary>The namespace holder, slurmctld, slurmd and munged, as started.</summary>
    public IReadOnlyList<int> Pids => pids;

    /// <summary>A cluster started by another process (<c>studies cluster up</c>), to stop it.</summary>
    public static LocalSlurm Attach(string root, IReadOnlyList<int> pids, int cpus) => new(cpus, root) { pids = pids.ToArray() };

    public int Cpus { get; }

    /// <summary>The process that holds the cluster's network namespace.</summary>
    public int Holder => pids[0];

    /// <summary>The cluster's slurm.conf: every client needs it as SLURM_CONF.</summary>
    public string Config => Path.Combine(root, "slurm.conf");

    /// <summary>Slurm's record of every ended job (jobcomp/filetxt): one line per job with its state.</summary>
    public string JobCompletions => Path.Combine(root, "log", "jobcomp.txt");

    /// <summary>Starts the daemons; returns when the node takes jobs.</summary>
    public static LocalSlurm Start(int cpus)
    {
        HostProgram.RequireRoot("a local Slurm (slurmctld, slurmd, munged) in its own network namespace");
        foreach (var program in new[] { "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch" })
        {
            if (!File.Exists(program))
                throw new LocalClusterException($"prerequisite missing: {program}; run tools/setup.sh slurm-wlm munge as root");
        }
        var slurm = new LocalSlurm(cpus);
        var script = Path.Combine(slurm.root, "slurm-up.sh");
        using (var resource = typeof(LocalSlurm).Assembly.GetManifestResourceStream("slurm-up.sh")!)
        using (var file = File.Create(script))
            resource.CopyTo(file);
        // Ports of its own, so that two clusters on one machine never meet.
        var port = 20000 + Environment.ProcessId % 20000;
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, slurm.root, cpus.ToString(CultureInfo.InvariantCulture), port.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        // The daemons keep no handle on these pipes (their output goes to files), so reading to the end returns.
        var stdout = process.StandardOutput.ReadToEnd();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        slurm.pids = stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        if (process.ExitCode != 0 || slurm.pids.Length != 4)
        {
            slurm.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw new LocalClusterException($"the local Slurm did not start: {stderr.Trim()}");
        }
        return slurm;
    }

    /// <summary>A program run inside the cluster's network namespace, with SLURM_CONF set.</summary>
    public ProcessStartInfo Command(string program, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("nsenter") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-t", Holder.ToString(CultureInfo.InvariantCulture), "-n", "--", program }.Concat(args))
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
        if (process.ExitCode != 0) throw new LocalClusterException($"{program} {string.Join(' ', args)}: {stderr.Result}");
        return stdout.Result;
    }

    public async ValueTask DisposeAsync()
    {
        // Jobs of this cluster first (their workers are children of slurmstepd, not of the daemons).
        if (pids.Length == 4)
        {
            try { Client("scancel", "--user=root"); await Task.Delay(TimeSpan.FromSeconds(2)); }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException) { }
        }
        // slurmctld, slurmd, then munged, then the namespace holder: only what this cluster started.
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
