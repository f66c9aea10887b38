using Studies.Trials.Boosting;
using Studies.Trials.Data;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Trials.Tests.Boosting;

/// <summary>The bdt model kind: the fit against a hand-computed stump, and whole trials (parametric at held-out masses, per mass, early stopping, devices).</summary>
public sealed class BdtTests
{
    // ---- a single-split stump, computed by brute force ---------------------------------------

    /// <summary>
    /// One feature with 10 distinct values, 6 events each (LightGBM puts at least 3 events in a bin),
    /// labels chosen so that the best split is unique (gains 17.98 against 17.15 next) and the weighted one differs.
    /// </summary>
    private static (float[] X, bool[] Y) Stump()
    {
        var x = new List<float>();
        var y = new List<bool>();
        int[] signalPerValue = [0, 1, 1, 2, 3, 3, 4, 5, 6, 6];
        for (var v = 0; v < 10; v++)
        for (var k = 0; k < 6; k++)
        {
            x.Add(v);
            y.Add(k < signalPerValue[v]);
        }
        return ([.. x], [.. y]);
    }

    /// <summary>
    /// The first tree of weighted logistic boosting with L2 lambda = 1, minimum hessian 1 per leaf,
    /// learning rate eta, started from the weighted log-odds (LightGBM's boost_from_average, folded
    /// into the first tree's leaves): every split between distinct values is tried and the one with
    /// the largest gain G_L^2/(H_L+1) + G_R^2/(H_R+1) kept; a leaf holds init - eta G/(H+1).
    /// </summary>
    private static (float Cut, double Left, double Right) BruteForceStump(float[] x, bool[] y, float[] w, double eta)
    {
        double sw = 0, swy = 0;
        for (var i = 0; i < x.Length; i++) { sw += w[i]; swy += y[i] ? w[i] : 0; }
        var init = Math.Log(swy / (sw - swy));
        var p = 1 / (1 + Math.Exp(-init));
        var values = x.Distinct().Order().ToArray();
        (float Cut, double Gain, double Left, double Right) best = (float.NaN, double.NegativeInfinity, 0, 0);
        for (var c = 0; c < values.Length - 1; c++)
        {
            double gl = 0, hl = 0, gr = 0, hr = 0;
            for (var i = 0; i < x.Length; i++)
            {
                var g = w[i] * (p - (y[i] ? 1 : 0));
                var h = w[i] * p * (1 - p);
                if (x[i] <= values[c]) { gl += g; hl += h; } else { gr += g; hr += h; }
            }
            if (hl < 1 || hr < 1) continue;
            var gain = gl * gl / (hl + 1) + gr * gr / (hr + 1);
            if (gain > best.Gain) best = (values[c], gain, init - eta * gl / (hl + 1), init - eta * gr / (hr + 1));
        }
        return (best.Cut, best.Left, best.Right);
    }

    private static readonly BoostingSpec OneStump = new() { Trees = 1, Depth = 1, Leaves = 2, LearningRate = 0.5, MinEventsPerLeaf = 1, Bins = 255 };

    private static void AssertStumpMatches(float[] x, bool[] y, float[] w)
    {
        var (cut, left, right) = BruteForceStump(x, y, w, OneStump.LearningRate);
        var ensemble = LightGbmFit.Fit(x, 1, y, w, OneStump, threads: 1, seed: 1, CancellationToken.None);
        Assert.Single(ensemble.Trees);
        // The same partition of the events (LightGBM's threshold lies between the two values) and the same leaf values.
        foreach (var v in x.Distinct())
            Assert.Equal(v <= cut ? left : right, ensemble.Score([v], -1, 0, 1), 5);
    }

    [Fact]
    public void A_stump_fitted_without_weights_is_the_brute_force_stump()
    {
        var (x, y) = Stump();
        AssertStumpMatches(x, y, Enumerable.Repeat(1f, x.Length).ToArray());
    }

