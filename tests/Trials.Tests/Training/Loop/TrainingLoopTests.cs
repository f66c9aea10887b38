using System.Text.Json.Nodes;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Trials.Tests.Training.Loop;

/// <summary>The loop's seams: an outside controller stops a trial where it says, and a checkpoint keeps each callback's state under its name.</summary>
public sealed class TrainingLoopTests
{
    private static readonly TrialRunner Runner = new(new SyntheticData(), new PhaseLossFactory(), new MassEvaluator());

    private static TrialSpec Spec() => TrainingPinTests.Cases["dnn-plateau-early"];

    /// <summary>Stops at one global epoch with one decision, and counts what it saw.</summary>
    private sealed class StopAt(int epoch, EpochDecision decision) : ITrainingController
    {
        public List<EpochRecord> Seen { get; } = [];

        public EpochDecision OnEpochEnd(EpochRecord record, int totalEpochs)
        {
            Seen.Add(record);
            return record.Epoch == epoch ? decision : EpochDecision.Continue;
        }
    }

    [Fact]
    public void A_controller_that_stops_the_trial_ends_training_at_its_epoch_and_the_trial_is_still_evaluated()
    {
        var whole = Runner.Run(Spec(), new TrialRunOptions(), CancellationToken.None);
        var controller = new StopAt(2, EpochDecision.StopTrial);
        var stopped = Runner.Run(Spec(), new TrialRunOptions { Controller = controller }, CancellationToken.None);

        Assert.True(stopped.Outcome == TrialOutcome.Completed, stopped.Error);
        Assert.Equal([1, 2], stopped.Epochs.Select(e => e.Epoch));
        Assert.Equal(2, stopped.LastEpoch);
        // It saw every epoch complete (validation metrics included), and the epochs it let pass are the uninterrupted run's.
        Assert.Equal([1, 2], controller.Seen.Select(e => e.Epoch));
        Assert.Contains(MetricNames.RocAuc, controller.Seen[0].Metrics.Keys);
        Assert.Equal(whole.Epochs.Take(2).Select(e => e.Metrics[MetricNames.Loss]), stopped.Epochs.Select(e => e.Metrics[MetricNames.Loss]));
        Assert.Single(stopped.Phases);
        Assert.NotEmpty(stopped.Masses);
        Assert.All(stopped.Masses, m => Assert.True(m.Epoch <= 2));
    }

    [Fact]
    public void A_controller_that_stops_a_phase_moves_on_to_the_next_phase()
    {
        var stopped = Runner.Run(Spec(), new TrialRunOptions { Controller = new StopAt(1, EpochDecision.StopPhase) }, CancellationToken.None);
        Assert.True(stopped.Outcome == TrialOutcome.Completed, stopped.Error);
        // Phase 1 ends after its first epoch; phase 2 (4 epochs of punzi) runs in full.
        Assert.Equal([0, 1, 1, 1, 1], stopped.Epochs.Select(e => e.Phase));
        Assert.Equal([1, 4], stopped.Phases.Select(p => p.Epochs));
    }

    [Fact]
    public void A_trial_stopped_by_its_controller_stays_stopped_when_resumed_from_its_checkpoint()
    {
        var directory = Directory.CreateTempSubdirectory("studies-loop-").FullName;
        try
        {
            var first = Runner.Run(Spec(), new TrialRunOptions { CheckpointDirectory = directory, Controller = new StopAt(2, EpochDecision.StopTrial) },
                CancellationToken.None);
            var trained = 0;
            var again = Runner.Run(Spec(), new TrialRunOptions { CheckpointDirectory = directory, OnEpoch = (_, _) => trained++ }, CancellationToken.None);

            Assert.Equal(0, trained);
            Assert.Equal(TrainingPinTests.Describe(first), TrainingPinTests.Describe(again));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void The_checkpoint_keeps_each_callbacks_state_under_its_name_and_no_longer_the_old_fields()
    {
        var directory = Directory.CreateTempSubdirectory("studies-loop-").FullName;
        try
        {
            using var cancel = new CancellationTokenSource();
            Runner.Run(Spec(), new TrialRunOptions { CheckpointDirectory = directory, OnEpoch = (r, _) => { if (r.Epoch == 4) cancel.Cancel(); } }, cancel.Token);

            var state = JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "checkpoint.json")))!.AsObject();
            var callbacks = state["callbacks"]!.AsObject();
            Assert.Equal(["early_stopping", "keep_best", "plateau"], callbacks.Select(c => c.Key).Order(StringComparer.Ordinal));
            // Epoch 4 is the best by roc_auc so far (the pinned curve), and the plateau has halved the rate once (after epoch 3).
            Assert.Equal(4, (int)callbacks["keep_best"]!["epoch"]!);
            Assert.Equal(0.1, (double)callbacks["plateau"]!["learning_rate"]!);
            Assert.Equal(0, (int)callbacks["early_stopping"]!["epochs"]!);
            Assert.False(state.ContainsKey("plateau_best") || state.ContainsKey("early_best") || state.ContainsKey("best_value"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
