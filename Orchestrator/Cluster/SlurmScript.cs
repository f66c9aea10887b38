using System.Globalization;
using System.Text;

namespace Studies.Orchestrator.Cluster;

/// <summary>Everything one job array of study workers needs: what to ask Slurm for, and what each task runs.</summary>
/// <param name="Tasks">Array tasks; each claims trials from the shared store until none is left.</param>
/// <param name="SlotsPerTask">Trials one task runs at once (on its CPUs, or its GPU).</param>
/// <param name="Device">cpu, or cuda:0 (the GPU Slurm gives the task through gres).</param>
/// <param name="Program">The studies program and its leading arguments, as every node sees it (a shared path).</param>
public sealed record SlurmJobRequest(string Study, int Tasks, int SlotsPerTask, int ThreadsPerTrial, string Device, string CheckpointDirectory,
    string LogDirectory, IReadOnlyList<string> Program, int RetryMax, double RetryBackoffSeconds, Studies.ClusterRequest Cluster);

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
        s.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --cpus-per-task={r.SlotsPerTask * r.ThreadsPerTrial}");
        if (r.Cluster.Partition is { } partition) s.AppendLine($"#SBATCH --partition={partition}");
        if (r.Cluster.Gres is { } gres) s.AppendLine($"#SBATCH --gres={gres}");
        if (r.Cluster.Time is { } time) s.AppendLine($"#SBATCH --time={time}");
        s.AppendLine($"#SBATCH --output={r.LogDirectory}/%A_%a.out");
        // Slurm's SIGTERM (scancel, preemption, the time limit) asks running trials to checkpoint: they resume elsewhere.
        s.AppendLine(CultureInfo.InvariantCulture, $"#SBATCH --signal=B:TERM@{WarningSeconds}");
        foreach (var arg in r.Cluster.SbatchArgs ?? []) s.AppendLine($"#SBATCH {arg}");
        s.AppendLine("# The store comes from the submitting environment (STUDIES_STORE), so a password never lands in this file.");
        s.AppendLine("set -eu");
        var command = r.Program.Concat(
        [
            "cluster-task", r.Study, "--checkpoints", r.CheckpointDirectory, "--slots", r.SlotsPerTask.ToString(CultureInfo.InvariantCulture),
            "--threads", r.ThreadsPerTrial.ToString(CultureInfo.InvariantCulture), "--device", r.Device,
            "--retries", r.RetryMax.ToString(CultureInfo.InvariantCulture), "--backoff", r.RetryBackoffSeconds.ToString(CultureInfo.InvariantCulture),
        ]);
        // exec: the task's signals reach the worker directly.
        s.AppendLine("exec " + string.Join(' ', command.Select(Quote)));
        return s.ToString();
    }

    /// <summary>A word for bash: kept as is when it is plain, else in single quotes.</summary>
    public static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "/._-:=@%+,".Contains(c)) ? word : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    private static string Sanitise(string name) => new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
}
