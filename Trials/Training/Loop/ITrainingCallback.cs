using System.Text.Json.Nodes;
using Studies.Trials.Results;

namespace Studies.Trials.Training;

/// <summary>What the loop does after an epoch: go on, end the phase (the next one starts), or end training.</summary>
/// <remarks>Ordered by strength: the loop keeps the strongest decision of all callbacks.</remarks>
public enum EpochDecision
{
    Continue,
    StopPhase,
    StopTrial,
}

/// <summary>One batch of a training epoch, before its forward pass.</summary>
/// <param name="Batch">Positions into the training set.</param>
/// <param name="Whole">The batch is the whole training set, unbalanced (the loss then runs on the full set).</param>
public readonly record struct TrainingStep(long[] Batch, bool Whole);

/// <summary>
/// A part of the training loop with its own state (Lightning's callback): the loop runs phases,
/// epochs and steps and calls every callback, in registration order, at each boundary. What a
/// callback remembers across epochs goes through <see cref="State"/> and <see cref="Restore"/>;
/// the checkpoint stores it under <see cref="Name"/>, so a resumed run continues exactly.
/// </summary>
public interface ITrainingCallback
{
    /// <summary>The key of its state in the checkpoint (snake_case); never renamed once released.</summary>
    string Name { get; }

    /// <summary>A phase begins: the optimiser and the losses of <see cref="TrainingContext.PhaseSpec"/> are fresh.</summary>
    void OnPhaseStart(TrainingContext run) { }

    void OnEpochStart(TrainingContext run) { }

    /// <summary>Before the forward pass of each batch (inside the step's tensor scope).</summary>
    void OnStep(TrainingContext run, TrainingStep step) { }

    /// <summary>The epoch's steps are done and its loss is finite: measure (add to <see cref="TrainingContext.Metrics"/>) or tidy up.</summary>
    void OnTrainingEpochEnd(TrainingContext run) { }

    /// <summary>The epoch is recorded with all its metrics (<see cref="TrainingContext.LastEpoch"/>): decide whether to go on.
    /// <see cref="TrainingContext.Decision"/> holds the strongest decision of the callbacks before this one.</summary>
    EpochDecision OnEpochEnd(TrainingContext run) => EpochDecision.Continue;

    /// <summary>What must survive a restart, as of the end of the last epoch; null: nothing.</summary>
    JsonNode? State() => null;

    /// <summary>Takes back a <see cref="State"/> at the start of the resumed phase (after <see cref="OnPhaseStart"/>).</summary>
    void Restore(JsonNode state) { }
}

/// <summary>
/// Watches a trial from outside the loop (a pruner, a fused pack of trials): sees every epoch's
/// complete record and may stop the phase or the trial. A stopped trial still gets its final
/// evaluation at the best and the last epoch and ends <see cref="TrialOutcome.Completed"/> with
/// fewer epochs than planned; a checkpoint written at that epoch remembers the stop.
/// </summary>
public interface ITrainingController
{
    /// <param name="totalEpochs">Epochs planned over all phases.</param>
    EpochDecision OnEpochEnd(EpochRecord epoch, int totalEpochs);
}
