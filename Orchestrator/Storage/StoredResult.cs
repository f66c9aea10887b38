using Studies.Trials.Results;

namespace Studies.Orchestrator.Storage;

/// <summary>Wall-clock time as stores record it: seconds since the Unix epoch, millisecond resolution.</summary>
public static class StoreClock
{
    public static double Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
}

/// <summary>Puts a trial's stored rows back together as the runner's result; the same for every backend.</summary>
public static class StoredResult
{
    public static TrialResult Compose(TrialRow trial, IReadOnlyList<EpochRecord> epochs, IReadOnlyList<MassMetrics> masses, IReadOnlyList<PhaseTiming> phases) => new()
    {
        Outcome = trial.State switch
        {
            TrialState.Completed => TrialOutcome.Completed,
            TrialState.Diverged => TrialOutcome.Diverged,
            TrialState.Cancelled => TrialOutcome.Cancelled,
            _ => TrialOutcome.Failed,
        },
        Error = trial.Error,
        Epochs = epochs,
        Masses = masses,
        Phases = phases,
        BestEpoch = trial.BestEpoch ?? 0,
        LastEpoch = trial.LastEpoch ?? 0,
    };
}
