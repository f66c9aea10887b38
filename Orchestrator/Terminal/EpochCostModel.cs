using System.Diagnostics;
using Studies.Orchestrator.Studies;
using Studies.Trials.Catalog;
using Studies.Trials.Components;
using Studies.Trials.Data;
using Studies.Trials.Engine;
using Studies.Trials.Models;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Terminal;

/// <summary>
/// What one model shape costs on this host, measured by <see cref="EpochCostModel.Calibrate(ModelSpec, int, int, int, CancellationToken, ComponentCatalog?)"/>:
/// a training step (forward, BCE, backward, Adam) of <c>b</c> events takes <c>StepSeconds + StepEventSeconds x b</c>, a scoring
/// pass (no gradient) over <c>n</c> events <c>ForwardSeconds + ForwardEventSeconds x n</c>. The fixed parts are libtorch's
/// per-call overhead: they grow with the number of calls a step makes (layers, conditioning terms, one net per mass), not
/// with the multiply-adds, which is why the multiply-add count alone was the wrong cost model (see <see cref="EpochCostModel"/>).
/// </summary>
/// <param name="UsesMass">The net takes the mass: the selection metric scores the validation events once per trained mass.</param>
/// <param name="PlanEventSeconds">Drawing an epoch's batches (the model's <c>balance</c>), per training event.</param>
/// <param name="SelectEventSeconds">The per-mass metrics of a selection epoch besides scoring (each mass's sample, its sorts and
/// sums: the evaluator's own work), per validation event, all trained masses together.</param>
public sealed record ShapeCost(double StepSeconds, double StepEventSeconds, double ForwardSeconds, double ForwardEventSeconds, bool UsesMass,
    double PlanEventSeconds = 0, double SelectEventSeconds = 0)
{
    public double Step(double batch) => StepSeconds + StepEventSeconds * batch;

    public double Forward(double events) => ForwardSeconds + ForwardEventSeconds * events;
}

/// <summary>The calibrated cost model of a run's kinds (<see cref="EtaTrial.KindOf"/>): seconds per epoch of each phase, and of the trial's end.</summary>
public sealed record CalibratedKinds(IReadOnlyDictionary<string, IReadOnlyList<double>> EpochSeconds, IReadOnlyDictionary<string, double> EndSeconds);

/// <summary>
/// The cost model of the ETA: seconds per epoch of a trial's phase from a short measurement of its model shape on this host.
/// <para>
/// An epoch is <c>steps x (a + b x batch)</c> for training (the step gathers its batch from the training set as the trainer
/// does, so the fixed part holds those calls too, which every kind pays alike), plus drawing the epoch's batches, plus a scoring pass over the validation events for the validation
/// loss, plus, on the epochs that compute a selection metric (keep_best, early stopping; every <c>validation_every</c> and a
/// phase's last), one scoring pass per trained mass for a net that takes the mass (one for a plain net) and the metrics' own
/// work (the real evaluator timed on random scores; the same for every kind, and as large as a pnn's steps on gaussian-pnn:
/// without it the ratio of an affine-pnn or per-mass epoch to a pnn one came out 1.7 and 2.2 where 1.3 and 1.6 were
/// measured, bench eta at load ~27, and the ETA after 10 % was +27 %). The per-step part
/// <c>a</c> and the per-event part <c>b</c> are measured per model shape (kind, widths, conditioning, features, trained masses)
/// by timing a few steps at two batch sizes (<see cref="Calibrate(ModelSpec, int, int, int, CancellationToken, ComponentCatalog?)"/>), taking each
/// size's fastest step: the run's other load only ever adds time, and the ETA wants the ratios between kinds, which the
/// fastest steps measure alike for all kinds.
/// </para>
/// <para>
/// Why: the multiply-add count (the model registry's <c>MultiplyAdds</c>) puts gaussian-pnn's four kinds within 12 % of each
/// other (pnn 1120, affine-pnn 1216, dnn and per-mass 1088 per event), yet its affine-pnn and per-mass epochs take about
/// twice a pnn epoch (bench eta, 1/10 events, load ~10 on 2 cores): at 1,000 multiply-adds an event a 1024-event step is
/// ~1 ms of arithmetic, and libtorch's per-call overhead (~10-20 us a call, forward, backward and Adam) is as large; the
/// affine conditioning adds two calls per layer, per-mass one net (and its calls) per trained mass plus the routing. So when
/// the first 10 % of epochs were pnn's only, the remaining affine-pnn and per-mass trials were taken as fast as pnn and the
/// ETA after 10 % was 45 % short. Measured per shape the steps carry those calls.
/// </para>
/// What is not in the model (the losses' own work beyond BCE: Punzi over the whole set, Lovász's sort; computing the
/// metrics; batch planning) is corrected by <see cref="EtaEstimator"/>: it scales the model by the measured/model ratio
/// of phases with the same loss and batch, and uses a kind's own measured epochs as soon as it has any.
/// </summary>
public static class EpochCostModel
{
    /// <summary>Batch sizes a shape is timed at: two, to tell a step's fixed part from its part per event.</summary>
    private const int SmallBatch = 256;
    private const int LargeBatch = 2048;
    private const int ScoredSmall = 1024;
    private const int ScoredLarge = 8192;

