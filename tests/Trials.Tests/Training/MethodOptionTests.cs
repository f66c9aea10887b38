using Studies.Trials.Catalog;
using Studies.Trials.Data;
using Studies.Trials.Engine;
using Studies.Trials.Metrics;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Trials.Tests.Training;

/// <summary>The method options of issue 14: each changes what it says and nothing else.</summary>
public sealed class MethodOptionTests
{
    /// <summary>
    /// Two features (x0 ~ N(m, 0.5) for signal of mass m, uniform on [-4, 4] for background; x1 pure
    /// noise), shown as x * Scale + Offset; a window variable v (signal near m^2, background flat on
    /// [0, 12]) with width 0.5; background in two processes with different weights.
    /// </summary>
    private sealed class Synthetic(double scale = 1, double offset = 0, double windowWidth = 0.5) : ITrialDataProvider
    {
        public TrialData Load(DataSpec spec, ulong seed)
        {
            double[] trained = [1, 2, 3];
            const int perMass = 150, background = 900;
            var random = new Random(5);
            double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            var features = new List<float>();
            var isSignal = new List<bool>();
            var mass = new List<double>();
            var process = new List<int>();
            var weight = new List<double>();
            var window = new List<float>();
            foreach (var m in trained)
            {
                for (var k = 0; k < perMass; k++)
                {
                    features.Add((float)((m + 0.5 * Normal()) * scale + offset));
                    features.Add((float)(Normal() * scale + offset));
                    isSignal.Add(true); mass.Add(m); process.Add(0); weight.Add(0.01);
                    window.Add((float)(m * m + 0.3 * Normal()));
                }
            }
            for (var k = 0; k < background; k++)
            {
                features.Add((float)((-4 + 8 * random.NextDouble()) * scale + offset));
                features.Add((float)(Normal() * scale + offset));
                isSignal.Add(false); mass.Add(double.NaN); process.Add(1 + k % 2); weight.Add(k % 2 == 0 ? 2.0 : 0.5);
                window.Add((float)(12 * random.NextDouble()));
            }
            var n = isSignal.Count;
            var order = Enumerable.Range(0, n).OrderBy(_ => random.Next()).Select(i => (long)i).ToArray();
            return new TrialData
            {
                Count = n, FeatureCount = 2, Features = [.. features], IsSignal = [.. isSignal], Mass = [.. mass], Process = [.. process],
                ProcessNames = ["signal", "heavy", "light"], Weight = [.. weight], Window = [.. window], Windows = MassWindows.OnMassSquared(_ => windowWidth),
                Train = order.Take(n * 6 / 10).ToArray(), Validation = order.Skip(n * 6 / 10).Take(n * 2 / 10).ToArray(),
                Test = order.Skip(n * 8 / 10).ToArray(), TrainedMasses = trained, HeldoutMasses = [],
                GeneratedPerMass = trained.ToDictionary(m => m, _ => (double)perMass), SignalYieldPerEfficiency = 10,
            };
        }
    }

    private static TrialSpec Spec(ModelSpec model, params PhaseSpec[] schedule) => new()
    {
        Data = new DataSpec { Source = "synthetic" }, Model = model, Schedule = schedule, Seed = 7,
    };

    private static PhaseSpec Bce(int epochs, PlateauSpec? plateau = null) =>
        new() { Loss = "bce", Epochs = epochs, Optimizer = "adam", LearningRate = 0.05, Batch = 128, Plateau = plateau };

    private static TrialResult Run(ITrialDataProvider data, TrialSpec spec, string? checkpoint = null)
    {
        var result = new TrialRunner(data, new PhaseLossFactory(), new MassEvaluator())
            .Run(spec, new TrialRunOptions { CheckpointDirectory = checkpoint }, CancellationToken.None);
        Assert.True(result.Outcome == TrialOutcome.Completed, result.Error);
        return result;
    }

    private static TrainingSet TrainSet(TrialData data) => new(data, data.Train, MassEncoding.Divide(3), Device.CPU);

