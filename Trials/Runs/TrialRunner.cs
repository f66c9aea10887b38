using Studies.Trials.Catalog;
using Studies.Trials.Data;
using Studies.Trials.Engine;
using Studies.Trials.Results;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Trials.Runs;

/// <summary>
/// Runs one trial: loads the data, builds the model, trains it through the loss schedule and
/// evaluates every mass hypothesis at the best and the last epoch (methods.md sections 1-6).
/// Epoch numbers in the result count over all phases (1-based); the best epoch is the best epoch
/// of the last phase by that phase's <c>keep_best</c> metric (default: its validation loss).
/// </summary>
/// <param name="components">The registries models and optimisers are built from (default: <see cref="ComponentCatalog.BuiltIn"/>).</param>
public sealed class TrialRunner(ITrialDataProvider dataProvider, IPhaseLossFactory losses, IMassEvaluator evaluator, ComponentCatalog? components = null)
    : ITrialRunner
{
    private readonly ComponentCatalog components = components ?? ComponentCatalog.BuiltIn;

    /// <summary>A runner whose data sources, losses, models, optimisers and stopping rules all come from <paramref name="catalog"/>.</summary>
    public static TrialRunner For(ComponentCatalog catalog) =>
        new(new TrialDataProvider(catalog.DataSources), new PhaseLossFactory(catalog.Losses), new MassEvaluator(), catalog);

    public TrialResult Run(TrialSpec spec, TrialRunOptions options, CancellationToken cancellation)
    {
        // A damaged checkpoint is dropped and the run starts over from the one before it (or from
        // scratch): a retry would only meet the same damaged files. Two slots, so at most two drops.
        for (var drops = 0; ; drops++)
        {
            try
            {
                using var scope = TensorScope.Begin();
                if (spec.Model.Kind == Boosting.BdtTrainer.Kind) return Boosting.BdtTrainer.Run(spec, dataProvider, options, cancellation);
                return RunCore(spec, options, cancellation);
            }
            catch (CheckpointDamagedException e) when (drops < 2)
            {
                var fallback = e.Checkpoint.Discard(e.State);
                options.OnWarning?.Invoke($"warning: {e.Message}; discarded it, "
                    + (fallback is null ? "restarting the trial from scratch" : $"resuming from the checkpoint at epoch {fallback.GlobalEpoch}"));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return Failure(e, spec, options);
            }
        }
    }

    /// <summary>The result of a trial that threw <paramref name="e"/> (a checkpoint that cannot be written interrupts it; anything else fails it).</summary>
    internal static TrialResult Failure(Exception e, TrialSpec spec, TrialRunOptions options)
    {
        options.OnFailure?.Invoke(e);
        if (e is CheckpointWriteException)
            return new TrialResult { Outcome = TrialOutcome.Cancelled, Error = $"interrupted: {e.Message}; resumes from the last checkpoint once that is fixed" };
        if (e is TorchException { IsOutOfMemory: true })
            return new TrialResult { Outcome = TrialOutcome.Failed, ErrorKind = TrialErrorKinds.OutOfMemory, Error = $"out of memory on {spec.Device}: {e.Message}" };
        return new TrialResult { Outcome = TrialOutcome.Failed, Error = e is TorchException ? $"libtorch: {e.Message}" : e.Message };
    }

    private TrialResult RunCore(TrialSpec spec, TrialRunOptions options, CancellationToken cancellation)
    {
        using var setup = Prepare(spec, options);
        // Progress times epochs from here: data loaded, model built (the worker start and the load apart).
        options.OnTrainingStart?.Invoke();
        return new TrainingLoop(setup.Run, losses, components.Optimizers).Run(setup.FirstPhase, cancellation) ?? Evaluate(setup.Run, setup.KeepBest);
    }

    internal IPhaseLossFactory Losses => losses;

    /// <summary>The same runner reading its data through <paramref name="data"/> (a pack shares the data of members with one seed).</summary>
    internal TrialRunner WithData(Func<ITrialDataProvider, ITrialDataProvider> data) => new(data(dataProvider), losses, evaluator, components);
    internal ComponentCatalog Components => components;

    /// <summary>Everything a trial trains with, up to the loop: data, sets, model, callbacks, the checkpoint to resume from.
    /// A fused pack (<c>Trials/Fusion</c>) prepares each member exactly so, so a member starts as its unfused run does.</summary>
    internal TrialSetup Prepare(TrialSpec spec, TrialRunOptions options)
    {
        if (spec.Schedule.Count == 0) throw new ArgumentException("the loss schedule has no phase");
        Torch.SetNumThreads(Math.Max(1, spec.Threads));
        var device = Device.Parse(spec.Device);
        var setup = new TrialSetup();
        try
        {
            var generator = setup.Own(new Generator(spec.Seed));
            var deviceGenerator = device.IsCuda ? setup.Own(new Generator(spec.Seed ^ 0x5eed, device)) : null;

            var loaded = dataProvider.Load(spec.Data, spec.Seed);
            var massScale = spec.Data.MassScale ?? loaded.AllMasses.Max(Math.Abs);
            if (!(massScale > 0)) massScale = 1;
            var trainEvents = loaded.Train.Where(i => !loaded.IsHeldoutSignal(i)).ToArray();
            var selectionEvents = loaded.Validation.Where(i => !loaded.IsHeldoutSignal(i)).ToArray();

            var checkpoint = options.CheckpointDirectory is null ? null : new Checkpoint(options.CheckpointDirectory);
            var specHash = Checkpoint.HashOf(spec);
            var resume = checkpoint?.TryLoadState(specHash, options.OnWarning);
            // The input transform is part of the classifier: fitted once on the training split, restored with the weights.
            var inputs = resume?.Inputs ?? InputStandardization.For(spec.Model, loaded, trainEvents, massScale);
            var data = inputs.Apply(loaded);
            var train = setup.Own(new TrainingSet(data, trainEvents, inputs.Mass, device));
            var selection = setup.Own(new TrainingSet(data, selectionEvents, inputs.Mass, device));
            train.AssignBackgroundMasses(spec.Model.BackgroundMass, generator);
            selection.AssignBackgroundMasses(spec.Model.BackgroundMass, generator);

            var model = setup.Own(ModelFactory.Create(spec.Model, data.FeatureCount, data.TrainedMasses.Select(inputs.Mass.Encode).ToList(),
                generator, deviceGenerator, components.Models));
            model.To(device);
            var parameters = model.NamedParameters().ToList();
            DevicePlacement.Require(device, parameters.Concat(train.NamedTensors("train.")).Concat(selection.NamedTensors("selection.")));

            setup.Run = new TrainingContext
            {
                Spec = spec, Options = options, Generator = generator, DeviceGenerator = deviceGenerator, Data = data, Inputs = inputs,
                Train = train, Selection = selection, Model = model, Parameters = parameters,
                Epochs = resume?.Epochs.ToList() ?? [], Phases = resume?.Phases.ToList() ?? [], GlobalEpoch = resume?.GlobalEpoch ?? 0,
            };
            setup.KeepBest = setup.Own(new KeepBest());
            setup.Run.Callbacks = Callbacks(options, setup.KeepBest, checkpoint is null ? null : new Checkpointing(checkpoint, specHash, resume, setup.KeepBest));
            setup.FirstPhase = resume?.Phase ?? 0;
            return setup;
        }
        catch
        {
            setup.Dispose();
            throw;
        }
    }

    /// <summary>The callbacks of a run, in the order they are called: redraws and measurements first, then the decisions, the checkpoint last.</summary>
    private IReadOnlyList<ITrainingCallback> Callbacks(TrialRunOptions options, KeepBest keepBest, Checkpointing? checkpointing)
    {
        var callbacks = new List<ITrainingCallback> { new BackgroundMassRedraw(), new Validation(evaluator), keepBest, new PlateauSchedule(), new EarlyStop(components.StoppingRules) };
        if (options.Controller is not null) callbacks.Add(new Controlled(options.Controller));
        if (checkpointing is not null) callbacks.Add(checkpointing);
        return callbacks;
    }

    /// <summary>Evaluation at the last epoch, then at the best one (the snapshot of the last phase); the score curves at the kept one.</summary>
    internal TrialResult Evaluate(TrainingContext run, KeepBest keepBest)
    {
        var masses = new List<MassMetrics>();
        var curves = new List<ScoreCurves>();
        run.Model.Eval();
        var bestEpoch = keepBest.BestEpoch;
        var snapshot = keepBest.Snapshot is { } && bestEpoch > 0;
        EvaluateAll(run, EpochKind.Last, run.GlobalEpoch, masses, snapshot ? null : curves);
        if (snapshot)
        {
            var best = keepBest.Snapshot!;
            for (var k = 0; k < best.Count; k++) run.Parameters[k].Parameter.Copy_(best[k]);
            EvaluateAll(run, EpochKind.Best, bestEpoch, masses, curves);
        }
        else
        {
            bestEpoch = run.GlobalEpoch;
            masses.AddRange(masses.ToList().Select(m => m with { EpochKind = EpochKind.Best }));
        }
        return new TrialResult
        {
            Outcome = TrialOutcome.Completed,
            Epochs = run.Epochs,
            Masses = masses,
            Phases = run.Phases,
            BestEpoch = bestEpoch,
            LastEpoch = run.GlobalEpoch,
            Curves = curves.Select(c => c with { Epoch = bestEpoch }).ToList(),
        };
    }

    private void EvaluateAll(TrainingContext run, EpochKind kind, int epoch, List<MassMetrics> masses, List<ScoreCurves>? curves)
    {
        using var scope = TensorScope.Begin();
        using var noGrad = Torch.NoGrad();
        var (model, data, spec) = (run.Model, run.Data, run.Spec);
        // Honest cuts: the test split's headline cut metrics use the cuts chosen on validation.
        var validation = evaluator.Evaluate(model, data, data.Validation, run.MassEncoding, spec, trainedOnly: false, includeOptimal: true);
        var test = evaluator.Evaluate(model, data, data.Test, run.MassEncoding, spec, trainedOnly: false, includeOptimal: true,
            cutsFrom: data.Validation.Length > 0 ? validation : null, curves: curves);
        foreach (var (split, rows) in new[] { (SplitKind.Validation, validation), (SplitKind.Test, test) })
        {
            foreach (var (mass, heldout, metrics) in rows)
                masses.Add(new MassMetrics(mass, heldout, split, kind, epoch, metrics));
        }
    }
}

/// <summary>What <see cref="TrialRunner.Prepare"/> builds for one trial; disposes its tensors, last built first.</summary>
internal sealed class TrialSetup : IDisposable
{
    private readonly List<IDisposable> owned = [];

    public TrainingContext Run { get; set; } = null!;
    public KeepBest KeepBest { get; set; } = null!;
    /// <summary>The phase training starts in (later than 0 when resuming).</summary>
    public int FirstPhase { get; set; }

    public T Own<T>(T disposable) where T : IDisposable
    {
        owned.Add(disposable);
        return disposable;
    }

    public void Dispose()
    {
        for (var k = owned.Count - 1; k >= 0; k--) owned[k].Dispose();
        owned.Clear();
    }
}
