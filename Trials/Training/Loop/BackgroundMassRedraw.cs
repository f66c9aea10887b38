namespace Studies.Trials.Training;

/// <summary>
/// Redraws the masses parametric nets see for background events (methods.md section 4):
/// <c>resampled</c> before every epoch of a phase but its first, <c>resampled-batch</c> for the
/// events of every batch (the AffinePNN reference). Its randomness is the trial's generator, which
/// the checkpoint saves, so it keeps no state of its own.
/// </summary>
internal sealed class BackgroundMassRedraw : ITrainingCallback
{
    public string Name => "background_mass";

    private static bool PerBatch(TrainingContext run) => run.Spec.Model.BackgroundMassMode == "resampled-batch" && run.Model.UsesMass;

    public void OnEpochStart(TrainingContext run)
    {
        if (run.Spec.Model.BackgroundMassMode == "resampled" && run.EpochInPhase > 0)
            run.Train.AssignBackgroundMasses(run.Spec.Model.BackgroundMass, run.Generator);
    }

    public void OnStep(TrainingContext run, TrainingStep step)
    {
        if (!PerBatch(run)) return;
        if (step.Whole) run.Train.AssignBackgroundMasses(run.Spec.Model.BackgroundMass, run.Generator);
        else run.Train.BatchMass = run.Train.RedrawBatchMasses(run.Spec.Model.BackgroundMass, run.Generator, step.Batch);
    }

    /// <summary>The per-batch draws changed the masses but not the whole-set mass input: rebuild it for validation and the next epoch.</summary>
    public void OnTrainingEpochEnd(TrainingContext run)
    {
        if (PerBatch(run)) run.Train.SetScaledMass(run.Train.Mass);
    }
}
