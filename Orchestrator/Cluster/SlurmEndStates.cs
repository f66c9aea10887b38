using System.Globalization;
using Studies.Orchestrator.Storage;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Cluster;

/// <summary>
/// Records how Slurm ended the array task under each attempt that did not finish its trial: CANCELLED (scancel),
/// TIMEOUT (the time limit), PREEMPTED, NODE_FAIL, OUT_OF_MEMORY, ... A task learns none of this before it is gone, so the
/// submitting process asks Slurm once the task has ended and adds <c>slurm_state</c> (and <c>slurm_reason</c>) to the
/// attempt, where <c>studies status</c> shows it.
/// </summary>
public sealed class SlurmEndStates(ISlurm slurm, IStudyStorage store, StudyRow study)
{
    /// <summary>Attempt outcomes of a trial that ran to its end: the task under them went on, and did not end them.</summary>
    private static readonly HashSet<string> Finished = new(StringComparer.Ordinal) { "completed", "diverged", "failed" };

    /// <summary>An attempt on a cluster task that ended without finishing its trial: the task's end may explain it.</summary>
    public static bool StoppedOnCluster(AttemptRow attempt) =>
        attempt is { EndedAt: not null, Outcome: { } outcome } && !Finished.Contains(outcome) && attempt.Placement.ContainsKey("job");

    /// <summary>Trials an attempt may have left unfinished: attempts beyond the first, or a trial that is not done.</summary>
    public static bool MayHaveStoppedAttempts(TrialRow trial) => trial.Attempts > 1 || trial.State is TrialState.Interrupted or TrialState.Failed;

    /// <summary>Trial:attempts whose ended attempts all have their state: not looked at again.</summary>
    private readonly HashSet<string> settled = new(StringComparer.Ordinal);

    /// <summary>Records the states of the tasks that have ended; true when no attempt is left waiting for its task to end.</summary>
    public async Task<bool> RecordAsync(IReadOnlyList<TrialRow> trials, CancellationToken ct)
    {
        var waiting = false;
        var tasks = new Dictionary<string, IReadOnlyDictionary<string, SlurmTaskState>>(StringComparer.Ordinal);
        foreach (var trial in trials.Where(MayHaveStoppedAttempts))
        {
            var key = trial.TrialId + ":" + trial.Attempts.ToString(CultureInfo.InvariantCulture);
            if (settled.Contains(key)) continue;
            var open = false;
            foreach (var attempt in await store.ListAttemptsAsync(study.Id, trial.TrialId, ct))
            {
                if (!StoppedOnCluster(attempt) || attempt.Placement.GetValueOrDefault("slurm_state") != "RUNNING") continue;
                var job = attempt.Placement["job"];
                var array = attempt.Placement.GetValueOrDefault("slurm_array_job_id") ?? job;
                if (!tasks.TryGetValue(array, out var states))
                    tasks[array] = states = (await slurm.TaskStatesAsync(array, ct)).ToDictionary(s => s.Job, StringComparer.Ordinal);
                if (!states.TryGetValue(job, out var state))
                {
                    // Slurm no longer knows it (and keeps no accounting): say so rather than leave it "running".
                    await store.AnnotateAttemptAsync(study.Id, trial.TrialId, attempt.Attempt, new Dictionary<string, string> { ["slurm_state"] = "UNKNOWN" }, ct);
                    continue;
                }
                if (!state.Ended)
                {
                    open = true;
                    continue;
                }
                var annotation = new Dictionary<string, string> { ["slurm_state"] = state.State };
                if (state.Reason is { } reason) annotation["slurm_reason"] = reason;
                await store.AnnotateAttemptAsync(study.Id, trial.TrialId, attempt.Attempt, annotation, ct);
            }
            if (open) waiting = true;
            else settled.Add(key);
        }
        return !waiting;
    }

    /// <summary>At the end of a run: records what can be, waiting up to <paramref name="patience"/> for stopped tasks to end.</summary>
    public async Task SettleAsync(IReadOnlyList<TrialRow> trials, TimeSpan patience, CancellationToken ct)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await RecordAsync(trials, ct) && clock.Elapsed < patience) await Task.Delay(TimeSpan.FromSeconds(1), ct);
    }

    /// <summary>
    /// Called by a task that Slurm asked to stop: when its job still runs with no more time left than the script's warning
    /// (<c>--signal=B:TERM@60</c>), the signal was the time limit's warning, and the attempts it stopped are recorded
    /// TIMEOUT. (Ended by its own exit before the limit, the task itself will be FAILED to Slurm, which would say nothing.)
    /// Returns whether it was the time limit.
    /// </summary>
    public static async Task<bool> RecordTimeLimitAsync(ISlurm slurm, IStudyStorage store, StudyRow study, string jobId,
        IEnumerable<(string Trial, int Attempt)> stopped, CancellationToken ct)
    {
        var task = (await slurm.TaskStatesAsync(jobId, ct)).FirstOrDefault();
        if (task is not { State: "RUNNING", TimeLeft: { } left } || left > TimeSpan.FromSeconds(SlurmScript.WarningSeconds + 30)) return false;
        foreach (var (trial, number) in stopped)
        {
            var attempt = (await store.ListAttemptsAsync(study.Id, trial, ct)).FirstOrDefault(a => a.Attempt == number);
            if (attempt is null || !StoppedOnCluster(attempt)) continue;
            await store.AnnotateAttemptAsync(study.Id, trial, number,
                new Dictionary<string, string> { ["slurm_state"] = "TIMEOUT", ["slurm_reason"] = "TimeLimit (stopped at its warning)" }, ct);
        }
        return true;
    }
}
