using System.Diagnostics;
using Studies.Trials.Components;
using Studies.Trials.Engine;
using Studies.Trials.Results;

namespace Studies.Trials.Training;

/// <summary>
/// The training loop: phases, epochs, steps. Everything a trial may or may not do around them
/// (validation, keep-best, the plateau schedule, early stopping, checkpoints, background-mass
/// redraws, an outside controller) is an <see cref="ITrainingCallback"/>; the loop itself only
/// trains, records each epoch and honours the callbacks' decisions.
/// </summary>
internal sealed class TrainingLoop(TrainingContext run, IPhaseLossFactory losses, Registry<OptimizerEntry> optimizers)
{
    /// <summary>Trains from <paramref name="firstPhase"/> on; null when training ended normally (or was stopped by a callback),
    /// otherwise the trial's result (cancelled, diverged).</summary>
    public TrialResult? Run(int firstPhase, CancellationToken cancellation)
    {
        for (var p = firstPhase; p < run.Spec.Schedule.Count; p++)
        {
            if (RunPhase(p, cancellation) is { } ended) return ended;
            if (run.Decision == EpochDecision.StopTrial) break;
        }
        return null;
    }

    private TrialResult? RunPhase(int p, CancellationToken cancellation)
    {
        run.Phase = p;
        var phase = run.PhaseSpec;
        using var optimizer = Optimizers.Create(optimizers, phase, run.Spec.Model, run.Parameters);
        using var loss = losses.Create(phase, run.Train, run.Model, run.Spec.Model.Balance != "none");
        using var validationLoss = losses.Create(phase, run.Selection, run.Model, balancedBatches: false);
        (run.Optimizer, run.Loss, run.ValidationLoss) = (optimizer, loss, validationLoss);
        (run.StartEpoch, run.PreviousSeconds, run.Decision) = (0, 0, EpochDecision.Continue);
        foreach (var callback in run.Callbacks) callback.OnPhaseStart(run);

        run.Clock = Stopwatch.StartNew();
        for (var e = run.StartEpoch; e < phase.Epochs && run.Decision == EpochDecision.Continue; e++)
        {
            if (cancellation.IsCancellationRequested)
                return new TrialResult { Outcome = TrialOutcome.Cancelled, Error = "interrupted; resumes from the last checkpoint", Epochs = run.Epochs, Phases = run.Phases };
            run.EpochInPhase = e;
            if (RunEpoch() is { } diverged) return diverged;
        }
        if (run.Phases.All(t => t.Phase != p)) run.Phases.Add(new PhaseTiming(p, phase.Loss, run.Epochs.Count(r => r.Phase == p), run.PhaseSeconds));
        return null;
    }

    private TrialResult? RunEpoch()
    {
        foreach (var callback in run.Callbacks) callback.OnEpochStart(run);
        run.Model.Train();
        var trainLoss = TrainSteps();
        run.GlobalEpoch++;
        if (!double.IsFinite(trainLoss)) return Diverged(run, trainLoss);

        EndEpoch(run, trainLoss);
        return null;
    }

    /// <summary>A trained epoch with a finite loss: the callbacks measure it, it is recorded, and they decide (also for a fused pack's member).</summary>
    internal static void EndEpoch(TrainingContext run, double trainLoss)
    {
        run.Model.Eval();
        run.Metrics = new Dictionary<string, double> { [MetricNames.Loss] = trainLoss, [MetricNames.LearningRate] = run.Optimizer.LearningRate };
        foreach (var callback in run.Callbacks) callback.OnTrainingEpochEnd(run);
        var record = new EpochRecord(run.Phase, run.GlobalEpoch, run.Metrics);
        run.Epochs.Add(record);
        run.Options.OnEpoch?.Invoke(record, run.TotalEpochs);
        foreach (var callback in run.Callbacks)
        {
            var decision = callback.OnEpochEnd(run);
            if (decision > run.Decision) run.Decision = decision;
        }
    }

    /// <summary>One pass over the training set in batches; the mean loss per event.</summary>
    private double TrainSteps()
    {
        var (train, phase, optimizer) = (run.Train, run.PhaseSpec, run.Optimizer);
        var balanced = run.Spec.Model.Balance != "none";
        var batches = run.Loss.SupportsBatches
            ? BatchPlan.Epoch(train.Count, phase.Batch, run.Spec.Model.Balance, train.IsSignal, train.MassIndex, train.Process, run.Generator)
            : [Enumerable.Range(0, train.Count).Select(i => (long)i).ToArray()];
        using var epochScope = TensorScope.Begin();
        Tensor? sum = null;
        long seen = 0;
        foreach (var batch in batches)
        {
            using var step = TensorScope.Begin();
            var whole = batch.Length == train.Count && !balanced;
            run.Options.OnBatch?.Invoke(BatchUse.Training, batch.Select(k => train.Events[k]).ToArray());
            optimizer.ZeroGrad();
            foreach (var callback in run.Callbacks) callback.OnStep(run, new TrainingStep(batch, whole));
            var l = run.Loss.Compute(run.Model, whole ? null : batch);
            train.BatchMass = null;
            l.Backward();
            optimizer.Step();
            // The running sum lives in the epoch's scope; each step's partial sums die with the step.
            var contribution = l.Detach() * batch.Length;
            sum = step.MoveToOuter(sum is null ? contribution : sum + contribution);
            seen += batch.Length;
        }
        return sum!.Item() / seen;
    }

    /// <summary>The result of a trial whose training loss became NaN or infinite (also a fused pack's member, alone).</summary>
    internal static TrialResult Diverged(TrainingContext run, double trainLoss)
    {
        run.Epochs.Add(new EpochRecord(run.Phase, run.GlobalEpoch, new Dictionary<string, double> { [MetricNames.Loss] = trainLoss }));
        return new TrialResult
        {
            Outcome = TrialOutcome.Diverged,
            Error = $"loss is {(double.IsNaN(trainLoss) ? "NaN" : "infinite")} at epoch {run.EpochInPhase + 1} of phase {run.Phase + 1} ({run.PhaseSpec.Loss})",
            Epochs = run.Epochs,
            Phases = run.Phases,
            LastEpoch = run.GlobalEpoch,
        };
    }
}