    /// <summary>Seconds of one epoch of phase <paramref name="phase"/> of <paramref name="spec"/> for a shape that costs <paramref name="cost"/>.</summary>
    public static double EpochSeconds(TrialSpec spec, int phase, ShapeCost cost, DataSize size, int trainedMasses)
    {
        if (phase < 0 || phase >= spec.Schedule.Count) return 0;
        var p = spec.Schedule[phase];
        var split = spec.Data.Split;
        var train = Math.Max(1, size.Events * split.Train);
        var batch = p.Batch is { } b and > 0 ? Math.Min(b, train) : train;
        var steps = Math.Ceiling(train / batch);
        var validation = size.Events * split.Validation;
        var seconds = train * cost.PlanEventSeconds + steps * cost.Step(batch) + cost.Forward(validation);
        // The selection metric's epochs, spread over the phase's epochs: one pass per trained mass for a net that takes the mass.
        var evaluating = p.Epochs > 0 ? (double)KindCost.Evaluations(spec, phase) / p.Epochs : 0;
        return seconds + evaluating * ((cost.UsesMass ? Math.Max(1, trainedMasses) : 1) * cost.Forward(validation) + validation * cost.SelectEventSeconds);
    }

    /// <summary>
    /// Seconds per epoch of each phase of each kind of <paramref name="trials"/> (keyed by <see cref="EtaTrial.KindOf"/>),
    /// from one calibration per model shape; CPU trials only (the orchestrator measures on its own CPU; a trial on a GPU
    /// keeps the multiply-add model). <paramref name="budgetSeconds"/> bounds the measurement's rounds (at least two are made).
    /// </summary>
    public static CalibratedKinds Calibrate(IEnumerable<TrialSpec> trials, double budgetSeconds, CancellationToken ct, ComponentCatalog? components = null)
    {
        components ??= ComponentCatalog.BuiltIn;
        var epochs = new Dictionary<string, IReadOnlyList<double>>(StringComparer.Ordinal);
        var ends = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (kind, (spec, cost)) in CalibrateKinds(trials, budgetSeconds, ct, components))
        {
            var size = DryRun.EstimateData(spec.Data, components);
            var trained = DryRun.TrainedMassCount(spec.Data);
            epochs[kind] = spec.Schedule.Select((_, p) => EpochSeconds(spec, p, cost, size, trained)).ToList();
            ends[kind] = EndSeconds(spec, cost, size, trained, DryRun.Grid(spec.Data)?.Count ?? 1);
        }
        return new CalibratedKinds(epochs, ends);
    }

    /// <summary>
    /// Seconds of a trial's end: the per-mass evaluation of the validation and test splits at every mass (held-out ones too),
    /// at the last epoch and at the kept one: the scoring passes and the metrics' own work (measured per trained mass, so
    /// scaled to all masses).
    /// </summary>
    public static double EndSeconds(TrialSpec spec, ShapeCost cost, DataSize size, int trainedMasses, int allMasses)
    {
        var events = size.Events * (spec.Data.Split.Validation + spec.Data.Split.Test);
        var masses = Math.Max(1, allMasses);
        var scoring = (cost.UsesMass ? masses : 1) * cost.Forward(events);
        return 2 * (scoring + events * cost.SelectEventSeconds * masses / Math.Max(1, trainedMasses));
    }

    /// <summary>The shape cost of each kind of <paramref name="trials"/> (CPU, not boosted), with a trial of the kind; all shapes measured together.</summary>
    public static IReadOnlyDictionary<string, (TrialSpec Example, ShapeCost Cost)> CalibrateKinds(IEnumerable<TrialSpec> trials, double budgetSeconds,
        CancellationToken ct, ComponentCatalog? components = null)
    {
        components ??= ComponentCatalog.BuiltIn;
        var shapes = new Dictionary<string, (ModelSpec Model, int Features, int Masses, int Threads)>(StringComparer.Ordinal);
        var kinds = new Dictionary<string, (TrialSpec Spec, string Shape)>(StringComparer.Ordinal);
        foreach (var spec in trials)
        {
            var kind = EtaTrial.KindOf(spec);
            if (kinds.ContainsKey(kind) || spec.Device != "cpu" || spec.Model.Boosting is not null) continue;
            var features = DryRun.EstimateData(spec.Data, components).Features;
            var masses = DryRun.TrainedMassCount(spec.Data);
            var shape = $"{SpecJson.Serialize(spec.Model)}|{features}|{masses}|{spec.Threads}";
            shapes.TryAdd(shape, (spec.Model, features, masses, spec.Threads));
            kinds[kind] = (spec, shape);
        }
        var costs = Calibrate(shapes, budgetSeconds, ct, components);
        return kinds.Where(k => costs.ContainsKey(k.Value.Shape)).ToDictionary(k => k.Key, k => (k.Value.Spec, costs[k.Value.Shape]), StringComparer.Ordinal);
    }

    /// <summary>One model shape's calibration (see <see cref="ShapeCost"/>); null when the model cannot be built.</summary>
    public static ShapeCost? Calibrate(ModelSpec model, int features, int trainedMasses, int threads, CancellationToken ct, ComponentCatalog? components = null) =>
        Calibrate(new Dictionary<string, (ModelSpec, int, int, int)> { [""] = (model, features, trainedMasses, threads) }, 0, ct, components ?? ComponentCatalog.BuiltIn).GetValueOrDefault("");

    /// <summary>
    /// Times training steps and scoring passes of every shape on random inputs (the mass input drawn from the trained
    /// masses' count of evenly spaced values, as a shuffled batch mixes them), in rounds that visit every shape in turn, so
    /// that a burst of the machine's other load falls on all shapes alike; each measurement's fastest round is kept.
    /// </summary>
    private static Dictionary<string, ShapeCost> Calibrate(IReadOnlyDictionary<string, (ModelSpec Model, int Features, int Masses, int Threads)> shapes,
        double budgetSeconds, CancellationToken ct, ComponentCatalog components)
    {
        var clock = Stopwatch.StartNew();
        var previousThreads = Torch.GetNumThreads();
        var probes = new List<(string Shape, Probe Probe)>();
        try
        {
            using var scope = TensorScope.Begin();
            foreach (var (shape, (model, features, masses, threads)) in shapes)
            {
                try
                {
                    probes.Add((shape, new Probe(model, features, masses, threads, components)));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A model this calibration cannot build (an option it does not know): its trials keep the multiply-add model.
                }
            }
            for (var round = 0; round <= MinimumRounds || round < MaximumRounds && clock.Elapsed.TotalSeconds < budgetSeconds; round++)
            {
                foreach (var (_, probe) in probes)
                {
                    ct.ThrowIfCancellationRequested();
                    probe.Round(timed: round > 0);
                }
            }
            return probes.ToDictionary(p => p.Shape, p => p.Probe.Cost(), StringComparer.Ordinal);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The tensor library failed here (it is not there, or a shape cannot run): no calibration, the multiply-add model stays.
            return [];
        }
        finally
        {
            foreach (var (_, probe) in probes) probe.Dispose();
            Torch.SetNumThreads(previousThreads);
        }
    }

    /// <summary>Timed rounds: the first is not timed (it meets the code first); at least this many timed, at most the maximum within the budget.</summary>
    private const int MinimumRounds = 3;
    private const int MaximumRounds = 60;

    /// <summary>A built model of one shape with its optimiser and inputs, and the fastest time of each measurement so far.</summary>
    private sealed class Probe : IDisposable
    {
        private static readonly (int Events, bool Training)[] Measurements = [(SmallBatch, true), (LargeBatch, true), (ScoredSmall, false), (ScoredLarge, false)];
        private readonly Generator generator = new(1);
        private readonly ClassifierModel net;
        private readonly Optimizer optimizer;
        private readonly int threads;
        private readonly List<(Tensor X, Tensor M, Tensor Y)> inputs = [];
        /// <summary>The training set the steps gather their batches from, as a trainer's loss does (features, mass, labels, weights).</summary>
        private readonly (Tensor X, Tensor M, Tensor Y, Tensor W) pool;
        private readonly (bool[] IsSignal, int[] MassIndex, int[] Process) planned;
        private readonly string balance;
        private double fastestPlan = double.PositiveInfinity;
        private double fastestSelect = double.PositiveInfinity;
        private readonly TrialData selectionSet;
        private readonly TrialSpec selectionSpec;
        private readonly double[] randomScores;
        private readonly double[] fastest = Measurements.Select(_ => double.PositiveInfinity).ToArray();

        public Probe(ModelSpec model, int features, int trainedMasses, int threads, ComponentCatalog components)
        {
            this.threads = Math.Max(1, threads);
            var count = Math.Max(1, trainedMasses);
            net = ModelFactory.Create(model, features, Enumerable.Range(0, count).Select(i => (i + 1.0) / count).ToList(), generator, null, components.Models);
            optimizer = Optimizers.Create(components.Optimizers, new PhaseSpec { Loss = "bce", Epochs = 1 }, model, net.NamedParameters().ToList());
            foreach (var (events, _) in Measurements)
                inputs.Add((Torch.Randn([events, features], generator), (Torch.RandInt(0, count, [events, 1], generator).To(ScalarType.Float32) + 1) / count,
                    Torch.Rand([events, 1], generator).Gt(0.5).To(ScalarType.Float32)));
            pool = (Torch.Randn([PoolEvents, features], generator), (Torch.RandInt(0, count, [PoolEvents, 1], generator).To(ScalarType.Float32) + 1) / count,
                Torch.Rand([PoolEvents, 1], generator).Gt(0.5).To(ScalarType.Float32), Torch.Rand([PoolEvents, 1], generator));
            var random = new Random(1);
            var isSignal = Enumerable.Range(0, PoolEvents).Select(_ => random.Next(2) == 0).ToArray();
            planned = (isSignal, isSignal.Select(s => s ? random.Next(count) : -1).ToArray(), isSignal.Select(s => s ? 0 : 1 + random.Next(2)).ToArray());
            balance = model.Balance;
            var trained = Enumerable.Range(0, count).Select(i => i + 1.0).ToArray();
            selectionSet = new TrialData
            {
                Count = PoolEvents, FeatureCount = features, Features = new float[PoolEvents * features], IsSignal = isSignal,
                Mass = isSignal.Select(s => s ? trained[random.Next(count)] : double.NaN).ToArray(), Process = planned.Process,
                ProcessNames = ["signal", "background-1", "background-2"], Weight = Enumerable.Repeat(1.0, PoolEvents).ToArray(),
                Train = [], Validation = Enumerable.Range(0, SelectEvents).Select(i => (long)i).ToArray(), Test = [],
                TrainedMasses = trained, HeldoutMasses = [], GeneratedPerMass = trained.ToDictionary(m => m, _ => (double)PoolEvents / 2 / count),
            };
            selectionSpec = new TrialSpec { Data = new DataSpec { Source = "calibration" }, Model = model, Schedule = [new PhaseSpec { Loss = "bce", Epochs = 1 }] };
            randomScores = Enumerable.Range(0, PoolEvents).Select(_ => random.NextDouble()).ToArray();
        }

        /// <summary>Events of the training set a step gathers from and an epoch's batches are drawn for.</summary>
        private const int PoolEvents = 16384;
        /// <summary>Validation events the evaluator is timed on: few enough that a pass fits between the machine's other work (a few ms).</summary>
        private const int SelectEvents = 4096;

        public void Round(bool timed)
        {
            Torch.SetNumThreads(threads);
            for (var k = 0; k < Measurements.Length; k++)
            {
                var (x, m, y) = inputs[k];
                var positions = Measurements[k].Training ? Enumerable.Range(0, Measurements[k].Events).Select(i => (long)(i * 7 % PoolEvents)).ToArray() : null;
                using var step = TensorScope.Begin();
                var clock = Stopwatch.StartNew();
                if (positions is not null)
                {
                    net.Train();
                    optimizer.ZeroGrad();
                    // As BceLoss over a TrainingSet: the batch's rows gathered, weighted, summed and normalised.
                    var index = Torch.Tensor(positions);
                    var w = pool.W.IndexSelect(0, index);
                    var loss = Torch.BinaryCrossEntropyWithLogits(net.Logits(pool.X.IndexSelect(0, index), pool.M.IndexSelect(0, index)), pool.Y.IndexSelect(0, index), w, Reduction.Sum)
                        / w.Sum().ClampMin(1e-30);
                    loss.Backward();
                    optimizer.Step();
                    (loss.Detach() * positions.Length).Item();
                }
                else
                {
                    net.Eval();
                    using var noGrad = Torch.NoGrad();
                    net.Logits(x, m).Sum().Item();
                }
                if (timed) fastest[k] = Math.Min(fastest[k], clock.Elapsed.TotalSeconds);
            }
            var plan = Stopwatch.StartNew();
            BatchPlan.Epoch(PoolEvents, SmallBatch, balance, planned.IsSignal, planned.MassIndex, planned.Process, generator);
            if (timed) fastestPlan = Math.Min(fastestPlan, plan.Elapsed.TotalSeconds);
            // The evaluator takes longer than the rest together: a few rounds of it.
            if (rounds >= 2 * MinimumRounds) return;
            var select = Stopwatch.StartNew();
            MassEvaluator.Evaluate((sample, _) => sample.Select(i => randomScores[i]).ToArray(), net.UsesMass, selectionSet, selectionSet.Validation,
                selectionSpec, trainedOnly: true, includeOptimal: false);
            if (timed)
            {
                fastestSelect = Math.Min(fastestSelect, select.Elapsed.TotalSeconds);
                rounds++;
            }
        }

        private int rounds;

        /// <summary>The two sizes of each kind of pass give its fixed part and its part per event.</summary>
        public ShapeCost Cost()
        {
            var step = Math.Max(0, (fastest[1] - fastest[0]) / (LargeBatch - SmallBatch));
            var score = Math.Max(0, (fastest[3] - fastest[2]) / (ScoredLarge - ScoredSmall));
            return new ShapeCost(Math.Max(0, fastest[0] - step * SmallBatch), step, Math.Max(0, fastest[2] - score * ScoredSmall), score, net.UsesMass, fastestPlan / PoolEvents,
                double.IsFinite(fastestSelect) ? fastestSelect / SelectEvents : 0);
        }

        public void Dispose()
        {
            optimizer.Dispose();
            net.Dispose();
            generator.Dispose();
        }
    }
}
