using System.Globalization;
using System.Text;

namespace Studies.Orchestrator.Cluster;

/// <summary>Everything one job array of study workers needs: what to ask Slurm for, and what each task runs.</summary>
/// <param name="Tasks">Array tasks; each claims trials from the shared store until none is left.</param>
/// <param name="SlotsPerTask">Trials one task runs at once on each of its devices (its CPUs, or each GPU of its gres).</param>
/// <param name="Device">cpu, or cuda (the GPUs Slurm gives the task through gres, cuda:0..N-1 inside it).</param>
/// <param name="Program">The studies program and its leading arguments, as every node sees it (a shared path).</param>
public sealed record SlurmJobRequest(string Study, int Tasks, int SlotsPerTask, int ThreadsPerTrial, string Device, string CheckpointDirectory,
    string LogDirectory, IReadOnlyList<string> Program, int RetryMax, double RetryBackoffSeconds, Studies.ClusterRequest Cluster)
{
    /// <summary>
    /// The store as the task's command line names it: <c>--store URI</c> (no password in it; PostgreSQL's client reads
    /// PGPASSWORD or ~/.pgpass on the node) or <c>--store-file PATH</c> (a file only the user reads, for a URI with a
    /// password). On the command line, not in the environment, so that a site's <c>SBATCH_EXPORT=NONE</c> cannot lose it.
    /// </summary>
    public IReadOnlyList<string> StoreArguments { get; init; } = [];

    /// <summary>GPUs each task gets from its gres (0: a CPU task).</summary>
    public int Gpus { get; init; }

    /// <summary><c>--trial-timeout</c> of the run, in minutes; null: no limit.</summary>
    public double? TrialTimeoutMinutes { get; init; }

    /// <summary><c>--fail-fast</c> of the run (0: never).</summary>
    public int FailFast { get; init; }

    /// <summary>The submitting host's SLURM_CONF, for the task's own Slurm commands (its time left) when nothing is exported.</summary>
    public string? SlurmConf { get; init; }

    /// <summary>Trials one task runs at once: its slots on every device.</summary>
    public int TrialsPerTask => SlotsPerTask * Math.Max(1, Gpus);
}

/// <summary>The sbatch script of a study's job array: pure, so that <c>--dry-run</c> prints exactly what is submitted.</summary>
public static class SlurmScript
{
    /// <summary>Seconds before the time limit at which Slurm asks a task to stop, so that its trials checkpoint.</summary>
    public const int WarningSeconds = 60;

    public static string Render(SlurmJobRequest r)
    {
        var s = new StringBuilder();
        s.AppendLine("#!/bin/bash");
        s.AppendLine($"# Workers of study {r.Study}: each array task claims trials from the shared store until none is left.");
        s.AppendLine($"#SBATCH --job-name={Sanitise("studies-" + r.Study)}");
        s.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --array=0-{r.Tasks - 1}");
        s.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --ntasks=1");
        s.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --cpus-per-task={r.TrialsPerTask * r.ThreadsPerTrial}");
        if (r.Cluster.Partition is { } partition) s.AppendLine($"#SBATCH --partition={partition}");
        if (r.Cluster.Gres is { } gres) s.AppendLine($"#SBATCH --gres={gres}");
        if (r.Cluster.Time is { } time) s.AppendLine($"#SBATCH --time={time}");
        s.AppendLine($"#SBATCH --output={r.LogDirectory}/%A_%a.out");
        // Slurm's SIGTERM (scancel, preemption, the time limit) asks running trials to checkpoint: they resume elsewhere.
        s.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --signal=B:TERM@{WarningSeconds}");
        foreach (var arg in r.Cluster.SbatchArgs ?? []) s.AppendLine($"#SBATCH {arg}");
        s.AppendLine("# The store is named on the task's command line (a URI with a password: in a file only you can read), so that");
        s.AppendLine("# SBATCH_EXPORT=NONE cannot lose it; a task without it refuses to start.");
        s.AppendLine("set -eu");
        // The task asks Slurm for its time left: with nothing exported it still finds the cluster's configuration.
        if (r.SlurmConf is { Length: > 0 } conf) s.AppendLine("export SLURM_CONF=\"${SLURM_CONF:-" + conf.Replace("\"", "", StringComparison.Ordinal) + "}\"");
        var command = r.Program.Concat(
        [
            "cluster-task", r.Study, "--checkpoints", r.CheckpointDirectory, "--slots", r.SlotsPerTask.ToString(CultureInfo.InvariantCulture),
            "--threads", r.ThreadsPerTrial.ToString(CultureInfo.InvariantCulture), "--device", r.Device,
            "--retries", r.RetryMax.ToString(CultureInfo.InvariantCulture), "--backoff", r.RetryBackoffSeconds.ToString(CultureInfo.InvariantCulture),
        ]).Concat(r.Gpus > 0 ? ["--gpus", r.Gpus.ToString(CultureInfo.InvariantCulture)] : [])
            .Concat(r.TrialTimeoutMinutes is { } minutes ? ["--trial-timeout", minutes.ToString("R", CultureInfo.InvariantCulture)] : [])
            .Concat(r.FailFast > 0 ? ["--fail-fast", r.FailFast.ToString(CultureInfo.InvariantCulture)] : [])
            .Concat(r.StoreArguments);
        // exec: the task's signals reach the worker directly.
        s.AppendLine("exec " + string.Join(' ', command.Select(Quote)));
        return s.ToString();
    }

    /// <summary>A word for bash: kept as is when it is plain, else in single quotes.</summary>
    public static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "/._-:=@%+,".Contains(c)) ? word : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string Sanitise(string name) => new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
}
