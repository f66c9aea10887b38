using Studies.Trials.Data;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Trials.Tests.Training;

/// <summary>One feature; signal N(m, 0.25) at five trained and two held-out masses, background uniform on [-4, 4], three processes.</summary>
internal sealed class SyntheticData : ITrialDataProvider
{
    public TrialData Load(DataSpec spec, ulong seed)
    {
        double[] trained = [-2, -1, 0, 1, 2];
        double[] heldout = [-1.5, 1.5];
        const int perMass = 120, background = 900;
        var random = new Random(17);
        var features = new List<float>();
        var isSignal = new List<bool>();
        var mass = new List<double>();
        var process = new List<int>();
        foreach (var m in trained.Concat(heldout))
        {
            for (var k = 0; k < perMass; k++)
            {
                var u1 = 1 - random.NextDouble();
                var u2 = random.NextDouble();
                features.Add((float)(m + 0.25 * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2)));
                isSignal.Add(true);
                mass.Add(m);
                process.Add(0);
            }
        }
        for (var k = 0; k < background; k++)
        {
            features.Add((float)(-4 + 8 * random.NextDouble()));
            isSignal.Add(false);
            mass.Add(double.NaN);
            process.Add(1 + k % 2);
        }
        var n = features.Count;
        var order = Enumerable.Range(0, n).OrderBy(_ => random.Next()).Select(i => (long)i).ToArray();
        var train = order.Take(n * 6 / 10).ToArray();
        var validation = order.Skip(n * 6 / 10).Take(n * 2 / 10).ToArray();
        var test = order.Skip(n * 8 / 10).ToArray();
        // Held-out signal stays out of the training split, as the splitter guarantees.
        train = train.Where(i => !(isSignal[(int)i] && heldout.Contains(mass[(int)i]))).ToArray();
        return new TrialData
        {
            Count = n, FeatureCount = 1, Features = [.. features], IsSignal = [.. isSignal], Mass = [.. mass], Process = [.. process],
            ProcessNames = ["signal", "flat-a", "flat-b"], Weight = Enumerable.Repeat(1.0, n).ToArray(),
            Train = train, Validation = validation, Test = test, TrainedMasses = trained, HeldoutMasses = heldout,
            GeneratedPerMass = trained.Concat(heldout).ToDictionary(m => m, _ => (double)perMass),
            SignalYieldPerEfficiency = perMass,
        };
    }
}
