using Studies.Orchestrator.Storage;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Scheduling;

/// <summary>What is told while a study runs: a live console table in the foreground, the log in the service.</summary>
public interface IExecutionObserver
{
    /// <summary>Before the first trial starts: how many trials the study has, how many are already finished, and the plan.</summary>
    void RunStarting(string study, int total, int alreadyFinished, string plan) { }
    /// <summary>Before the first trial starts, with what the progress display names and times trials by.</summary>
    void RunStarting(RunOverview run) => RunStarting(run.Study, run.Total, run.AlreadyFinished, run.Plan);
    void TrialStarted(TrialRow trial, DeviceSlot slot) { }
    void TrialProgress(TrialProgress progress) { }
    void TrialEnded(string trialId, TrialState state, string? error) { }
    /// <summary>A trial's outcome is recorded; <paramref name="result"/> is its result when it produced one (completed, diverged).</summary>
    void TrialFinished(TrialRow trial, TrialState state, string? error, TrialResult? result) => TrialEnded(trial.TrialId, state, error);
    /// <summary>Shows progress while <paramref name="run"/> runs (a live display in a terminal); returns its result.</summary>
    Task<T> ShowWhile<T>(Task<T> run) => run;
}

/// <summary>A run about to start: the study's settings, its trials of the current definition and how many slots run them.</summary>
public sealed record RunOverview(string Study, int Total, int AlreadyFinished, string Plan)
{
    public StudySettings Settings { get; init; } = new();
    public IReadOnlyList<TrialRow> Trials { get; init; } = [];
    /// <summary>Trials this run can have under way at once.</summary>
    public int Slots { get; init; } = 1;
    /// <summary>An adaptive search's trials not proposed yet, as the shape of the ones to come (for the ETA): one spec each.</summary>
    public IReadOnlyList<global::Studies.Trials.Specs.TrialSpec> Unproposed { get; init; } = [];
}

/// <summary>Creates the observer of one run: Spectre in the foreground, logging in the service, several at once for the dashboard.</summary>
public interface IExecutionObserverFactory
{
    IExecutionObserver Create(string study);
}
