using System.Runtime.CompilerServices;
using Studies.Trials.Data;
using Studies.Trials.Engine;
using Studies.Trials.Metrics;
using Studies.Trials.Models;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>Per-mass metrics of a model on one split (methods.md section 6).</summary>
public interface IMassEvaluator
{
    /// <param name="events">The split's events (indices into the data set).</param>
    /// <param name="trainedOnly">Only trained masses (model selection never sees held-out signal).</param>
    /// <param name="cutsFrom">Metrics of the validation split whose cuts (best_cut, z_cut, global_cut) the headline
    /// cut metrics of this split are measured at; null: this split's own optima.</param>
    /// <param name="curves">When given, receives the <see cref="ScoreCurves"/> of every mass (the final evaluation's test split only).</param>
    IReadOnlyList<(double Mass, bool Heldout, IReadOnlyDictionary<string, double> Metrics)> Evaluate(
        ClassifierModel model, TrialData data, long[] events, MassEncoding massEncoding, TrialSpec spec, bool trainedOnly, bool includeOptimal,
        IReadOnlyList<(double Mass, bool Heldout, IReadOnlyDictionary<string, double> Metrics)>? cutsFrom = null, ICollection<ScoreCurves>? curves = null);
}

/// <summary>
/// Per-mass metrics of a model on one split (methods.md section 6). For mass m the sample is the
/// signal of mass m plus the background (only the background in the window of m when the data set
/// has a window variable); a parametric net sees every event with mass input m. Signal weights are
/// efficiency contributions, so passing signal sums to the absolute efficiency eps (the split's
/// share of generated events is corrected for); background weights are expected yields times the
/// Punzi scale. The Bayes-optimal scores, where the data set has them, go through the same code
/// and give the <c>_optimal</c> metrics.
/// </summary>
public sealed class MassEvaluator : IMassEvaluator
{
    private const int Chunk = 65_536;

    public IReadOnlyList<(double Mass, bool Heldout, IReadOnlyDictionary<string, double> Metrics)> Evaluate(
        ClassifierModel model, TrialData data, long[] events, MassEncoding massEncoding, TrialSpec spec, bool trainedOnly, bool includeOptimal,
        IReadOnlyList<(double Mass, bool Heldout, IReadOnlyDictionary<string, double> Metrics)>? cutsFrom = null, ICollection<ScoreCurves>? curves = null) =>
        Evaluate((sample, m) => Scores(model, data, sample, massEncoding.Encode(m)), model.UsesMass, data, events, spec, trainedOnly, includeOptimal, cutsFrom, curves);

    /// <summary>The same metrics for any classifier: <paramref name="scores"/> gives the signal probability of events at a mass
    /// hypothesis (in GeV, not encoded); a classifier that does not <paramref name="usesMass"/> is asked once, at mass NaN.
    /// <paramref name="curves"/>, when given, receives each mass's <see cref="ScoreCurves"/> at the cuts the metrics used.</summary>
    public static IReadOnlyList<(double Mass, bool Heldout, IReadOnlyDictionary<string, double> Metrics)> Evaluate(
        Func<long[], double, double[]> scores, bool usesMass, TrialData data, long[] events, TrialSpec spec, bool trainedOnly, bool includeOptimal,
        IReadOnlyList<(double Mass, bool Heldout, IReadOnlyDictionary<string, double> Metrics)>? cutsFrom = null, ICollection<ScoreCurves>? curves = null)
    {
        // One definition of sigma_min for every method of a study: the reference Punzi settings at the
        // data set's luminosity, whatever options a Punzi training phase used.
        var punzi = PunziParameters.Default with { Luminosity = data.Luminosity };
        var samples = Samples(data, events, trainedOnly, punzi);
        // A plain net gives every event one score whatever the hypothesis: score the split once.
        var shared = usesMass ? null : scores(events, double.NaN);

        var inputs = new List<MassInput>();
        var optimal = new List<(double Mass, bool Heldout, long[] Sample, bool[] IsSignal, double[] Weights)>();
        foreach (var (m, heldout, sample, at, isSignal, weights) in samples.PerMass)
        {
            double[] sampleScores;
            if (shared is null) sampleScores = scores(sample, m);
            else
            {
                sampleScores = new double[at.Length];
                for (var k = 0; k < at.Length; k++) sampleScores[k] = shared[at[k]];
            }
            inputs.Add(new MassInput(m, heldout, new MassSample(sampleScores, isSignal, weights)));
            if (includeOptimal && data.OptimalScores is not null) optimal.Add((m, heldout, sample, isSignal, weights));
        }
        var masses = samples.Masses;

        var options = new MetricOptions
        {
            Punzi = punzi,
            Significance = new SignificanceParameters
            {
                SignalYieldPerEfficiency = data.SignalYieldPerEfficiency,
                MinBackgroundYield = spec.Evaluation.MinBackgroundYield,
                MinBackgroundEvents = spec.Evaluation.MinBackgroundEvents,
                MinSignalEfficiency = spec.Evaluation.MinSignalEfficiency,
                BackgroundUncertainty = spec.Evaluation.BackgroundUncertainty ?? 0,
                // The weights carry the Punzi scale (for sigma_min); significances take it out.
                WeightScale = punzi.Scale,
            },
        };
        var values = MassMetricsCalculator.Compute(inputs, options, Chosen(cutsFrom, masses, ""));
        if (curves is not null)
        {
            for (var i = 0; i < inputs.Count; i++)
                curves.Add(ScoreCurveCalculator.Compute(inputs[i], values[i].Metrics[MetricNames.BestCut], values[i].Metrics[MetricNames.ZCut], options.Significance));
        }
        var optimalCuts = Chosen(cutsFrom, masses, MetricNames.OptimalSuffix);
        var optimalValues = optimal.Count == 0 ? null : OptimalMetrics(data, events, $"{trainedOnly}|{SpecJson.Serialize(spec.Evaluation)}|{Describe(optimalCuts)}",
            () => MassMetricsCalculator.Compute(optimal.Select(o => new MassInput(o.Mass, o.Heldout,
                new MassSample(Finite(data.OptimalScores!(o.Sample, o.Mass)), o.IsSignal, o.Weights))).ToList(), options, optimalCuts));
        return values.Select((v, i) =>
        {
            var metrics = new Dictionary<string, double>(v.Metrics);
            if (optimalValues is not null)
            {
                foreach (var (name, value) in optimalValues[i].Metrics) metrics[MetricNames.Optimal(name)] = value;
            }
            return (v.Mass, v.Heldout, (IReadOnlyDictionary<string, double>)metrics);
        }).ToList();
    }

