using System.Diagnostics;

namespace Studies.Orchestrator.Cluster.Local;

/// <summary>A piece of the local Slurm or PostgreSQL that is missing or did not start; its message is one line to act on.</summary>
public sealed class LocalClusterException(string message, Exception? inner = null) : InvalidOperationException(message, inner);

/// <summary>Programs of this host that the local Slurm and PostgreSQL need, run to the end; each missing piece said in one line.</summary>
public static class HostProgram
{
    public static void RequireRoot(string what)
    {
        if (!Environment.IsPrivilegedProcess)
            throw new LocalClusterException($"prerequisite missing: root, for {what}; run as root (CI does)");
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
            throw new LocalClusterException($"prerequisite missing: {program} ({e.Message}); run tools/setup.sh as root", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout ?? TimeSpan.FromMinutes(3)))
            {
                process.Kill(entireProcessTree: true);
                throw new LocalClusterException($"{program} {string.Join(' ', args)} did not finish in time");
            }
            if (process.ExitCode != 0)
                throw new LocalClusterException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {stderr.Result}{stdout.Result}");
            return stdout.Result;
        }
    }
}
