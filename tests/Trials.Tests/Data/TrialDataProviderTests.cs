using System.Text.Json.Nodes;
using Studies.Trials.Data;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Trials.Tests.Data;

public sealed class TrialDataProviderTests
{
    private static readonly JsonObject RecoilOptions = new()
    {
        ["masses"] = new JsonArray(1.0, 2.0, 3.0), ["signal_per_mass"] = 999, ["background_events"] = 2003,
        ["signal_cross_section"] = 4, ["luminosity"] = 20,
    };

    private static TrialData Recoil(HoldoutSpec? holdout = null) => new TrialDataProvider().Load(new DataSpec
    {
        Source = "recoil-toy", Options = (JsonObject)RecoilOptions.DeepClone(), Holdout = holdout ?? HoldoutSpec.None,
        Split = new SplitSpec(0.7, 0.2, 0.1),
    }, 9);

    [Fact]
    public void Each_split_weight_estimates_the_full_yield_of_every_process_and_mass()
    {
        var data = Recoil(HoldoutSpec.List(2));
        foreach (var split in new[] { data.Train, data.Validation, data.Test })
        {
            for (int p = 1; p < data.ProcessNames.Length; p++)
            {
                double total = split.Where(i => data.Process[i] == p).Sum(i => data.Weight[i]);
                Assert.Equal(data.CrossSections[data.ProcessNames[p]] * 20, total, 6);
            }
            foreach (var m in split == data.Train ? [1.0, 3.0] : new[] { 1.0, 2.0, 3.0 })
            {
                double signal = split.Where(i => data.IsSignal[i] && data.Mass[i] == m).Sum(i => data.Weight[i]);
                Assert.Equal(4 * 20, signal, 6);
            }
        }
        Assert.Equal(4 * 20, data.SignalYieldPerEfficiency, 9);
        Assert.Equal(20, data.Luminosity);
    }

    [Fact]
    public void Generated_per_mass_counts_the_whole_data_set()
    {
        var data = Recoil(HoldoutSpec.EverySecond);
        Assert.Equal([1.0, 3.0], data.TrainedMasses);
        Assert.Equal([2.0], data.HeldoutMasses);
        Assert.Equal(new Dictionary<double, double> { [1.0] = 999, [2.0] = 999, [3.0] = 999 }, data.GeneratedPerMass);
        Assert.DoesNotContain(data.Train, i => data.IsHeldoutSignal(i));
        Assert.All(data.Mass.Where((_, i) => !data.IsSignal[i]), m => Assert.True(double.IsNaN(m)));
        Assert.Equal(data.Count * data.FeatureCount, data.Features.Length);
        Assert.Equal(RecoilToy.Width(2), data.Windows!.Width(2));
        Assert.Throws<DataException>(() => data.Windows!.Width(2.5));
    }

    [Fact]
    public void Optimal_scores_are_the_sources_bayes_optimal_scores_of_the_given_events()
    {
        var data = Recoil();
        var options = (JsonObject)RecoilOptions.DeepClone();
        var events = new RecoilToy().Load(options, 9);
        var optimal = new RecoilToy().BayesOptimal(options);
        long[] some = [.. data.Test.Take(50)];
        var scores = data.OptimalScores!(some, 2.0);
        Assert.Equal(some.Select(i => optimal.Score(events, (int)i, 2.0)), scores);
        // Optimal scores separate signal of mass 2 from the background on average.
        var test = data.Test.ToArray();
        var all = data.OptimalScores(test, 2.0);
        double signal = all.Where((_, k) => data.IsSignal[test[k]] && data.Mass[test[k]] == 2).Average();
        double background = all.Where((s, k) => !data.IsSignal[test[k]] && double.IsFinite(s)).Average();
        Assert.True(signal > background + 3, $"signal {signal} vs background {background}");
    }

