using System.Diagnostics;

namespace Studies.Orchestrator.Cluster;

/// <summary>What the Slurm executor asks of Slurm; an interface so that the executor is tested without a cluster.</summary>
public interface ISlurm
{
    /// <summary>Submits a batch script with extra environment variables; returns the job id.</summary>
    Task<string> SubmitAsync(string scriptPath, IReadOnlyDictionary<string, string> environment, CancellationToken ct);

    /// <summary>Whether any task of the job is still pending or running.</summary>
    Task<bool> IsActiveAsync(string jobId, CancellationToken ct);

    /// <summary>Cancels jobs (all their array tasks); jobs already ended are no error.</summary>
    Task CancelAsync(IReadOnlyList<string> jobIds, CancellationToken ct);

    /// <summary>The job's tasks that have started, as Slurm sees them now; empty when Slurm no longer knows the job.</summary>
    Task<IReadOnlyList<SlurmTaskState>> TaskStatesAsync(string jobId, CancellationToken ct);

    /// <summary>The site's MaxArraySize (array indices run 0..MaxArraySize-1); null when not known.</summary>
    Task<int?> MaxArraySizeAsync(CancellationToken ct) => Task.FromResult<int?>(null);
}

/// <summary>Raised when a Slurm command fails; the message has its output.</summary>
public sealed class SlurmException(string message) : Exception(message);

/// <summary>Slurm through its commands (sbatch, squeue, scancel) on PATH, configured as the cluster configures them (SLURM_CONF).</summary>
public sealed class SlurmCommands : ISlurm
{
    public async Task<string> SubmitAsync(string scriptPath, IReadOnlyDictionary<string, string> environment, CancellationToken ct)
    {
        var output = await RunAsync("sbatch", ["--parsable", scriptPath], environment, ct);
        // --parsable prints "jobid" or "jobid;cluster".
        return output.Trim().Split(';')[0];
    }

    public async Task<bool> IsActiveAsync(string jobId, CancellationToken ct)
    {
        try
        {
            var output = await RunAsync("squeue", ["-h", "-j", jobId, "-o", "%T"], new Dictionary<string, string>(), ct);
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length > 0;
        }
        catch (SlurmException e) when (e.Message.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase))
        {
            return false; // long gone: Slurm forgets ended jobs after MinJobAge
        }
    }

    public async Task CancelAsync(IReadOnlyList<string> jobIds, CancellationToken ct)
    {
        if (jobIds.Count > 0) await RunAsync("scancel", jobIds, new Dictionary<string, string>(), ct);
    }

    public async Task<IReadOnlyList<SlurmTaskState>> TaskStatesAsync(string jobId, CancellationToken ct)
    {
        try
        {
            return SlurmTaskState.ParseScontrol(await RunAsync("scontrol", ["show", "job", "-o", jobId], new Dictionary<string, string>(), ct));
        }
        catch (SlurmException e) when (e.Message.Contains("Invalid job id", StringComparison.OrdinalIgnoreCase))
        {
            // slurmctld forgot the job (MinJobAge); a cluster with accounting still has it.
        }
        try
        {
            return SlurmTaskState.ParseSacct(await RunAsync("sacct", ["-n", "-P", "-X", "-j", jobId, "-o", "JobID,State,NodeList,ExitCode"], new Dictionary<string, string>(), ct));
        }
        catch (SlurmException)
        {
            return []; // no accounting here: how the job ended is not known any more
        }
    }

    public async Task<int?> MaxArraySizeAsync(CancellationToken ct)
    {
        try
        {
            return ParseMaxArraySize(await RunAsync("scontrol", ["show", "config"], new Dictionary<string, string>(), ct));
        }
        catch (SlurmException)
        {
            return null; // an older or restricted scontrol: Slurm's default (1001) is assumed by the caller
        }
    }

    /// <summary>MaxArraySize from <c>scontrol show config</c> (<c>MaxArraySize           = 1001</c>); null when absent.</summary>
    public static int? ParseMaxArraySize(string config)
    {
        foreach (var line in config.Split('\n'))
        {
            var eq = line.IndexOf('=');
            if (eq > 0 && line[..eq].Trim() == "MaxArraySize" && int.TryParse(line[(eq + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture, out var n)) return n;
        }
        return null;
    }

    private static async Task<string> RunAsync(string program, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, CancellationToken ct)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in environment) start.Environment[k] = v;
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SlurmException($"{program} was not found ({e.Message}): run this where Slurm's commands are on PATH (a login node)");
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            if (process.ExitCode != 0) throw new SlurmException($"{program} {string.Join(' ', args)} failed: {(await stderr).Trim()} {(await stdout).Trim()}".Trim());
            return await stdout;
        }
    }
}