    [Fact]
    public void Weights_move_the_stump_as_the_weighted_brute_force_says()
    {
        var (x, y) = Stump();
        var ones = Enumerable.Repeat(1f, x.Length).ToArray();
        // Background at the values 5 and 6 weighs 4 (normalised back to mean 1): the weighted fit must cut elsewhere.
        var w = x.Select((v, i) => !y[i] && v is 5 or 6 ? 4f : 1f).ToArray();
        var mean = w.Average();
        w = w.Select(v => v / mean).ToArray();
        var unweighted = BruteForceStump(x, y, ones, OneStump.LearningRate);
        var weighted = BruteForceStump(x, y, w, OneStump.LearningRate);
        Assert.NotEqual(unweighted.Cut, weighted.Cut);
        AssertStumpMatches(x, y, w);
        // And the trial's weights reach the fit: the two fits differ where the brute force says they do.
        var a = LightGbmFit.Fit(x, 1, y, ones, OneStump, 1, 1, CancellationToken.None);
        var b = LightGbmFit.Fit(x, 1, y, w, OneStump, 1, 1, CancellationToken.None);
        Assert.Contains(x.Distinct(), v => Math.Abs(a.Score([v], -1, 0, 1) - b.Score([v], -1, 0, 1)) > 0.05);
    }

