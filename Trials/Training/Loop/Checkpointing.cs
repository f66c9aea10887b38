using System.Text.Json.Nodes;
using Studies.Trials.Engine;
using Studies.Trials.Results;

namespace Studies.Trials.Training;

/// <summary>
/// Saves the run at epoch boundaries (every <c>CheckpointEvery</c> epochs, and at the end of each
/// phase) with every other callback's <see cref="ITrainingCallback.State"/> under its name, and
/// restores a checkpoint at the start of the phase it was taken in. Called last, so it saves what
/// the other callbacks decided at this epoch.
/// </summary>
internal sealed class Checkpointing(Checkpoint checkpoint, string specHash, CheckpointState? resume, KeepBest keepBest) : ITrainingCallback
{
    // The slot checkpoint.json points at is never written: each save goes to the other one, so a
    // crash during a save leaves the previous checkpoint intact (also right after a resume).
    private string slot = resume?.Slot ?? "b";
    private CheckpointState? resume = resume;

    public string Name => "checkpoint";

    public void OnPhaseStart(TrainingContext run)
    {
        if (resume is not { } state || state.Phase != run.Phase) return;
        resume = null;
        try
        {
            checkpoint.Restore(state, run.Model, run.Optimizer, run.Generator, run.Train.Mass, keepBest.Snapshot, run.DeviceGenerator);
        }
        catch (Exception e) when (e is TorchException or IOException or UnauthorizedAccessException)
        {
            throw new CheckpointDamagedException(checkpoint, state, e);
        }
        run.Train.SetScaledMass(run.Train.Mass);
        run.Optimizer.LearningRate = state.LearningRate;
        var saved = state.CallbackStates();
        foreach (var callback in run.Callbacks)
            if (saved.TryGetValue(callback.Name, out var callbackState) && callbackState is not null) callback.Restore(callbackState);
        run.StartEpoch = state.EpochsDoneInPhase;
        run.PreviousSeconds = state.PhaseSeconds;
        run.Decision = state.TrialStopped ? EpochDecision.StopTrial : state.PhaseStopped ? EpochDecision.StopPhase : EpochDecision.Continue;
    }

    public EpochDecision OnEpochEnd(TrainingContext run)
    {
        var stopped = run.Decision != EpochDecision.Continue;
        var phaseEnds = stopped || run.LastEpochOfPhase;
        if ((run.EpochInPhase + 1) % Math.Max(1, run.Options.CheckpointEvery) != 0 && !phaseEnds) return EpochDecision.Continue;
        slot = Checkpoint.OtherSlot(slot);
        var phase = run.PhaseSpec;
        checkpoint.Save(new CheckpointState
        {
            SpecHash = specHash, Slot = slot, Inputs = run.Inputs, Phase = run.Phase, EpochsDoneInPhase = run.EpochInPhase + 1, GlobalEpoch = run.GlobalEpoch,
            LearningRate = run.Optimizer.LearningRate, PhaseStopped = stopped, TrialStopped = run.Decision == EpochDecision.StopTrial,
            PhaseSeconds = run.PhaseSeconds, Epochs = run.Epochs,
            Phases = phaseEnds ? run.Phases.Append(new PhaseTiming(run.Phase, phase.Loss, run.EpochInPhase + 1, run.PhaseSeconds)).ToList() : run.Phases,
            Callbacks = new SortedDictionary<string, JsonNode?>(
                run.Callbacks.Where(c => c != this).Select(c => (c.Name, State: c.State())).Where(s => s.State is not null).ToDictionary(s => s.Name, s => s.State), StringComparer.Ordinal),
        }, run.Model, run.Optimizer, run.Generator, run.Train.Mass, keepBest.Snapshot, run.DeviceGenerator);
        return EpochDecision.Continue;
    }
}
