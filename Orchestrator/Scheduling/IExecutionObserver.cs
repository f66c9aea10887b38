using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Scheduling;

/// <summary>What is told while a study runs: a live console table in the foreground, the log in the service.</summary>
public interface IExecutionObserver
{
    /// <summary>Before the first trial starts: how many trials the study has, how many are already finished, and the plan.</summary>
    void RunStarting(string study, int total, int alreadyFinished, string plan) { }
    void TrialStarted(TrialRow trial, DeviceSlot slot) { }
    void TrialProgress(TrialProgress progress) { }
    void TrialEnded(string trialId, TrialState state, string? error) { }
    /// <summary>Shows progress while <paramref name="run"/> runs (a live display in a terminal); returns its result.</summary>
    Task<T> ShowWhile<T>(Task<T> run) => run;
}

/// <summary>Creates the observer of one run: Spectre in the foreground, logging in the service, several at once for the dashboard.</summary>
public interface IExecutionObserverFactory
{
    IExecutionObserver Create(string study);
}