    [Fact]
    public void An_empty_hidden_list_is_the_linear_model()
    {
        using var scope = TensorScope.Begin();
        using var generator = new Generator(1);
        using var linear = ModelFactory.Create(new ModelSpec { Kind = "dnn", Hidden = [] }, 3, [1.0], generator);
        var parameters = linear.NamedParameters().ToList();
        Assert.Equal(2, parameters.Count);
        var w = parameters.Single(p => p.Name.EndsWith("weight")).Parameter.Detach().Reshape(-1).To(ScalarType.Float64).ToArray<double>();
        var b = parameters.Single(p => !p.Name.EndsWith("weight")).Parameter.Detach().To(ScalarType.Float64).ToArray<double>()[0];
        float[] x = [0.5f, -1f, 2f, 1f, 1f, 1f];
        var logits = linear.Logits(Torch.Tensor(x, [2, 3]), null).Reshape(-1).To(ScalarType.Float64).ToArray<double>();
        for (var r = 0; r < 2; r++)
            Assert.Equal(b + Enumerable.Range(0, 3).Sum(j => w[j] * x[r * 3 + j]), logits[r], 5);

        // A parametric linear model concatenates the mass to the inputs; affine conditioning has no hidden layer to act on.
        using var pnn = ModelFactory.Create(new ModelSpec { Kind = "pnn", Hidden = [] }, 3, [1.0], generator);
        Assert.Equal([1L, 4L], pnn.NamedParameters().Single(p => p.Name.EndsWith("weight")).Parameter.Shape);
        Assert.Throws<ArgumentException>(() => ModelFactory.Create(new ModelSpec { Kind = "affine-pnn", Hidden = [] }, 3, [1.0], generator));
    }

    [Fact]
    public void Bce_weighting_cross_section_balanced_and_none()
    {
        using var scope = TensorScope.Begin();
        var data = new Synthetic().Load(new DataSpec { Source = "synthetic" }, 1);
        using var set = TrainSet(data);
        double Sum(BceLoss loss, bool signal) => Enumerable.Range(0, set.Count).Where(k => set.IsSignal[k] == signal).Sum(k => (double)loss.EventWeights[k]);

        using var crossSection = new BceLoss(set, false, new BceOptions("cross-section"));
        Assert.Equal(Sum(crossSection, true), Sum(crossSection, false), 2);
        for (var k = 0; k < set.Count; k++)
            if (!set.IsSignal[k]) Assert.Equal(data.Weight[set.Events[k]], crossSection.EventWeights[k], 6);

        using var balanced = new BceLoss(set, false, new BceOptions("balanced"));
        Assert.Equal(Sum(balanced, true), Sum(balanced, false), 2);
        Assert.Single(Enumerable.Range(0, set.Count).Where(k => !set.IsSignal[k]).Select(k => balanced.EventWeights[k]).Distinct());
        Assert.Single(Enumerable.Range(0, set.Count).Where(k => set.IsSignal[k]).Select(k => balanced.EventWeights[k]).Distinct());

        using var none = new BceLoss(set, false, new BceOptions("none"));
        Assert.All(none.EventWeights, w => Assert.Equal(1f, w));
        Assert.Throws<ArgumentException>(() => new BceLoss(set, false, new BceOptions("rate")));
    }

    [Fact]
    public void Bce_in_windows_drops_exactly_the_background_outside_every_trained_window()
    {
        using var scope = TensorScope.Begin();
        var data = new Synthetic().Load(new DataSpec { Source = "synthetic" }, 1);
        using var set = TrainSet(data);
        using var all = new BceLoss(set, false, new BceOptions(Events: "all"));
        using var windows = new BceLoss(set, false, new BceOptions(Events: "in-windows"));
        var dropped = 0;
        for (var k = 0; k < set.Count; k++)
        {
            var v = (double)data.Window![set.Events[k]];
            var inside = set.IsSignal[k] || data.TrainedMasses.Any(m => Math.Abs(v - m * m) < 2 * 0.5);
            Assert.Equal(inside, windows.EventWeights[k] > 0);
            Assert.True(all.EventWeights[k] > 0);
            if (!inside) dropped++;
        }
        // Windows [0,2), [3,5), [8,10) of a flat [0,12] spectrum keep about half the background.
        Assert.InRange(dropped, set.IsSignal.Count(s => !s) / 3, set.IsSignal.Count(s => !s) * 2 / 3);

        // in-windows-all (the reference): out-of-window signal goes too. Signal v ~ N(m², 0.3): with
        // width 0.15 (windows 0.3 either side) about a third of it lies outside.
        var narrowData = new Synthetic(windowWidth: 0.15).Load(new DataSpec { Source = "synthetic" }, 1);
        using var narrow = TrainSet(narrowData);
        using var reference = new BceLoss(narrow, false, new BceOptions(Events: "in-windows-all"));
        var signalDropped = 0;
        for (var k = 0; k < narrow.Count; k++)
        {
            var v = (double)narrowData.Window![narrow.Events[k]];
            var inside = narrowData.TrainedMasses.Any(m => Math.Abs(v - m * m) < 2 * 0.15);
            Assert.Equal(inside, reference.EventWeights[k] > 0);
            if (!inside && narrow.IsSignal[k]) signalDropped++;
        }
        Assert.True(signalDropped > 20, $"{signalDropped} signal events outside every window");
    }

