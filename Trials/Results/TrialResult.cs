namespace Studies.Trials.Results;

/// <summary>How a trial ended, as the trial runner sees it.</summary>
public enum TrialOutcome
{
    Completed,
    /// <summary>A loss became NaN or infinite; <see cref="TrialResult.Error"/> names the epoch and phase.</summary>
    Diverged,
    Failed,
    Cancelled,
}

/// <summary>Everything one trial produced: the training curve, per-mass metrics at the best and last epoch, timings.</summary>
public sealed record TrialResult
{
    public required TrialOutcome Outcome { get; init; }
    public string? Error { get; init; }
    /// <summary>Why a failed trial failed, when the orchestrator should react to it: <see cref="TrialErrorKinds"/>; null otherwise.</summary>
    public string? ErrorKind { get; init; }
    public IReadOnlyList<EpochRecord> Epochs { get; init; } = [];
    public IReadOnlyList<MassMetrics> Masses { get; init; } = [];
    public IReadOnlyList<PhaseTiming> Phases { get; init; } = [];
    /// <summary>The score curves of every mass (test split, kept epoch) for the ROC, classifier-output and significance-vs-cut figures; empty in results recorded before they were.</summary>
    public IReadOnlyList<ScoreCurves> Curves { get; init; } = [];
    /// <summary>The global epoch (1-based, counted over all phases) selected as best; 0 when none.</summary>
    public int BestEpoch { get; init; }
    public int LastEpoch { get; init; }
}

/// <summary>Error kinds a trial result can carry (stored as the trial's <c>error_kind</c>).</summary>
public static class TrialErrorKinds
{
    /// <summary>The device ran out of memory: the trial may fit with fewer trials sharing the device.</summary>
    public const string OutOfMemory = "out_of_memory";
}

/// <summary>One epoch of one phase: training loss and validation metrics by name.</summary>
public sealed record EpochRecord(int Phase, int Epoch, IReadOnlyDictionary<string, double> Metrics);

/// <summary>Which epoch a per-mass metric comes from.</summary>
public enum EpochKind
{
    Best,
    Last,
}

/// <summary>Which data a per-mass metric was measured on.</summary>
public enum SplitKind
{
    Validation,
    Test,
}

/// <summary>The metrics of one mass hypothesis, on one split, at the best or the last epoch.</summary>
public sealed record MassMetrics(
    double Mass,
    bool Heldout,
    SplitKind Split,
    EpochKind EpochKind,
    int Epoch,
    IReadOnlyDictionary<string, double> Metrics);

public sealed record PhaseTiming(int Phase, string Loss, int Epochs, double Seconds);
