using System.Diagnostics;
using Studies.Trials.Data;
using Studies.Trials.Engine;
using Studies.Trials.Results;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Trials.Boosting;

/// <summary>
/// Runs a <c>bdt</c> trial through the same data, splits, input standardisation, background masses,
/// event weights and per-mass metrics as a net (<see cref="TrialRunner"/>), with boosting rounds in
/// place of epochs.
/// </summary>
/// <remarks>
/// ML.NET fits all rounds in one call and has no per-round callback, so the training curve is
/// measured after the fit by scoring the partial ensembles (the first r trees) from the trees read
/// back: the running score of every training and validation event gains one tree per round (cheap:
/// one tree walk per event and round). Early stopping and <c>keep_best</c> then act on that curve
/// exactly as on a net's epochs: the trial ends at the round early stopping would have stopped at
/// (its "last" ensemble is truncated there) and its "best" ensemble is the best round's prefix. What
/// this does not give back is the fitting time of the rounds after the stop, and the dashboard sees
/// the curve once the fit is done rather than round by round. Resume: a bdt trial keeps no
/// checkpoint; an interrupted one starts again (it takes seconds to minutes).
/// </remarks>
public static class BdtTrainer
{
    public const string Kind = "bdt";

    public static TrialResult Run(TrialSpec spec, ITrialDataProvider dataProvider, TrialRunOptions options, CancellationToken cancellation)
    {
        var boosting = spec.Model.Boosting ?? new BoostingSpec();
        // A study file asking for cuda is refused by the reader (exit 2); here the device comes from the slot the
        // scheduler gave the trial (a GPU host with devices: auto), so the trial runs on the CPU and says so in its log.
        if (spec.Device != "cpu")
            options.OnWarning?.Invoke($"note: model kind 'bdt' trains on the CPU only (LightGBM through ML.NET has no CUDA build here); this trial's slot is {spec.Device}, it ran on the CPU with {Math.Max(1, spec.Threads)} thread(s)");
        if (spec.Schedule.Count != 1 || spec.Schedule[0].Loss != "bce")
            throw new ArgumentException("model kind 'bdt' boosts the log-loss: its schedule must be a single bce phase");
        var phase = spec.Schedule[0];
        var threads = Math.Max(1, spec.Threads);
        Torch.SetNumThreads(threads); // also puts OMP_WAIT_POLICY in place before LightGBM's libgomp threads start
        if (cancellation.IsCancellationRequested) return Interrupted();

        var loaded = dataProvider.Load(spec.Data, spec.Seed);
        var massScale = spec.Data.MassScale ?? loaded.AllMasses.Max(Math.Abs);
        if (!(massScale > 0)) massScale = 1;
        var trainEvents = loaded.Train.Where(i => !loaded.IsHeldoutSignal(i)).ToArray();
        var selectionEvents = loaded.Validation.Where(i => !loaded.IsHeldoutSignal(i)).ToArray();
        var inputs = spec.Model.Standardize ? InputStandardization.Fit(loaded, trainEvents, massScale) : InputStandardization.None(loaded.FeatureCount, massScale);
        var data = inputs.Apply(loaded);
        var encoding = inputs.Mass;
        var trainedScaled = data.TrainedMasses.Select(encoding.Encode).ToArray();

        using var generator = new Generator(spec.Seed);
        using var train = new TrainingSet(data, trainEvents, encoding, Device.CPU);
        using var selection = new TrainingSet(data, selectionEvents, encoding, Device.CPU);
        if (spec.Model.BackgroundMassMode != "fixed")
            throw new ArgumentException($"model kind 'bdt' is fitted once: background_mass_mode '{spec.Model.BackgroundMassMode}' (redrawing masses every epoch or batch) does not apply; use fixed");
        train.AssignBackgroundMasses(spec.Model.BackgroundMass, generator);
        selection.AssignBackgroundMasses(spec.Model.BackgroundMass, generator);
        var bce = LossOptions.Bce(phase.LossOptions);
        float[] trainWeights, selectionWeights;
        using (var trainLoss = new BceLoss(train, balancedBatches: false, bce)) trainWeights = trainLoss.EventWeights.ToArray();
        using (var selectionLoss = new BceLoss(selection, balancedBatches: false, bce)) selectionWeights = selectionLoss.EventWeights.ToArray();
        options.OnBatch?.Invoke(BatchUse.Training, train.Events);

        // Fit: one ensemble, or one per trained mass on the events routed to it.
        var clock = Stopwatch.StartNew();
        var d = data.FeatureCount;
        var route = train.Events.Select((_, k) => boosting.PerMass ? PerMassEnsembleIndex(trainedScaled, encoding.Encode(train.Mass[k])) : 0).ToArray();
        var ensembles = new List<TreeEnsemble>();
        for (var g = 0; g < (boosting.PerMass ? trainedScaled.Length : 1); g++)
        {
            var (features, columns, labels, weights) = FitInputs(train, trainWeights, route, g, boosting.PerMass);
            try
            {
                ensembles.Add(LightGbmFit.Fit(features, columns, labels, weights, boosting, threads, spec.Seed + (ulong)g, cancellation));
            }
            catch (OperationCanceledException)
            {
                return Interrupted();
            }
            catch (ArgumentException e) when (boosting.PerMass)
            {
                throw new ArgumentException($"the bdt of mass {data.TrainedMasses[g]}: {e.Message}");
            }
        }
        var model = new BoostedModel(ensembles, trainedScaled, boosting.PerMass, d);

        var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellation };
        var fit = new FittedBoost(spec, phase, boosting, data, encoding, train, selection, trainWeights, selectionWeights, trainedScaled, selectionEvents, model, parallel);
        List<EpochRecord> epochs;
        int bestRound, lastRound;
        try
        {
            (epochs, bestRound, lastRound) = TrainingCurve(fit, options, cancellation);
        }
        catch (OperationCanceledException)
        {
            return Interrupted();
        }
        var phases = new List<PhaseTiming> { new(0, phase.Loss, lastRound, clock.Elapsed.TotalSeconds) };

