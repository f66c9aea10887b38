using Studies.Orchestrator.Storage;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Cli;

/// <summary>
/// How <c>studies run</c> ends once its executor returned: 0 when every trial of the study completed or diverged, else
/// <see cref="ExitCodes.Incomplete"/> with one line saying how many trials are left, failed or cancelled and why, so that
/// a script (or a Slurm job of its own) never mistakes a study with work left for a finished one.
/// </summary>
public static class RunVerdict
{
    /// <param name="why">What the executor said about stopping early (a cancel, arrays without progress); null: nothing.</param>
    public static (int Code, string? Line) Judge(string study, string file, StateCounts counts, string? why)
    {
        var failed = counts.Count(TrialState.Failed);
        var cancelled = counts.Count(TrialState.Cancelled);
        var left = counts.Left;
        if (left == 0 && failed == 0 && cancelled == 0) return (ExitCodes.Ok, null);
        var parts = new List<string>();
        if (left > 0)
        {
            var detail = string.Join(", ", new[] { TrialState.Queued, TrialState.Running, TrialState.Interrupted }
                .Where(s => counts.Count(s) > 0).Select(s => $"{counts.Count(s)} {s.Name()}"));
            parts.Add($"{left} trial(s) left ({detail})");
        }
        if (failed > 0) parts.Add($"{failed} failed");
        if (cancelled > 0) parts.Add($"{cancelled} cancelled");
        var reason = why ?? (left > 0 ? "the run ended before they ran" : failed > 0 ? "their errors are in `studies status " + study + "`" : "the study was cancelled");
        var next = failed > 0 && left == 0 && cancelled == 0
            ? $"`studies retry {study} --failed` then `studies run {file}` runs them again"
            : $"`studies run {file}` resumes";
        return (ExitCodes.Incomplete, $"error: study {study} did not complete: {string.Join(", ", parts)} of {counts.Total}; {reason}; {next}");
    }
}
