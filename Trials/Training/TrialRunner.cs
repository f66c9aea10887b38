using System.Diagnostics;
using Studies.Trials.Engine;
using Studies.Trials.Models;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>Creates the loss of a phase over a training or validation set.</summary>
public interface IPhaseLossFactory
{
    /// <param name="model">The trial's model: losses that score events per mass need to know whether it is parametric.</param>
    IPhaseLoss Create(PhaseSpec phase, TrainingSet set, ClassifierModel model, bool balancedBatches);
}

/// <summary>Per-mass metrics of a model on one split (methods.md section 6).</summary>
public interface IMassEvaluator
{
    /// <param name="events">The split's events (indices into the data set).</param>
    /// <param name="trainedOnly">Only trained masses (model selection never sees held-out signal).</param>
    /// <param name="cutsFrom">Metrics of the validation split whose cuts (best_cut, z_cut, global_cut) the headline
    /// cut metrics of this split are measured at; null: this split's own optima.</param>
    IReadOnlyList<(double Mass, bool Heldout, IReadOnlyDictionary<string, double> Metrics)> Evaluate(
        ClassifierModel model, TrialData data, long[] events, MassEncoding massEncoding, TrialSpec spec, bool trainedOnly, bool includeOptimal,
        IReadOnlyList<(double Mass, bool Heldout, IReadOnlyDictionary<string, double> Metrics)>? cutsFrom = null);
}

/// <summary>
/// Runs one trial: loads the data, builds the model, trains it through the loss schedule and
/// evaluates every mass hypothesis at the best and the last epoch (methods.md sections 1-6).
/// Epoch numbers in the result count over all phases (1-based); the best epoch is the best epoch
/// of the last phase by that phase's <c>keep_best</c> metric (default: its validation loss).
/// </summary>
public sealed class TrialRunner(ITrialDataProvider dataProvider, IPhaseLossFactory losses, IMassEvaluator evaluator) : ITrialRunner
{
    public TrialResult Run(TrialSpec spec, TrialRunOptions options, CancellationToken cancellation)
    {
        // A damaged checkpoint is dropped and the run starts over from the one before it (or from
        // scratch): a retry would only meet the same damaged files. Two slots, so at most two drops.
        for (var drops = 0; ; drops++)
        {
            try
            {
                using var scope = TensorScope.Begin();
                return RunCore(spec, options, cancellation);
            }
            catch (CheckpointDamagedException e) when (drops < 2)
            {
                var fallback = e.Checkpoint.Discard(e.State);
                options.OnWarning?.Invoke($"warning: {e.Message}; discarded it, "
                    + (fallback is null ? "restarting the trial from scratch" : $"resuming from the checkpoint at epoch {fallback.GlobalEpoch}"));
            }
            catch (CheckpointWriteException e)
            {
                options.OnFailure?.Invoke(e);
                return new TrialResult { Outcome = TrialOutcome.Cancelled, Error = $"interrupted: {e.Message}; resumes from the last checkpoint once that is fixed" };
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                options.OnFailure?.Invoke(e);
                if (e is TorchException { IsOutOfMemory: true })
                    return new TrialResult { Outcome = TrialOutcome.Failed, ErrorKind = TrialErrorKinds.OutOfMemory, Error = $"out of memory on {spec.Device}: {e.Message}" };
                return new TrialResult { Outcome = TrialOutcome.Failed, Error = e is TorchException ? $"libtorch: {e.Message}" : e.Message };
            }
        }
    }