    [Fact]
    public void Significances_take_the_punzi_factor_out_of_s_and_b()
    {
        var random = new Random(3);
        var n = 500;
        var score = Enumerable.Range(0, n).Select(_ => random.NextDouble()).ToArray();
        var isSignal = score.Select(s => random.NextDouble() < s * 0.3).ToArray();
        var weight = isSignal.Select(s => s ? 0.002 : 1.0).ToArray();
        var parameters = new SignificanceParameters { SignalYieldPerEfficiency = 1000, MinBackgroundYield = 5 };
        var plain = Significance.Best(CutScan.Build(new MassSample(score, isSignal, weight)), parameters);
        var scaledScan = CutScan.Build(new MassSample(score, isSignal, weight.Select(w => 0.9 * w).ToArray()));
        var withFactor = Significance.Best(scaledScan, parameters);
        var factorOut = Significance.Best(scaledScan, parameters with { WeightScale = 0.9 });
        Assert.Equal(plain.SOverSqrtB.Value, factorOut.SOverSqrtB.Value, 10);
        Assert.Equal(plain.Asimov.Value, factorOut.Asimov.Value, 10);
        Assert.NotEqual(plain.SOverSqrtB.Value, withFactor.SOverSqrtB.Value, 6);
    }

    [Fact]
    public void Plateau_can_follow_the_training_loss()
    {
        var plateau = new PlateauSpec(0.5, 1, 0, "train_loss");
        var result = Run(new Synthetic(), Spec(new ModelSpec { Kind = "dnn", Hidden = [4] }, Bce(14, plateau) with { LearningRate = 0.3 }));
        // Replaying the scheduler on the recorded training losses gives the recorded rates; on the validation losses it does not.
        double[] Replay(string metric)
        {
            var scheduler = new PlateauScheduler(plateau, 0.3);
            return result.Epochs.Select(e => scheduler.Step(e.Metrics[metric])).ToArray();
        }
        var recorded = result.Epochs.Skip(1).Select(e => e.Metrics[MetricNames.LearningRate]).ToArray();
        Assert.Equal(Replay(MetricNames.Loss)[..^1], recorded);
        Assert.NotEqual(Replay(MetricNames.ValidationLoss)[..^1], recorded);
    }

    [Fact]
    public void Per_batch_redraw_changes_only_the_batch_background_masses()
    {
        using var scope = TensorScope.Begin();
        var data = new Synthetic().Load(new DataSpec { Source = "synthetic" }, 1);
        using var set = TrainSet(data);
        using var generator = new Generator(2);
        set.AssignBackgroundMasses("identical", generator);
        var before = (double[])set.Mass.Clone();
        var batch = Enumerable.Range(0, 200).Select(k => (long)k).ToArray();
        var input = set.RedrawBatchMasses("identical", generator, batch).Reshape(-1).To(ScalarType.Float64).ToArray<double>();
        var changed = 0;
        for (var k = 0; k < set.Count; k++)
        {
            if (k >= 200 || set.IsSignal[k]) Assert.Equal(before[k], set.Mass[k]);
            else if (before[k] != set.Mass[k]) changed++;
        }
        Assert.True(changed > 50, $"only {changed} background masses of the batch were redrawn");
        for (var k = 0; k < 200; k++) Assert.Equal(set.Mass[k] / 3, input[k], 6);

        var model = new ModelSpec { Kind = "pnn", Hidden = [8], Activation = "relu", BackgroundMassMode = "resampled-batch" };
        var perBatch = Run(new Synthetic(), Spec(model, Bce(3)));
        var perEpoch = Run(new Synthetic(), Spec(model with { BackgroundMassMode = "resampled" }, Bce(3)));
        Assert.NotEqual(perEpoch.Epochs[^1].Metrics[MetricNames.Loss], perBatch.Epochs[^1].Metrics[MetricNames.Loss]);
    }

    [Fact]
    public void Standardisation_is_fitted_on_the_training_split_and_scales_the_mass_over_the_trained_grid()
    {
        var data = new Synthetic(scale: 1000, offset: 500).Load(new DataSpec { Source = "synthetic" }, 1);
        var inputs = InputStandardization.Fit(data, data.Train, 3);
        var transformed = inputs.Apply(data);
        for (var j = 0; j < 2; j++)
        {
            var train = data.Train.Select(i => (double)transformed.Features[i * 2 + j]).ToArray();
            Assert.Equal(0, train.Average(), 4);
            Assert.Equal(1, Math.Sqrt(train.Select(x => x * x).Average()), 4);
            // Validation is transformed with the training statistics, not its own.
            var validation = data.Validation.Select(i => (double)transformed.Features[i * 2 + j]).ToArray();
            Assert.NotEqual(0, validation.Average(), 6);
        }
        Assert.Equal(2, inputs.Mass.Offset, 12);
        Assert.Equal(Math.Sqrt(2.0 / 3), inputs.Mass.Scale, 12);
        Assert.InRange(data.Features[1], -5000f, 6000f); // the loaded data are not modified (raw GeV-like values)
        Assert.True(Math.Abs(data.Features[1] - transformed.Features[1]) > 10);
        Assert.NotSame(data.Features, transformed.Features);
    }