    [Fact]
    public void A_fit_stops_when_cancelled_rather_than_boosting_every_round()
    {
        var random = new Random(2);
        const int n = 20_000, d = 5;
        var x = Enumerable.Range(0, n * d).Select(_ => (float)random.NextDouble()).ToArray();
        var y = Enumerable.Range(0, n).Select(i => x[i * d] + 0.3 * random.NextDouble() > 0.6).ToArray();
        var w = Enumerable.Repeat(1f, n).ToArray();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // 20,000 rounds of 64 leaves take minutes; the fit must give up soon after the token fires.
        Assert.ThrowsAny<OperationCanceledException>(() =>
            LightGbmFit.Fit(x, d, y, w, new BoostingSpec { Trees = 20_000, MinEventsPerLeaf = 1 }, 1, 1, cancel.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed.TotalSeconds:F1} s");
    }

    // ---- whole trials ------------------------------------------------------------------------

    private static TrialSpec Spec(BoostingSpec boosting, PhaseSpec? phase = null, string device = "cpu") => new()
    {
        Data = new DataSpec
        {
            Source = "gaussian-toy",
            Options = new System.Text.Json.Nodes.JsonObject
            {
                ["masses"] = new System.Text.Json.Nodes.JsonArray(-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5),
                ["events_per_mass"] = 1500,
            },
            Holdout = HoldoutSpec.EverySecond,
        },
        Model = new ModelSpec { Kind = BdtTrainer.Kind, Boosting = boosting },
        Schedule = [phase ?? new PhaseSpec { Loss = "bce", Epochs = 1 }],
        Seed = 3,
        Device = device,
        Evaluation = new EvaluationSpec { ValidationEvery = 5 },
    };

    private static TrialResult Run(TrialSpec spec, Action<BatchUse, ReadOnlyMemory<long>>? onBatch = null) =>
        new TrialRunner(new TrialDataProvider(), new PhaseLossFactory(), new MassEvaluator())
            .Run(spec, new TrialRunOptions { OnBatch = onBatch }, CancellationToken.None);

    [Fact]
    public void A_parametric_bdt_is_measured_at_held_out_masses_it_never_saw()
    {
        var spec = Spec(new BoostingSpec { Trees = 60, Depth = 3 });
        var data = new TrialDataProvider().Load(spec.Data, spec.Seed);
        var seen = new List<long>();
        var result = Run(spec, (_, events) => seen.AddRange(events.ToArray()));
        Assert.True(result.Outcome == TrialOutcome.Completed, result.Error);
        // Held-out signal never entered the fit or model selection.
        Assert.DoesNotContain(seen, data.IsHeldoutSignal);
        Assert.Equal(60, result.Epochs.Count);
        Assert.Equal(Enumerable.Range(1, 60), result.Epochs.Select(e => e.Epoch));
        var heldout = result.Masses.Where(m => m.Heldout && m.Split == SplitKind.Test && m.EpochKind == EpochKind.Best).ToList();
        Assert.Equal(data.HeldoutMasses.Order(), heldout.Select(m => m.Mass).Order());
        // A Gaussian peak on a flat background: the score at the held-out hypothesis separates well, and
        // worse at the hypothesis of a wrong mass (the mass input is used, the signal moves with it).
        Assert.All(heldout, m => Assert.InRange(m.Metrics[MetricNames.RocAuc], 0.8, 1.0));
        Assert.All(heldout, m => Assert.True(double.IsFinite(m.Metrics[MetricNames.SigmaMinBestCut]), $"sigma_min at {m.Mass}"));
    }

    [Fact]
    public void The_training_curve_falls_and_early_stopping_truncates_the_ensemble_where_keep_best_chose()
    {
        var phase = new PhaseSpec { Loss = "bce", Epochs = 1, KeepBest = MetricNames.RocAuc, EarlyStopping = new EarlyStoppingSpec(Patience: 10, Metric: "val_loss") };
        var result = Run(Spec(new BoostingSpec { Trees = 400, Depth = 4, LearningRate = 0.5 }, phase));
        Assert.True(result.Outcome == TrialOutcome.Completed, result.Error);
        var losses = result.Epochs.Select(e => e.Metrics[MetricNames.Loss]).ToArray();
        Assert.True(losses[^1] < losses[0], "the training loss falls with the rounds");
        // At learning rate 0.5 the validation loss turns up long before 400 rounds: the trial stopped early.
        Assert.True(result.LastEpoch < 400, $"stopped at {result.LastEpoch}");
        Assert.Equal(result.LastEpoch, result.Epochs.Count);
        var auc = result.Epochs.Where(e => e.Metrics.ContainsKey(MetricNames.RocAuc)).ToList();
        Assert.NotEmpty(auc);
        Assert.Equal(auc.MaxBy(e => e.Metrics[MetricNames.RocAuc])!.Epoch, result.BestEpoch);
        Assert.All(result.Masses, m => Assert.Equal(m.EpochKind == EpochKind.Best ? result.BestEpoch : result.LastEpoch, m.Epoch));
        // The score curves come from the kept ensemble, as the nets' from their kept epoch.
        Training.ScoreCurveRecordingTests.AssertMatchesMetrics(result);
    }

    [Fact]
    public void A_per_mass_bdt_scores_a_held_out_mass_with_its_nearest_trained_ensemble()
    {
        var result = Run(Spec(new BoostingSpec { Trees = 40, Depth = 3, PerMass = true }));
        Assert.True(result.Outcome == TrialOutcome.Completed, result.Error);
        Assert.Contains(result.Masses, m => m.Heldout && m.Metrics[MetricNames.RocAuc] > 0.6);
    }

    [Fact]
    public void A_bdt_given_a_cuda_slot_runs_on_the_cpu_and_says_so_in_one_line()
    {
        var warnings = new List<string>();
        var result = new TrialRunner(new TrialDataProvider(), new PhaseLossFactory(), new MassEvaluator())
            .Run(Spec(new BoostingSpec { Trees = 5 }, device: "cuda:0"), new TrialRunOptions { OnWarning = warnings.Add }, CancellationToken.None);
        Assert.True(result.Outcome == TrialOutcome.Completed, result.Error);
        var note = Assert.Single(warnings);
        Assert.Contains("ran on the CPU", note);
        Assert.DoesNotContain("\n", note);
    }

    [Fact]
    public void A_cancelled_bdt_trial_stops_and_says_it_starts_again()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var result = new TrialRunner(new TrialDataProvider(), new PhaseLossFactory(), new MassEvaluator())
            .Run(Spec(new BoostingSpec { Trees = 5 }), new TrialRunOptions(), cancel.Token);
        Assert.Equal(TrialOutcome.Cancelled, result.Outcome);
    }
}
