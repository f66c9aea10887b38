using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Studies.Trials.Catalog;
using Studies.Trials.Data;
using Studies.Trials.Engine;
using Studies.Trials.Losses;
using Studies.Trials.Metrics;
using Studies.Trials.Results;
using Studies.Trials.Specs;
using Studies.Trials.Tests.Metrics;
using Studies.Trials.Training;

namespace Studies.Trials.Tests.Training;

/// <summary>
/// Issue 20: <c>window_center: mass</c> was stored but every window user hard-coded m², so a study
/// with it ran to the end and reported NaN. Every user now goes through <see cref="MassWindows"/>;
/// each is checked here against a brute-force count of <c>|v - m| &lt; 2 x window_width</c>.
/// </summary>
public sealed class WindowCenterTests : IDisposable
{
    private const double WindowWidth = 1, NSigma = 2;
    private static readonly double[] Masses = [10, 20];
    private readonly string folder = Directory.CreateTempSubdirectory("window-center-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>
    /// Signal of mass m: v ~ N(m, 1), x ~ N(1, 1). Background: v flat on [0, 40] and x drifting with v,
    /// so which background a window keeps changes every metric. Centred on m² the windows (100, 400)
    /// would hold no event at all.
    /// </summary>
    private string WriteCsv(int signalPerMass = 300, int background = 1500)
    {
        var random = new Random(11);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        var text = new StringBuilder("x,label,mass,v\n");
        string F(double value) => value.ToString("R", CultureInfo.InvariantCulture);
        foreach (var m in Masses)
            for (var k = 0; k < signalPerMass; k++) text.Append($"{F(1 + Normal())},1,{F(m)},{F(m + Normal())}\n");
        for (var k = 0; k < background; k++)
        {
            var v = 40 * random.NextDouble();
            text.Append($"{F(Normal() + 0.05 * v)},0,,{F(v)}\n");
        }
        var path = Path.Combine(folder, "events.csv");
        File.WriteAllText(path, text.ToString());
        return path;
    }

    private TrialData Load(string center) => new TrialDataProvider().Load(new DataSpec
    {
        Source = "csv",
        Options = new JsonObject
        {
            ["path"] = WriteCsv(), ["columns"] = new JsonObject { ["features"] = new JsonArray("x"), ["window"] = "v" },
            ["window_width"] = WindowWidth, ["window_center"] = center,
        },
    }, 3);

    private static bool BruteInWindow(double v, double m) => Math.Abs(v - m) < NSigma * WindowWidth;

    [Fact]
    public void The_punzi_pairs_and_the_bce_selection_hold_exactly_the_events_a_brute_force_count_finds()
    {
        using var scope = TensorScope.Begin();
        var data = Load("mass");
        var v = data.Train.Select(i => data.Window![i]).ToArray();
        var pairs = WindowMembership.Build(v, data.TrainedMasses, data.Windows!, NSigma);
        for (var w = 0; w < Masses.Length; w++)
        {
            var expected = Enumerable.Range(0, v.Length).Where(j => BruteInWindow(v[j], data.TrainedMasses[w])).ToHashSet();
            var actual = Enumerable.Range(0, (int)pairs.PairCount).Where(p => pairs.Windows[p] == w).Select(p => (int)pairs.Events[p]).ToHashSet();
            Assert.True(expected.Count > 50, $"window {w} holds {expected.Count} events");
            Assert.Equal(expected.Order(), actual.Order());
        }

        using var set = new TrainingSet(data, data.Train, MassEncoding.Divide(20), Device.CPU);
        using var bce = new BceLoss(set, false, new BceOptions(Events: "in-windows"));
        var dropped = 0;
        for (var k = 0; k < set.Count; k++)
        {
            var inside = set.IsSignal[k] || Masses.Any(m => BruteInWindow(data.Window![set.Events[k]], m));
            Assert.Equal(inside, bce.EventWeights[k] > 0);
            if (!inside) dropped++;
        }
        Assert.True(dropped > set.Count / 3, $"{dropped} of {set.Count} dropped");
    }

    [Fact]
    public void Metrics_with_window_center_mass_equal_a_brute_force_computation_and_are_finite()
    {
        using var scope = TensorScope.Begin();
        var data = Load("mass");
        using var generator = new Generator(5);
        using var model = ModelFactory.Create(new ModelSpec { Kind = "dnn", Hidden = [] }, 1, [1.0], generator);
        var spec = new TrialSpec { Data = new DataSpec { Source = "csv" }, Model = new ModelSpec(), Schedule = [new PhaseSpec { Loss = "bce", Epochs = 1 }] };
        var rows = new MassEvaluator().Evaluate(model, data, data.Test, MassEncoding.Divide(20), spec, trainedOnly: false, includeOptimal: false);

        var test = data.Test;
        var scores = model.Logits(Torch.Tensor(test.Select(i => data.Features[i]).ToArray(), [test.Length, 1]), null)
            .Sigmoid().Reshape(-1).To(ScalarType.Float64).ToArray<double>();
        foreach (var (mass, _, metrics) in rows)
        {
            var chosen = test.Select((i, k) => (i, k))
                .Where(e => BruteInWindow(data.Window![e.i], mass) && (!data.IsSignal[e.i] || data.Mass[e.i] == mass)).ToArray();
            var sample = new MassSample(chosen.Select(e => scores[e.k]).ToArray(), chosen.Select(e => data.IsSignal[e.i]).ToArray(),
                chosen.Select(e => data.IsSignal[e.i] ? 1 : data.Weight[e.i]).ToArray());
            Assert.True(sample.IsSignal.Count(s => s) > 20 && sample.IsSignal.Count(s => !s) > 5);
            Assert.Equal(BruteForce.RocAuc(sample), metrics[MetricNames.RocAuc], 9);
            Assert.All(new[] { MetricNames.RocAuc, MetricNames.PrAuc, MetricNames.SigmaMinBestCut }, name => Assert.True(double.IsFinite(metrics[name]), name));
        }

        // Centred on m² no event is in any window: the option decides the metrics.
        var squared = new MassEvaluator().Evaluate(model, Load("mass-squared"), data.Test, MassEncoding.Divide(20), spec, false, false);
        Assert.All(squared, row => Assert.True(double.IsNaN(row.Metrics[MetricNames.RocAuc])));
    }
}