    [Theory]
    [InlineData(1, 1.0, 100.0)]
    [InlineData(2, 100.0, 1.0)]
    public void Lovasz_toy_has_cross_sections_a_luminosity_and_one_mass_zero(int toyCase, double bkg1, double bkg2)
    {
        var data = new TrialDataProvider().Load(new DataSpec
        {
            Source = "lovasz-toy", Options = new JsonObject { ["case"] = toyCase, ["events_per_process"] = 1000 },
        }, 2);
        Assert.Equal(0.1, data.CrossSections["signal"]);
        Assert.Equal(bkg1, data.CrossSections["bkg1"]);
        Assert.Equal(bkg2, data.CrossSections["bkg2"]);
        Assert.Equal(3000, data.Luminosity);
        Assert.Equal([0.0], data.TrainedMasses);
        Assert.Empty(data.HeldoutMasses);
        Assert.Equal(0.1 * 3000, data.SignalYieldPerEfficiency, 9);
        Assert.Null(data.Window);
        Assert.Null(data.Windows);
        Assert.NotNull(data.OptimalScores);
    }

    [Fact]
    public void Unweighted_toys_count_generated_events_as_the_signal_yield()
    {
        var data = new TrialDataProvider().Load(new DataSpec
        {
            Source = "gaussian-toy", Options = new JsonObject { ["masses"] = new JsonArray(-1.0, 1.0), ["events_per_mass"] = 400 },
        }, 2);
        Assert.Equal(400, data.SignalYieldPerEfficiency, 9);
        Assert.Empty(data.CrossSections);
        double trainSignal = data.Train.Where(i => data.IsSignal[i] && data.Mass[i] == 1).Sum(i => data.Weight[i]);
        Assert.Equal(400, trainSignal, 9);
    }

    /// <summary>
    /// validation_scale k (issue 20): the training split keeps its size, validation and test hold k
    /// times the events, and every split still estimates the same yields (weighted and unweighted toys).
    /// </summary>
    [Theory]
    [InlineData("lovasz-toy")]
    [InlineData("gaussian-toy")]
    public void Validation_scale_enlarges_validation_and_test_only_and_keeps_every_yield(string source)
    {
        JsonObject Options(double? k)
        {
            var options = source == "lovasz-toy"
                ? new JsonObject { ["events_per_process"] = 2000 }
                : new JsonObject { ["masses"] = new JsonArray(-1.0, 1.0), ["events_per_mass"] = 1000 };
            if (k is { } scale) options["validation_scale"] = scale;
            return options;
        }
        TrialData Load(double? k) => new TrialDataProvider().Load(new DataSpec { Source = source, Options = Options(k) }, 4);
        var plain = Load(null);
        var scaled = Load(5);
        Assert.InRange(scaled.Train.Length, plain.Train.Length - 6, plain.Train.Length + 6);
        Assert.InRange(scaled.Validation.Length, 5 * plain.Validation.Length - 6, 5 * plain.Validation.Length + 6);
        Assert.InRange(scaled.Test.Length, 5 * plain.Test.Length - 6, 5 * plain.Test.Length + 6);
        Assert.Equal(plain.SignalYieldPerEfficiency, scaled.SignalYieldPerEfficiency, 6);
        foreach (var data in new[] { plain, scaled })
        foreach (var split in new[] { data.Train, data.Validation, data.Test })
        {
            double Yield(TrialData d, long[] events, bool signal) => events.Where(i => d.IsSignal[i] == signal).Sum(i => d.Weight[i]);
            Assert.Equal(Yield(plain, plain.Train, false), Yield(data, split, false), 1e-9 * Yield(plain, plain.Train, false));
            Assert.Equal(Yield(plain, plain.Train, true), Yield(data, split, true), 1e-9 * Yield(plain, plain.Train, true));
        }
        // The generated count per mass (the efficiency's N_gen) follows the events actually generated.
        Assert.Equal(scaled.SignalCount(scaled.AllMasses.First()), scaled.GeneratedSignal(scaled.AllMasses.First()), 6);
        Assert.Equal(plain.Train, new TrialDataProvider().Load(new DataSpec { Source = source, Options = Options(1) }, 4).Train);
    }
}
