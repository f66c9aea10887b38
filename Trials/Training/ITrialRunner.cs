using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>Runs one trial from its resolved spec to its result.</summary>
public interface ITrialRunner
{
    /// <summary>
    /// Trains and evaluates. Never throws for a trial's own failure: a NaN loss gives
    /// <see cref="TrialOutcome.Diverged"/>, bad data or an invalid spec <see cref="TrialOutcome.Failed"/> with the
    /// message; cancellation checkpoints at the next epoch boundary and gives <see cref="TrialOutcome.Cancelled"/>.
    /// </summary>
    TrialResult Run(TrialSpec spec, TrialRunOptions options, CancellationToken cancellation);
}

/// <summary>Side channels of a run: progress, checkpoints, and inspection hooks for tests.</summary>
public sealed record TrialRunOptions
{
    /// <summary>Where checkpoints are kept; a run finding one there resumes from it. Null: no checkpoints.</summary>
    public string? CheckpointDirectory { get; init; }
    /// <summary>Called once the data are loaded and the model is built, right before the first epoch (progress times epochs from here).</summary>
    public Action? OnTrainingStart { get; init; }
    /// <summary>Called after every epoch with its record and the total number of planned epochs.</summary>
    public Action<EpochRecord, int>? OnEpoch { get; init; }
    /// <summary>Sees the event indices (into the loaded data set) of every batch used for training or model selection.</summary>
    public Action<BatchUse, ReadOnlyMemory<long>>? OnBatch { get; init; }
    /// <summary>Sees the exception behind a <see cref="TrialOutcome.Failed"/> result (its stack trace is for logs; the result keeps the message).</summary>
    public Action<Exception>? OnFailure { get; init; }
    /// <summary>Hears what went wrong but was mended, e.g. a damaged checkpoint discarded (one line each; for the trial's log).</summary>
    public Action<string>? OnWarning { get; init; }
    /// <summary>Sees every epoch's record and may stop the phase or the trial (a pruner, a pack of trials); null: none.</summary>
    public ITrainingController? Controller { get; init; }
    /// <summary>
    /// Validation metrics to measure (averaged over the trained masses) at every validation epoch besides those keep-best
    /// and early stopping watch: what a search's pruner judges a trial by. Measuring changes nothing of the training.
    /// </summary>
    public IReadOnlyList<string> Monitor { get; init; } = [];
    /// <summary>Checkpoint every this many epochs (1: every epoch boundary).</summary>
    public int CheckpointEvery { get; init; } = 1;
}

/// <summary>What a batch was used for.</summary>
public enum BatchUse
{
    Training,
    ModelSelection,
}
