using System.Globalization;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports;

/// <summary>Shape of a synthetic study: how many methods, trials, masses and epochs.</summary>
public sealed record SyntheticStudyShape
{
    public string Name { get; init; } = "synthetic";
    public int Methods { get; init; } = 4;
    public int TrialsPerMethod { get; init; } = 5;
    public int Masses { get; init; } = 10;
    /// <summary>Every n-th mass is held out (the Punzi-net study's "every second mass" is 2).</summary>
    public int HeldoutEvery { get; init; } = 2;
    public int Epochs { get; init; } = 20;
    public bool IsSearch { get; init; }
    /// <summary>Trials at the end of each method that end failed, diverged or interrupted instead of completing.</summary>
    public int ProblemTrialsPerMethod { get; init; } = 1;
    public int Seed { get; init; } = 1;
    /// <summary>Completed trials also carry score curves, computed from made-up scored events per mass (off: results as recorded before curves were kept).</summary>
    public bool ScoreCurves { get; init; }
}

/// <summary>
/// Plausible made-up studies for benchmarks and browser tests: AUC rising with mass, sigma_min
/// falling, held-out masses slightly worse, an optimum above every method, two training phases.
/// </summary>
public static class SyntheticStudies
{
    public static readonly string[] MethodNames = ["dnn", "pnn", "affine-pnn", "per-mass", "lovasz", "punzi", "bce", "mixed"];

    public static StudyRecord Create(SyntheticStudyShape shape)
    {
        var rng = new Random(shape.Seed);
        var masses = Enumerable.Range(0, shape.Masses).Select(i => 0.5 + 0.2 * i).ToArray();
        var trials = new List<TrialRecord>();
        var problems = new[] { TrialState.Failed, TrialState.Diverged, TrialState.Interrupted };
        for (var m = 0; m < shape.Methods; m++)
        {
            var method = MethodNames[m % MethodNames.Length] + (m >= MethodNames.Length ? $"-{m}" : "");
            var quality = 0.7 + 0.25 * m / Math.Max(1, shape.Methods - 1);
            for (var t = 0; t < shape.TrialsPerMethod + shape.ProblemTrialsPerMethod; t++)
            {
                var id = $"{method}-{t:D4}";
                var axes = new Dictionary<string, string>
                {
                    ["model.kind"] = method,
                    ["seed"] = (t + 1).ToString(CultureInfo.InvariantCulture),
                };
                var lr = Math.Pow(10, -4 + 3 * rng.NextDouble());
                var width = new[] { 32, 64, 128, 256 }[rng.Next(4)];
                if (shape.IsSearch)
                {
                    axes["optimizer.lr"] = lr.ToString("R", CultureInfo.InvariantCulture);
                    axes["model.hidden"] = width.ToString(CultureInfo.InvariantCulture);
                    axes["optimizer.kind"] = rng.Next(2) == 0 ? "adam" : "sgd";
                }
                if (t >= shape.TrialsPerMethod)
                {
                    var state = problems[(m + t) % problems.Length];
                    trials.Add(new TrialRecord
                    {
                        TrialId = id, State = state, Attempts = state == TrialState.Interrupted ? 1 : 2, Seconds = 3 + rng.NextDouble(),
                        Device = "cpu", Axes = axes,
                        Error = state == TrialState.Diverged ? "loss is NaN at epoch 7 of phase 2 (punzi)" : state == TrialState.Failed ? "out of memory" : null,
                    });
                    continue;
                }
                // A search trial's quality depends on how close its learning rate is to 1e-2.
                var tuned = shape.IsSearch ? quality - 0.05 * Math.Abs(Math.Log10(lr) + 2) : quality;
                trials.Add(new TrialRecord
                {
                    TrialId = id, State = TrialState.Completed, Attempts = 1, Seconds = 10 + 5 * rng.NextDouble(),
                    Device = m % 2 == 0 ? "cpu" : "cuda:0", Axes = axes,
                    Result = Result(rng, masses, shape, tuned),
                });
            }
        }
        return new StudyRecord
        {
            Name = shape.Name,
            Description = $"Synthetic study: {shape.Methods} methods, {shape.TrialsPerMethod} trials each, {shape.Masses} masses.",
            DefinitionText = $"name: {shape.Name}\ndata: {{kind: recoil-toy}}\nmatrix:\n  model.kind: [{string.Join(", ", trials.Select(t => t.Axes["model.kind"]).Distinct())}]\n",
            CompareAxes = ["model.kind"],
            Headline = MetricNames.SigmaMinBestCut,
            Trials = trials,
            Provenance = new Dictionary<string, string> { ["git commit"] = "0000000", ["host"] = "synthetic", ["libtorch"] = "1.13", ["BLAS"] = "openblas" },
            IsSearch = shape.IsSearch,
        };
    }