    /// <summary>The events each mass's metrics are measured on, their classes and weights, and their positions in the split.</summary>
    private sealed record MassSamples(double[] Masses, (double Mass, bool Heldout, long[] Sample, int[] At, bool[] IsSignal, double[] Weights)[] PerMass);

    // Which events each mass is measured on depends only on the data, the split and the Punzi settings, not on the net: the members
    // of a fused pack with one seed, and the best and the last epoch of any trial, build them once. Finding each background event's
    // window per mass is most of an evaluation of a quickstart-sized net otherwise (MassGrid.Nearest, measured with perf in
    // studies bench fusion: about a fifth of a fused pack's time). Keyed by the data's (shared, read-only) class array and the split's array.
    private static readonly ConditionalWeakTable<bool[], ConditionalWeakTable<long[], Dictionary<string, MassSamples>>> SampleCache = new();

    private static MassSamples Samples(TrialData data, long[] events, bool trainedOnly, PunziParameters punzi)
    {
        // Everything else the samples read, in case another data set shares the class array.
        var key = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{trainedOnly}|{punzi.NSigma:R}|{punzi.Scale:R}|{string.Join(",", data.TrainedMasses)}|{string.Join(",", data.HeldoutMasses)}|"
            + $"{RuntimeHelpers.GetHashCode(data.Mass)}|{RuntimeHelpers.GetHashCode(data.Weight)}|{RuntimeHelpers.GetHashCode(data.Window)}|{RuntimeHelpers.GetHashCode(data.Windows)}");
        var cache = SampleCache.GetOrCreateValue(data.IsSignal).GetOrCreateValue(events);
        lock (cache)
        {
            if (cache.TryGetValue(key, out var found)) return found;
        }
        var masses = (trainedOnly ? data.TrainedMasses : data.AllMasses).OrderBy(m => m).ToArray();
        var background = events.Where(i => !data.IsSignal[i]).ToArray();
        var signal = events.Where(i => data.IsSignal[i]).GroupBy(i => MassGrid.IndexOf(masses, data.Mass[i]))
            .Where(g => g.Key >= 0).ToDictionary(g => masses[g.Key], g => g.ToArray());
        var position = new Dictionary<long, int>(events.Length);
        for (var k = 0; k < events.Length; k++) position.TryAdd(events[k], k);
        var perMass = masses.Select(m =>
        {
            // With a window variable every metric of mass m is measured inside its window, signal as
            // well as background (methods.md section 6 names only the background for ROC/PR). Deviation
            // on purpose: a net that does not see v would otherwise gain efficiency from signal the
            // window rejects at no background cost, and could "beat" the Bayes-optimal selection,
            // which does see v. Efficiencies stay absolute: out-of-window signal is lost, not renormalised.
            var allSignal = signal.GetValueOrDefault(m, []);
            var inWindow = data.Windows is { } windows && data.Window is { } v
                ? (Func<long, bool>)(j => windows.Contains(m, v[j], punzi.NSigma))
                : null;
            var s = inWindow is null ? allSignal : allSignal.Where(inWindow).ToArray();
            var b = inWindow is null ? background : background.Where(inWindow).ToArray();
            var sample = s.Concat(b).ToArray();
            var isSignal = sample.Select(j => data.IsSignal[j]).ToArray();
            var signalWeight = allSignal.Length == 0 ? 0 : punzi.Scale * data.SignalCount(m) / (data.GeneratedSignal(m) * allSignal.Length);
            var weights = sample.Select(j => data.IsSignal[j] ? signalWeight : punzi.Scale * data.Weight[j]).ToArray();
            var heldout = data.HeldoutMasses.Any(h => TrialData.SameMass(h, m));
            return (m, heldout, sample, sample.Select(j => position[j]).ToArray(), isSignal, weights);
        }).ToArray();
        var built = new MassSamples(masses, perMass);
        lock (cache) cache[key] = built;
        return built;
    }

    /// <summary>The cuts another split's metrics chose (validation), aligned with <paramref name="masses"/>; null without them.</summary>
    // The Bayes-optimal metrics of a split depend only on the data, the split's events, the evaluation settings and the
    // cuts chosen on validation, not on the net: trials that share loaded data (the members of a fused pack with one
    // seed, the best and the last epoch of a trial) compute them once. Keyed by the split's array itself.
    private static readonly ConditionalWeakTable<long[], Dictionary<string, object>> OptimalCache = new();

    private static T OptimalMetrics<T>(TrialData data, long[] events, string settings, Func<T> compute) where T : class
    {
        var key = $"{RuntimeHelpers.GetHashCode(data.OptimalScores!)}|{settings}";
        var cache = OptimalCache.GetOrCreateValue(events);
        lock (cache)
        {
            if (cache.TryGetValue(key, out var found) && found is T hit) return hit;
        }
        var value = compute();
        lock (cache) cache[key] = value;
        return value;
    }

    private static string Describe(ChosenCuts? cuts) => cuts is null ? "own"
        : string.Join(",", cuts.BestCut.Concat(cuts.ZCut).Append(cuts.GlobalCut).Select(c => c.ToString("R", System.Globalization.CultureInfo.InvariantCulture)));

    private static ChosenCuts? Chosen(IReadOnlyList<(double Mass, bool Heldout, IReadOnlyDictionary<string, double> Metrics)>? from,
        double[] masses, string suffix)
    {
        if (from is null) return null;
        double Get(double m, string name)
        {
            foreach (var row in from)
                if (TrialData.SameMass(row.Mass, m)) return row.Metrics.GetValueOrDefault(name + suffix, double.NaN);
            return double.NaN;
        }
        var global = from.Select(r => r.Metrics.GetValueOrDefault(MetricNames.GlobalCut + suffix, double.NaN)).FirstOrDefault(double.NaN);
        return new ChosenCuts(masses.Select(m => Get(m, MetricNames.BestCut)).ToArray(), masses.Select(m => Get(m, MetricNames.ZCut)).ToArray(), global);
    }

    /// <summary>
    /// Log-likelihood ratios are +infinity where no background can be (e.g. a Gaussian-toy signal
    /// beyond the uniform background's range) and -infinity where no signal can be; the cut scans
    /// need finite scores, and only the order matters, so these become just above the largest and
    /// just below the smallest finite score.
    /// </summary>
    private static double[] Finite(double[] scores)
    {
        var finite = scores.Where(double.IsFinite).DefaultIfEmpty(0).ToArray();
        double max = finite.Max(), min = finite.Min();
        for (var i = 0; i < scores.Length; i++)
        {
            if (double.IsPositiveInfinity(scores[i])) scores[i] = max + 1;
            else if (double.IsNegativeInfinity(scores[i])) scores[i] = min - 1;
            else if (double.IsNaN(scores[i])) throw new InvalidOperationException("the Bayes-optimal score of an event is NaN");
        }
        return scores;
    }

    /// <summary>Sigmoid scores of the model for the given events, all at one mass, in chunks to bound memory.</summary>
    private static double[] Scores(ClassifierModel model, TrialData data, long[] sample, double scaledMass)
    {
        var scores = new double[sample.Length];
        var d = data.FeatureCount;
        var device = model.Parameters()[0].Device;
        for (var start = 0; start < sample.Length; start += Chunk)
        {
            using var scope = TensorScope.Begin();
            var n = Math.Min(Chunk, sample.Length - start);
            var features = new float[n * d];
            for (var k = 0; k < n; k++) Array.Copy(data.Features, sample[start + k] * d, features, (long)k * d, d);
            var x = Torch.Tensor(features, [n, d], device);
            var mass = model.UsesMass ? Torch.Full([n, 1], scaledMass, device: device) : null;
            var f = model.Logits(x, mass).Sigmoid().Reshape(-1).To(ScalarType.Float64).ToArray<double>();
            f.CopyTo(scores, start);
        }
        return scores;
    }
}
