using System.Globalization;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Cluster;

/// <summary>
/// What the submitting process learns from the store while a cluster runs its study, one poll at a time: it tells the
/// observer about trials that ended, keeps the failures for fail-fast, and the trials whose attempts a task may have
/// stopped (for their Slurm end states). Ended trials go to the observer with their rows, so that their run time is the
/// one the task recorded (this process never saw them start). Each poll reads only the trial rows changed since the previous one
/// (<see cref="IStudyStorage.ListTrialsChangedAsync"/>), so that a poll costs what changed, not the study's size.
/// </summary>
public sealed class StudyFollower(IStudyStorage store, StudyRow study, IExecutionObserver observer)
{
    private readonly HashSet<string> announced = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> failures = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TrialRow> mayHaveStopped = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TrialState> states = new(StringComparer.Ordinal);
    private long cursor;

    /// <summary>Trials an attempt may have left unfinished, as last read.</summary>
    public IReadOnlyList<TrialRow> MayHaveStoppedAttempts => mayHaveStopped.Values.ToList();

    /// <summary>Trials of the current definition per state, as of the last poll: kept from the changes, so that no poll counts every row.</summary>
    public StateCounts Counts => new(states.Values.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count()));

    /// <summary>Rows read by the last poll (what it cost).</summary>
    public int LastRows { get; private set; }

    public async Task PollAsync(CancellationToken ct)
    {
        var changes = await store.ListTrialsChangedAsync(study.Id, cursor, ct);
        cursor = changes.Cursor;
        LastRows = changes.Trials.Count;
        foreach (var t in changes.Trials)
        {
            if (t.InDefinition) states[t.TrialId] = t.State;
            else states.Remove(t.TrialId);
            if (SlurmEndStates.MayHaveStoppedAttempts(t)) mayHaveStopped[t.TrialId] = t;
            if (t.State == TrialState.Failed && t.InDefinition && t.Error is { } error) failures[t.TrialId] = error.Split('\n')[0];
            else failures.Remove(t.TrialId);
            if (!t.InDefinition || t.State is TrialState.Queued or TrialState.Running or TrialState.Interrupted) continue;
            if (announced.Add(t.TrialId + ":" + t.Attempts.ToString(CultureInfo.InvariantCulture))) observer.TrialFinished(t, t.State, t.Error, null);
        }
    }

    /// <summary>
    /// With <c>--fail-fast K</c>: why the study stops, when K trials failed with the same error (the first line of their
    /// errors, as a local run counts them); null otherwise.
    /// </summary>
    public string? FailFast(int after)
    {
        if (after <= 0) return null;
        var worst = failures.Values.GroupBy(e => e, StringComparer.Ordinal).MaxBy(g => g.Count());
        return worst is not null && worst.Count() >= after
            ? $"fail-fast: {worst.Count()} trials failed with the same error ({worst.Key}); the study's job arrays are cancelled"
            : null;
    }
}