    private static TrialResult Result(Random rng, double[] masses, SyntheticStudyShape shape, double quality)
    {
        var phase1 = shape.Epochs / 3;
        var epochs = new List<EpochRecord>(shape.Epochs);
        for (var e = 1; e <= shape.Epochs; e++)
        {
            var phase = e <= phase1 ? 0 : 1;
            var loss = phase == 0 ? 0.4 + 0.3 * Math.Exp(-e / 5.0) : 10 + 15 * Math.Exp(-(e - phase1) / 10.0);
            loss *= 1 + 0.02 * Gaussian(rng);
            epochs.Add(new EpochRecord(phase, e, new Dictionary<string, double>
            {
                [MetricNames.Loss] = loss,
                [MetricNames.ValidationLoss] = loss * 1.05,
                [MetricNames.LearningRate] = 0.05,
                [MetricNames.RocAuc] = quality * (1 - 0.3 * Math.Exp(-e / 8.0)),
            }));
        }
        var best = Math.Max(1, shape.Epochs - 2);
        var list = new List<MassMetrics>(masses.Length * 4);
        for (var i = 0; i < masses.Length; i++)
        {
            var mass = masses[i];
            // With an even number of masses the last one is held out too: an extrapolation, which has no interpolation ratio.
            var heldout = shape.HeldoutEvery > 0 && i % shape.HeldoutEvery == 1;
            var penalty = heldout ? 0.97 : 1.0;
            var optimalAuc = 0.995 - 0.2 / (1 + mass);
            foreach (var split in new[] { SplitKind.Validation, SplitKind.Test })
                foreach (var kind in new[] { EpochKind.Best, EpochKind.Last })
                {
                    var auc = Math.Min(optimalAuc - 0.001, optimalAuc * quality * penalty * (1 + 0.01 * Gaussian(rng)));
                    var sigmaOptimal = 2 + 3 / mass;
                    var sigma = sigmaOptimal / (quality * penalty) * (1 + 0.05 * Math.Abs(Gaussian(rng)));
                    list.Add(new MassMetrics(mass, heldout, split, kind, kind == EpochKind.Best ? best : shape.Epochs, new Dictionary<string, double>
                    {
                        [MetricNames.RocAuc] = auc,
                        [MetricNames.Optimal(MetricNames.RocAuc)] = optimalAuc,
                        [MetricNames.PrAuc] = auc * 0.9,
                        [MetricNames.SigmaMinBestCut] = sigma,
                        [MetricNames.Optimal(MetricNames.SigmaMinBestCut)] = sigmaOptimal,
                        [MetricNames.SigmaMinGlobalCut] = sigma * 1.1,
                        [MetricNames.SigmaMinCut0p5] = sigma * 1.3,
                        [MetricNames.ZBest] = 4 * quality * penalty * (1 + 0.03 * Gaussian(rng)),
                        [MetricNames.ZSPlusBBest] = 3 * quality,
                        [MetricNames.ZAsimovBest] = 4.2 * quality,
                        [MetricNames.SigEffAtBkg1Pct] = 0.3 * quality,
                        [MetricNames.SigEffAtBkg10Pct] = 0.7 * quality,
                    }));
                }
        }
        return new TrialResult
        {
            Outcome = TrialOutcome.Completed, Epochs = epochs, Masses = list, BestEpoch = best, LastEpoch = shape.Epochs,
            Phases = [new PhaseTiming(0, "bce", phase1, 3), new PhaseTiming(1, "punzi", shape.Epochs - phase1, 7)],
            Curves = shape.ScoreCurves ? Curves(rng, masses, shape, quality, best) : [],
        };
    }

    /// <summary>Per mass 300 signal and 1,500 background events with sigmoid scores, signal separated the more the better the method.</summary>
    private static List<ScoreCurves> Curves(Random rng, double[] masses, SyntheticStudyShape shape, double quality, int epoch)
    {
        var curves = new List<ScoreCurves>(masses.Length);
        for (var i = 0; i < masses.Length; i++)
        {
            var heldout = shape.HeldoutEvery > 0 && i % shape.HeldoutEvery == 1;
            var separation = 4 * quality * (heldout ? 0.9 : 1);
            var n = 1800;
            var score = new double[n];
            var isSignal = new bool[n];
            var weight = new double[n];
            for (var k = 0; k < n; k++)
            {
                isSignal[k] = k < 300;
                score[k] = 1 / (1 + Math.Exp(-(Gaussian(rng) + (isSignal[k] ? separation / 2 : -separation / 2))));
                weight[k] = isSignal[k] ? 0.9 / 300 : 0.9 * 0.2;
            }
            var input = new Trials.Metrics.MassInput(masses[i], heldout, new Trials.Metrics.MassSample(score, isSignal, weight));
            var parameters = new Trials.Metrics.SignificanceParameters { WeightScale = 0.9 };
            var scan = Trials.Metrics.CutScan.Build(input.Sample);
            curves.Add(Trials.Metrics.ScoreCurveCalculator.Compute(input, Trials.Metrics.PunziSensitivity.Best(scan, Trials.Metrics.PunziParameters.Default).Cut,
                Trials.Metrics.Significance.Best(scan, parameters).SOverSqrtB.Cut, parameters) with { Epoch = epoch });
        }
        return curves;
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