    private TrialResult RunCore(TrialSpec spec, TrialRunOptions options, CancellationToken cancellation)
    {
        if (spec.Schedule.Count == 0) throw new ArgumentException("the loss schedule has no phase");
        Torch.SetNumThreads(Math.Max(1, spec.Threads));
        var device = Device.Parse(spec.Device);
        using var generator = new Generator(spec.Seed);
        using var deviceGenerator = device.IsCuda ? new Generator(spec.Seed ^ 0x5eed, device) : null;

        var loaded = dataProvider.Load(spec.Data, spec.Seed);
        var massScale = spec.Data.MassScale ?? loaded.AllMasses.Max(Math.Abs);
        if (!(massScale > 0)) massScale = 1;
        var trainEvents = loaded.Train.Where(i => !loaded.IsHeldoutSignal(i)).ToArray();
        var selectionEvents = loaded.Validation.Where(i => !loaded.IsHeldoutSignal(i)).ToArray();

        var checkpoint = options.CheckpointDirectory is null ? null : new Checkpoint(options.CheckpointDirectory);
        var specHash = Checkpoint.HashOf(spec);
        var resume = checkpoint?.TryLoadState(specHash, options.OnWarning);
        // The input transform is part of the classifier: fitted once on the training split, restored with the weights.
        var inputs = resume?.Inputs ?? (spec.Model.Standardize
            ? InputStandardization.Fit(loaded, trainEvents, massScale)
            : InputStandardization.None(loaded.FeatureCount, massScale));
        var data = inputs.Apply(loaded);
        var massEncoding = inputs.Mass;
        using var train = new TrainingSet(data, trainEvents, massEncoding, device);
        using var selection = new TrainingSet(data, selectionEvents, massEncoding, device);
        train.AssignBackgroundMasses(spec.Model.BackgroundMass, generator);
        selection.AssignBackgroundMasses(spec.Model.BackgroundMass, generator);

        using var model = ModelFactory.Create(spec.Model, data.FeatureCount, data.TrainedMasses.Select(massEncoding.Encode).ToList(),
            generator, deviceGenerator);
        model.To(device);
        var parameters = model.NamedParameters().ToList();
        DevicePlacement.Require(device, parameters.Concat(train.NamedTensors("train.")).Concat(selection.NamedTensors("selection.")));

        var epochs = resume?.Epochs.ToList() ?? new List<EpochRecord>();
        var phases = resume?.Phases.ToList() ?? new List<PhaseTiming>();
        var globalEpoch = resume?.GlobalEpoch ?? 0;
        var totalEpochs = spec.Schedule.Sum(p => p.Epochs);
        var balanced = spec.Model.Balance != "none";
        List<Tensor>? best = null;
        var bestValue = double.NaN;
        var bestEpoch = 0;

        // The slot checkpoint.json points at is never written: each save goes to the other one, so a
        // crash during a save leaves the previous checkpoint intact (also right after a resume).
        var slot = resume?.Slot ?? "b";
        options.OnTrainingStart?.Invoke();
        for (var p = resume?.Phase ?? 0; p < spec.Schedule.Count; p++)
        {
            var phase = spec.Schedule[p];
            using var optimizer = CreateOptimizer(phase, spec.Model, parameters);
            using var loss = losses.Create(phase, train, model, balanced);
            using var validationLoss = losses.Create(phase, selection, model, balancedBatches: false);
            var plateau = phase.Plateau is null ? null : new PlateauScheduler(phase.Plateau, phase.LearningRate);
            var early = phase.EarlyStopping is null ? null : new EarlyStopping(phase.EarlyStopping);
            var keepMetric = phase.KeepBest ?? MetricNames.ValidationLoss;
            var extraMetrics = new[] { keepMetric, phase.EarlyStopping?.Metric }.OfType<string>()
                .Where(m => m is not (MetricNames.Loss or MetricNames.ValidationLoss)).Distinct().ToArray();

            // A new phase starts a new search for its best epoch; a resumed one restores it.
            foreach (var t in best ?? []) t.Dispose();
            best = parameters.Select(np => TensorScope.Detach(np.Parameter.Detach().Clone())).ToList();
            bestValue = double.NaN;
            bestEpoch = 0;
            var startEpoch = 0;
            var previousSeconds = 0.0;
            var stopped = false;
            if (resume is not null && p == resume.Phase)
            {
                try
                {
                    checkpoint!.Restore(resume, model, optimizer, generator, train.Mass, best, deviceGenerator);
                }
                catch (Exception e) when (e is TorchException or IOException or UnauthorizedAccessException)
                {
                    throw new CheckpointDamagedException(checkpoint!, resume, e);
                }
                train.SetScaledMass(train.Mass);
                optimizer.LearningRate = resume.LearningRate;
                plateau?.Restore(resume.LearningRate, resume.PlateauBest, resume.PlateauBadEpochs);
                early?.Restore(resume.EarlyBest, resume.EarlyEpochs);
                bestValue = resume.BestPhase == p ? resume.BestValue : double.NaN;
                bestEpoch = resume.BestPhase == p ? resume.BestEpoch : 0;
                startEpoch = resume.EpochsDoneInPhase;
                previousSeconds = resume.PhaseSeconds;
                stopped = resume.PhaseStopped;
                resume = null;
            }

            var clock = Stopwatch.StartNew();
            for (var e = startEpoch; e < phase.Epochs && !stopped; e++)
            {
                if (cancellation.IsCancellationRequested)
                    return new TrialResult { Outcome = TrialOutcome.Cancelled, Error = "interrupted; resumes from the last checkpoint", Epochs = epochs, Phases = phases };
                if (spec.Model.BackgroundMassMode == "resampled" && e > 0) train.AssignBackgroundMasses(spec.Model.BackgroundMass, generator);
                var perBatchMasses = spec.Model.BackgroundMassMode == "resampled-batch" && model.UsesMass;

                model.Train();
                var batches = loss.SupportsBatches
                    ? BatchPlan.Epoch(train.Count, phase.Batch, spec.Model.Balance, train.IsSignal, train.MassIndex, train.Process, generator)
                    : [Enumerable.Range(0, train.Count).Select(i => (long)i).ToArray()];
                double trainLoss;
                using (var epochScope = TensorScope.Begin())
                {
                    Tensor? sum = null;
                    long seen = 0;
                    foreach (var batch in batches)
                    {
                        using var step = TensorScope.Begin();
                        var whole = batch.Length == train.Count && !balanced;
                        options.OnBatch?.Invoke(BatchUse.Training, batch.Select(k => train.Events[k]).ToArray());
                        optimizer.ZeroGrad();
                        if (perBatchMasses && whole) train.AssignBackgroundMasses(spec.Model.BackgroundMass, generator);
                        else if (perBatchMasses) train.BatchMass = train.RedrawBatchMasses(spec.Model.BackgroundMass, generator, batch);
                        var l = loss.Compute(model, whole ? null : batch);
                        train.BatchMass = null;
                        l.Backward();
                        optimizer.Step();
                        // The running sum lives in the epoch's scope; each step's partial sums die with the step.
                        var contribution = l.Detach() * batch.Length;
                        sum = step.MoveToOuter(sum is null ? contribution : sum + contribution);
                        seen += batch.Length;
                    }
                    trainLoss = sum!.Item() / seen;
                }
                if (perBatchMasses) train.SetScaledMass(train.Mass);
                globalEpoch++;
                if (!double.IsFinite(trainLoss))
                {
                    epochs.Add(new EpochRecord(p, globalEpoch, new Dictionary<string, double> { [MetricNames.Loss] = trainLoss }));
                    return new TrialResult
                    {
                        Outcome = TrialOutcome.Diverged,
                        Error = $"loss is {(double.IsNaN(trainLoss) ? "NaN" : "infinite")} at epoch {e + 1} of phase {p + 1} ({phase.Loss})",
                        Epochs = epochs,
                        Phases = phases,
                        LastEpoch = globalEpoch,
                    };
                }

                model.Eval();
                var metrics = new Dictionary<string, double> { [MetricNames.Loss] = trainLoss, [MetricNames.LearningRate] = optimizer.LearningRate };
                using (var validationScope = TensorScope.Begin())
                using (Torch.NoGrad())
                {
                    options.OnBatch?.Invoke(BatchUse.ModelSelection, selection.Events);
                    metrics[MetricNames.ValidationLoss] = validationLoss.Compute(model, null).Item();
                    if (extraMetrics.Length > 0 && (spec.Evaluation.ValidationEvery > 0 && (e + 1) % spec.Evaluation.ValidationEvery == 0 || e == phase.Epochs - 1))
                    {
                        var perMass = evaluator.Evaluate(model, data, selectionEvents, massEncoding, spec, trainedOnly: true, includeOptimal: false);
                        foreach (var name in extraMetrics)
                            metrics[name] = perMass.Select(m => m.Metrics.GetValueOrDefault(name, double.NaN)).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
                    }
                }
                var record = new EpochRecord(p, globalEpoch, metrics);
                epochs.Add(record);
                options.OnEpoch?.Invoke(record, totalEpochs);

                if (MetricDirection.IsBetter(keepMetric, metrics.GetValueOrDefault(keepMetric, double.NaN), bestValue))
                {
                    bestValue = metrics[keepMetric];
                    bestEpoch = globalEpoch;
                    for (var k = 0; k < best.Count; k++) best[k].Copy_(parameters[k].Parameter);
                }
                if (plateau is not null)
                    optimizer.LearningRate = plateau.Step(phase.Plateau!.Monitor == "train_loss" ? trainLoss : metrics[MetricNames.ValidationLoss]);
                if (early is not null && metrics.TryGetValue(phase.EarlyStopping!.Metric, out var watched)) stopped = early.ShouldStop(watched);

                if (checkpoint is not null && ((e + 1) % Math.Max(1, options.CheckpointEvery) == 0 || stopped || e == phase.Epochs - 1))
                {
                    slot = Checkpoint.OtherSlot(slot);
                    var lastPhaseEpoch = stopped || e == phase.Epochs - 1;
                    checkpoint.Save(new CheckpointState
                    {
                        SpecHash = specHash, Slot = slot, Inputs = inputs, Phase = p, EpochsDoneInPhase = e + 1, GlobalEpoch = globalEpoch,
                        LearningRate = optimizer.LearningRate, PlateauBest = plateau?.Best ?? double.NaN, PlateauBadEpochs = plateau?.BadEpochs ?? 0,
                        EarlyBest = early?.Best ?? double.NaN, EarlyEpochs = early?.EpochsWithoutImprovement ?? 0, PhaseStopped = stopped,
                        PhaseSeconds = previousSeconds + clock.Elapsed.TotalSeconds, BestValue = bestValue, BestEpoch = bestEpoch, BestPhase = p,
                        Epochs = epochs,
                        Phases = lastPhaseEpoch ? phases.Append(new PhaseTiming(p, phase.Loss, e + 1, previousSeconds + clock.Elapsed.TotalSeconds)).ToList() : phases,
                    }, model, optimizer, generator, train.Mass, best, deviceGenerator);
                }
            }
            var phaseEpochs = epochs.Count(r => r.Phase == p);
            if (phases.All(t => t.Phase != p)) phases.Add(new PhaseTiming(p, phase.Loss, phaseEpochs, previousSeconds + clock.Elapsed.TotalSeconds));
        }

        // Evaluation at the last epoch, then at the best one (the snapshot of the last phase).
        var masses = new List<MassMetrics>();
        model.Eval();
        void EvaluateAll(EpochKind kind, int epoch)
        {
            using var scope = TensorScope.Begin();
            using var noGrad = Torch.NoGrad();
            // Honest cuts: the test split's headline cut metrics use the cuts chosen on validation.
            var validation = evaluator.Evaluate(model, data, data.Validation, massEncoding, spec, trainedOnly: false, includeOptimal: true);
            var test = evaluator.Evaluate(model, data, data.Test, massEncoding, spec, trainedOnly: false, includeOptimal: true,
                cutsFrom: data.Validation.Length > 0 ? validation : null);
            foreach (var (split, rows) in new[] { (SplitKind.Validation, validation), (SplitKind.Test, test) })
            {
                foreach (var (mass, heldout, metrics) in rows)
                    masses.Add(new MassMetrics(mass, heldout, split, kind, epoch, metrics));
            }
        }
        EvaluateAll(EpochKind.Last, globalEpoch);
        if (best is not null && bestEpoch > 0)
        {
            for (var k = 0; k < best.Count; k++) parameters[k].Parameter.Copy_(best[k]);
            EvaluateAll(EpochKind.Best, bestEpoch);
        }
        else
        {
            bestEpoch = globalEpoch;
            masses.AddRange(masses.ToList().Select(m => m with { EpochKind = EpochKind.Best }));
        }
        foreach (var t in best ?? []) t.Dispose();

        return new TrialResult
        {
            Outcome = TrialOutcome.Completed,
            Epochs = epochs,
            Masses = masses,
            Phases = phases,
            BestEpoch = bestEpoch,
            LastEpoch = globalEpoch,
        };
    }