    /// <summary>mass_encoding (issue 20) chooses the mass input whatever `standardize` does to the features, and null keeps the old rule.</summary>
    [Fact]
    public void Mass_encoding_is_independent_of_feature_standardisation_and_null_is_the_old_rule()
    {
        var data = new Synthetic(scale: 1000, offset: 500).Load(new DataSpec { Source = "synthetic" }, 1);
        var standardised = new ModelSpec { Kind = "affine-pnn" };
        InputStandardization For(ModelSpec model) => InputStandardization.For(model, data, data.Train, 3);

        var old = For(standardised);
        Assert.Equal(new MassEncoding(2, Math.Sqrt(2.0 / 3)), old.Mass);
        var scaled = For(standardised with { MassEncoding = "scaled" });
        Assert.Equal(MassEncoding.Divide(3), scaled.Mass);
        Assert.Equal(old.FeatureMean, scaled.FeatureMean);
        Assert.Equal(old.FeatureScale, scaled.FeatureScale);
        Assert.True(scaled.FeatureScale[0] > 100, "features are still standardised");
        Assert.True(Enumerable.Range(0, 3).All(k => scaled.Mass.Encode(data.TrainedMasses[k]) > 0), "m / mass_scale is positive at every trained mass");

        var raw = standardised with { Standardize = false };
        Assert.Equal(MassEncoding.Divide(3), For(raw).Mass);
        var rawStandardisedMass = For(raw with { MassEncoding = "standardized" });
        Assert.Equal(old.Mass, rawStandardisedMass.Mass);
        Assert.All(rawStandardisedMass.FeatureScale, s => Assert.Equal(1, s));

        // The study reader stores an encoding only where it differs from the old rule.
        Assert.Null(MassEncodings.Normalized(standardised with { MassEncoding = "standardized" }).MassEncoding);
        Assert.Null(MassEncodings.Normalized(raw with { MassEncoding = "scaled" }).MassEncoding);
        Assert.Equal("scaled", MassEncodings.Normalized(standardised with { MassEncoding = "scaled" }).MassEncoding);
        Assert.DoesNotContain("mass_encoding", SpecJson.Serialize(standardised));
    }

    [Fact]
    public void Mass_encoding_changes_what_a_parametric_net_learns()
    {
        var model = new ModelSpec { Kind = "affine-pnn", Hidden = [8], Activation = "tanh" };
        double Auc(TrialResult r) => r.Masses.Where(m => m.Split == SplitKind.Test && m.EpochKind == EpochKind.Last).Average(m => m.Metrics[MetricNames.RocAuc]);
        var standardised = Run(new Synthetic(), Spec(model, Bce(3)));
        var scaled = Run(new Synthetic(), Spec(model with { MassEncoding = "scaled" }, Bce(3)));
        Assert.NotEqual(Auc(standardised), Auc(scaled));
    }

    [Fact]
    public void Standardised_training_does_not_care_about_feature_units_and_its_transform_is_checkpointed()
    {
        var model = new ModelSpec { Kind = "pnn", Hidden = [8], Activation = "tanh" };
        var spec = Spec(model, Bce(4));
        var directory = Path.Combine(Path.GetTempPath(), "std-" + Guid.NewGuid().ToString("N"));
        try
        {
            var unit = Run(new Synthetic(), spec);
            var gev = Run(new Synthetic(scale: 1000, offset: 500), spec, directory);
            double Auc(TrialResult r) => r.Masses.Where(m => m.Split == SplitKind.Test && m.EpochKind == EpochKind.Last).Average(m => m.Metrics[MetricNames.RocAuc]);
            Assert.Equal(Auc(unit), Auc(gev), 3);

            var raw = Run(new Synthetic(scale: 1000, offset: 500), spec with { Model = model with { Standardize = false } });
            Assert.True(Math.Abs(Auc(unit) - Auc(raw)) > 0.01, $"unstandardised {Auc(raw)} vs standardised {Auc(unit)}");

            var state = new Checkpoint(directory).TryLoadState(Checkpoint.HashOf(spec));
            Assert.NotNull(state?.Inputs);
            Assert.InRange(state!.Inputs!.FeatureMean[1], 400, 600);
            Assert.Equal(2, state.Inputs.Mass.Offset, 12);
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, true);
        }
    }
}
