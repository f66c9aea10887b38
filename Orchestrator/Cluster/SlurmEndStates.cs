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

    /// <summary>
    /// Attempt outcomes the trial's own process decided, inside a task that went on: its worker crashed (a segfault, the
    /// kernel's OOM killer), hung, ran past <c>--trial-timeout</c>, or the device ran out of memory; or the owner lost its
    /// lease. The task's end (often COMPLETED, exit 0, hours later) is not how such an attempt ended.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, (string State, string Reason)> OwnEnds = new Dictionary<string, (string, string)>(StringComparer.Ordinal)
    {
        ["crash"] = ("FAILED", "the trial's worker crashed; the task went on"),
        ["hang"] = ("FAILED", "the trial's worker stopped responding; the task went on"),
        ["timeout"] = ("FAILED", "the trial ran past --trial-timeout; the task went on"),
        [TrialErrorKinds.OutOfMemory] = ("OUT_OF_MEMORY", "the device ran out of memory; the task went on"),
        ["lease-lost"] = ("FAILED", "the task lost the trial's lease (the store was unreachable); the task went on"),
    };

    private static bool EndedByItself(string outcome) => OwnEnds.ContainsKey(outcome);

    /// <summary>
    /// How an ended attempt is shown (<c>slurm_state</c>, <c>slurm_reason</c>), from how Slurm ended its task (null: Slurm no
    /// longer knows it) and the attempt's recorded outcome. A task Slurm ended other than COMPLETED (CANCELLED, TIMEOUT,
    /// PREEMPTED, NODE_FAIL, OUT_OF_MEMORY, FAILED) ended the attempt with it: its state, and for FAILED its exit code. A
    /// task that COMPLETED (exit 0) went on after the attempt, so COMPLETED never describes an unfinished attempt: the
    /// attempt's own end (a crashed worker: FAILED) is shown, or for an attempt the task stopped (interrupted, a lease that
    /// expired) while exiting 0, FAILED with the outcome.
    /// </summary>
    public static (string State, string? Reason) AttemptEnd(SlurmTaskState? task, string outcome)
    {
        if (task is { Ended: true, State: not "COMPLETED" })
        {
            var reason = task.Reason;
            if (task.State == "FAILED" && ExitText(task.ExitCode) is { } exit) reason = reason is null ? exit : $"{reason}, {exit}";
            return (task.State, reason);
        }
        if (OwnEnds.TryGetValue(outcome, out var own)) return own;
        if (task is null) return ("UNKNOWN", null);
        return ("FAILED", $"the attempt ended {outcome} while its task exited 0");
    }

    /// <summary>Slurm's EXIT:SIGNAL as words: "exit code 1", "killed by signal 9"; null for 0:0 or nothing.</summary>
    public static string? ExitText(string? exitCode)
    {
        var parts = exitCode?.Split(':');
        if (parts is not { Length: 2 } || !int.TryParse(parts[0], CultureInfo.InvariantCulture, out var code) || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var signal))
            return null;
        return signal != 0 ? $"killed by signal {signal}" : code != 0 ? $"exit code {code}" : null;
    }

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
                var task = states.GetValueOrDefault(job);
                // A task still running may yet end in a way that explains the attempt (it is being killed): wait for it. An attempt
                // that ended on its own (its worker crashed) is shown at once: the task went on, its end explains nothing.
                if (task is { Ended: false } && !EndedByItself(attempt.Outcome!))
                {
                    open = true;
                    continue;
                }
                var (state, reason) = AttemptEnd(task, attempt.Outcome!);
                var annotation = new Dictionary<string, string> { ["slurm_state"] = state };
                if (reason is not null) annotation["slurm_reason"] = reason;
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
