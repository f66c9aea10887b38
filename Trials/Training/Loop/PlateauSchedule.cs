using System.Text.Json.Nodes;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>The learning rate on plateau (<see cref="PlateauScheduler"/>) of phases that ask for it, stepped at every epoch's end.</summary>
internal sealed class PlateauSchedule : ITrainingCallback
{
    private PlateauScheduler? scheduler;

    public string Name => "plateau";

    public void OnPhaseStart(TrainingContext run) =>
        scheduler = run.PhaseSpec.Plateau is { } plateau ? new PlateauScheduler(plateau, run.PhaseSpec.LearningRate) : null;

    public EpochDecision OnEpochEnd(TrainingContext run)
    {
        if (scheduler is not null)
            run.Optimizer.LearningRate = scheduler.Step(run.PhaseSpec.Plateau!.Monitor == "train_loss" ? run.Metrics[MetricNames.Loss] : run.Metrics[MetricNames.ValidationLoss]);
        return EpochDecision.Continue;
    }

    public JsonNode? State() => scheduler is null ? null : SpecJson.ToNode(new PlateauState(scheduler.LearningRate, scheduler.Best, scheduler.BadEpochs));

    public void Restore(JsonNode state)
    {
        var saved = SpecJson.FromNode<PlateauState>(state);
        scheduler?.Restore(saved.LearningRate, saved.Best, saved.BadEpochs);
    }
}

internal sealed record PlateauState(double LearningRate, double Best, int BadEpochs);