    /// <summary>
    /// A fresh optimiser for the phase, with kernels and biases in separate groups for their L2
    /// (methods.md section 2). Deviation, on purpose: an L2 penalty lambda*|w|^2 (Keras' meaning, as
    /// in the AffinePNN reference) is applied as weight decay 2*lambda, which has the same gradient.
    /// </summary>
    internal static Optimizer CreateOptimizer(PhaseSpec phase, ModelSpec model, IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        var kernels = parameters.Where(p => p.Name.EndsWith("weight", StringComparison.Ordinal)).Select(p => p.Parameter).ToList();
        var biases = parameters.Where(p => !p.Name.EndsWith("weight", StringComparison.Ordinal)).Select(p => p.Parameter).ToList();
        var groups = new List<ParamGroup> { new(kernels, phase.WeightDecay + 2 * model.L2Kernel) };
        if (biases.Count > 0) groups.Add(new ParamGroup(biases, phase.WeightDecay + 2 * model.L2Bias));
        return phase.Optimizer switch
        {
            "sgd" => new SGD(groups, phase.LearningRate, phase.Momentum),
            "adam" => new Adam(groups, phase.LearningRate),
            "adamw" => new AdamW(groups, phase.LearningRate),
            "radam" => new RAdam(groups, phase.LearningRate),
            _ => throw new ArgumentException($"unknown optimizer '{phase.Optimizer}' (sgd, adam, adamw, radam)"),
        };
    }
}