        // Evaluation of the last and the best round's ensemble, cuts chosen on validation as for nets.
        var masses = new List<MassMetrics>();
        var curves = new List<ScoreCurves>();
        try
        {
            var separateBest = bestRound > 0 && bestRound != lastRound;
            masses.AddRange(EvaluateRounds(fit, EpochKind.Last, lastRound, separateBest ? null : curves));
            if (separateBest) masses.AddRange(EvaluateRounds(fit, EpochKind.Best, bestRound, curves));
            else
            {
                bestRound = lastRound;
                masses.AddRange(masses.ToList().Select(m => m with { EpochKind = EpochKind.Best }));
            }
        }
        catch (OperationCanceledException)
        {
            return Interrupted();
        }
        return new TrialResult
        {
            Outcome = TrialOutcome.Completed, Epochs = epochs, Masses = masses, Phases = phases, BestEpoch = bestRound, LastEpoch = lastRound,
            Curves = curves.Select(c => c with { Epoch = bestRound }).ToList(),
        };

        TrialResult Interrupted() => new() { Outcome = TrialOutcome.Cancelled, Error = "interrupted; a bdt trial keeps no checkpoint and starts again on resume" };
    }

    /// <summary>What a fit leaves for its training curve and its evaluation.</summary>
    private sealed record FittedBoost(TrialSpec Spec, PhaseSpec Phase, BoostingSpec Boosting, TrialData Data, MassEncoding Encoding, TrainingSet Train,
        TrainingSet Selection, float[] TrainWeights, float[] SelectionWeights, double[] TrainedScaled, long[] SelectionEvents, BoostedModel Model,
        ParallelOptions Parallel);

    /// <summary>The training curve over rounds (one record per round), with early stopping and keep_best on it; cancellation throws.</summary>
    private static (List<EpochRecord> Epochs, int BestRound, int LastRound) TrainingCurve(FittedBoost fit, TrialRunOptions options, CancellationToken cancellation)
    {
        var (spec, phase, boosting, data, encoding, train, selection, trainWeights, selectionWeights, trainedScaled, selectionEvents, model, parallel) = fit;
        // The training curve over rounds, with early stopping and keep_best on it.
        options.OnBatch?.Invoke(BatchUse.ModelSelection, selection.Events);
        var keepMetric = phase.KeepBest ?? MetricNames.ValidationLoss;
        var extraMetrics = new[] { keepMetric, phase.EarlyStopping?.Metric }.OfType<string>()
            .Where(m => m is not (MetricNames.Loss or MetricNames.ValidationLoss)).Distinct().ToArray();
        var early = phase.EarlyStopping is null ? null : new EarlyStopping(phase.EarlyStopping);
        var rounds = model.Rounds;
        var trainScore = new double[train.Count];
        var selectionScore = new double[selection.Count];
        var bias = new Func<double, double>(m => model.Ensembles[model.EnsembleFor(m)].Bias);
        for (var k = 0; k < train.Count; k++) trainScore[k] = bias(encoding.Encode(train.Mass[k]));
        for (var k = 0; k < selection.Count; k++) selectionScore[k] = bias(encoding.Encode(selection.Mass[k]));
        // Per trained mass, every selection event scored at that hypothesis (only when a metric needs them).
        var atMass = extraMetrics.Length == 0 ? null : trainedScaled.Select(m => Enumerable.Repeat(bias(m), selection.Count).ToArray()).ToArray();
        var position = selection.Events.Select((e, k) => (e, k)).ToDictionary(p => p.e, p => p.k);
        var epochs = new List<EpochRecord>();
        double bestValue = double.NaN;
        int bestRound = 0, lastRound = 0;
        {
            for (var r = 0; r < rounds; r++)
            {
                cancellation.ThrowIfCancellationRequested();
                Parallel.For(0, train.Count, parallel, k => trainScore[k] += model.Round(r, Row(data, train.Events[k]), encoding.Encode(train.Mass[k])));
                Parallel.For(0, selection.Count, parallel, k => selectionScore[k] += model.Round(r, Row(data, selection.Events[k]), encoding.Encode(selection.Mass[k])));
                var metrics = new Dictionary<string, double>
                {
                    [MetricNames.Loss] = WeightedLogLoss(trainScore, train.IsSignal, trainWeights),
                    [MetricNames.ValidationLoss] = WeightedLogLoss(selectionScore, selection.IsSignal, selectionWeights),
                    [MetricNames.LearningRate] = boosting.LearningRate,
                };
                if (atMass is not null)
                {
                    for (var j = 0; j < atMass.Length; j++)
                    {
                        var column = atMass[j];
                        var m = trainedScaled[j];
                        Parallel.For(0, selection.Count, parallel, k => column[k] += model.Round(r, Row(data, selection.Events[k]), m));
                    }
                    if (spec.Evaluation.ValidationEvery > 0 && (r + 1) % spec.Evaluation.ValidationEvery == 0 || r == rounds - 1)
                    {
                        var perMass = MassEvaluator.Evaluate((sample, mass) =>
                            {
                                var column = atMass[Array.FindIndex(data.TrainedMasses, t => TrialData.SameMass(t, mass))];
                                return sample.Select(e => Sigmoid(column[position[e]])).ToArray();
                            }, usesMass: true, data, selectionEvents, spec, trainedOnly: true, includeOptimal: false);
                        foreach (var name in extraMetrics)
                            metrics[name] = perMass.Select(p => p.Metrics.GetValueOrDefault(name, double.NaN)).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
                    }
                }
                var record = new EpochRecord(0, r + 1, metrics);
                epochs.Add(record);
                options.OnEpoch?.Invoke(record, rounds);
                lastRound = r + 1;
                if (MetricDirection.IsBetter(keepMetric, metrics.GetValueOrDefault(keepMetric, double.NaN), bestValue))
                {
                    bestValue = metrics[keepMetric];
                    bestRound = r + 1;
                }
                if (early is not null && metrics.TryGetValue(phase.EarlyStopping!.Metric, out var watched) && early.ShouldStop(watched)) break;
            }
        }
        return (epochs, bestRound, lastRound);
    }

    /// <summary>Per-mass metrics of the ensemble cut after <paramref name="roundsUsed"/> rounds, cuts chosen on validation as for nets.</summary>
    private static List<MassMetrics> EvaluateRounds(FittedBoost fit, EpochKind kind, int roundsUsed, List<ScoreCurves>? curves)
    {
        var (spec, data, encoding, model, parallel) = (fit.Spec, fit.Data, fit.Encoding, fit.Model, fit.Parallel);
        var masses = new List<MassMetrics>();
        double[] Scores(long[] sample, double mass)
        {
            var scores = new double[sample.Length];
            var m = encoding.Encode(mass);
            Parallel.For(0, sample.Length, parallel, k => scores[k] = Sigmoid(model.Score(Row(data, sample[k]), m, roundsUsed)));
            return scores;
        }
        var validation = MassEvaluator.Evaluate(Scores, usesMass: true, data, data.Validation, spec, trainedOnly: false, includeOptimal: true);
        var test = MassEvaluator.Evaluate(Scores, usesMass: true, data, data.Test, spec, trainedOnly: false, includeOptimal: true,
            cutsFrom: data.Validation.Length > 0 ? validation : null, curves: curves);
        foreach (var (split, rows) in new[] { (SplitKind.Validation, validation), (SplitKind.Test, test) })
        foreach (var (mass, heldout, metrics) in rows)
            masses.Add(new MassMetrics(mass, heldout, split, kind, roundsUsed, metrics));
        return masses;
    }

    /// <summary>
    /// What ensemble <paramref name="group"/> is fitted on: the events of <paramref name="set"/> routed to it with a weight
    /// above 0, their features (and, parametric, the encoded mass as the last column), labels, and weights normalised to
    /// mean 1 (the logistic fit does not depend on their scale, the minimum hessian per leaf does).
    /// </summary>
    public static (float[] Features, int Columns, bool[] Labels, float[] Weights) FitInputs(TrainingSet set, IReadOnlyList<float> eventWeights,
        int[] route, int group, bool perMass)
    {
        var data = set.Data;
        var d = data.FeatureCount;
        var members = Enumerable.Range(0, set.Count).Where(k => route[k] == group && eventWeights[k] > 0).ToArray();
        var columns = perMass ? d : d + 1;
        var features = new float[members.Length * columns];
        for (var r = 0; r < members.Length; r++)
        {
            var k = members[r];
            Array.Copy(data.Features, set.Events[k] * d, features, (long)r * columns, d);
            if (!perMass) features[r * columns + d] = (float)set.MassEncoding.Encode(set.Mass[k]);
        }
        var mean = members.Length > 0 ? members.Average(k => (double)eventWeights[k]) : 1;
        return (features, columns, members.Select(k => set.IsSignal[k]).ToArray(), members.Select(k => (float)(eventWeights[k] / mean)).ToArray());
    }

    private static int PerMassEnsembleIndex(double[] trainedScaled, double scaledMass) => Models.PerMassEnsemble.Nearest(trainedScaled, scaledMass);

    private static ReadOnlySpan<float> Row(TrialData data, long i) => data.Features.AsSpan((int)(i * data.FeatureCount), data.FeatureCount);

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>sum_j w_j BCE(sigmoid(F_j), y_j) / sum_j w_j, the nets' weighted BCE (methods.md section 3), on raw scores.</summary>
    public static double WeightedLogLoss(double[] scores, bool[] isSignal, float[] weights)
    {
        double sum = 0, total = 0;
        for (var k = 0; k < scores.Length; k++)
        {
            var f = scores[k];
            var loss = Math.Max(f, 0) - (isSignal[k] ? f : 0) + Math.Log(1 + Math.Exp(-Math.Abs(f)));
            sum += weights[k] * loss;
            total += weights[k];
        }
        return total > 0 ? sum / total : double.NaN;
    }
}
