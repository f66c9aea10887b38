namespace Studies.Trials.Training;

/// <summary>Hands every recorded epoch to the run's outside <see cref="ITrainingController"/> and passes on its decision.</summary>
internal sealed class Controlled(ITrainingController controller) : ITrainingCallback
{
    public string Name => "controller";

    public EpochDecision OnEpochEnd(TrainingContext run) => controller.OnEpochEnd(run.LastEpoch!, run.TotalEpochs);
}
