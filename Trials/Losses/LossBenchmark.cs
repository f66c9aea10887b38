using System.Diagnostics;
using Studies.Trials.Engine;

namespace Studies.Trials.Losses;

/// <summary>Timings of one full-batch epoch with the Punzi loss and with the weighted BCE.</summary>
/// <param name="Events">Events in the batch.</param>
/// <param name="Windows">Trained masses (signal windows).</param>
/// <param name="PunziPairs">(event, slot) terms the Punzi loss sums per evaluation.</param>
/// <param name="PrepareSeconds">One-off cost: window membership plus the Punzi loss's index tensors.</param>
/// <param name="PunziEpochSeconds">Median epoch (forward, Punzi loss, backward, SGD step).</param>
/// <param name="BceEpochSeconds">Median epoch with the weighted BCE instead.</param>
/// <param name="Threads">libtorch intra-op threads during the measurement.</param>
public sealed record LossBenchmarkResult(long Events, int Windows, long PunziPairs, double PrepareSeconds,
    double PunziEpochSeconds, double BceEpochSeconds, int Threads)
{
    public double Ratio => PunziEpochSeconds / BceEpochSeconds;

    public override string ToString() =>
        $"{Events:N0} events, {Windows} windows, {PunziPairs:N0} Punzi pairs ({(double)PunziPairs / Events:F2}/event), {Threads} thread(s): " +
        $"prepare {PrepareSeconds:F2} s, Punzi epoch {PunziEpochSeconds:F3} s, BCE epoch {BceEpochSeconds:F3} s, ratio {Ratio:F2}";
}

/// <summary>
/// Measures what a full-batch Punzi epoch costs next to a BCE epoch (the target is at most 2x), on
/// synthetic data shaped like the Punzi-net study: a 4-8-4-1 tanh/sigmoid net, 44 windows.
/// </summary>
/// <remarks>
/// Synthetic data: trained masses m_i = √(1 + i), so window centres m_i² = 1..K are 1 apart, and a
/// constant resolution 0.375 with n_sigma = 2 gives windows 1.5 wide: every event with v in
/// [0.25, K + 0.75] lies in one or two windows (1.5 on average). 20 % signal, each at a random
/// trained mass with v inside its window; background v uniform over the covered range, weights
/// uniform in [0.5, 1.5]. Timing runs with one libtorch thread (the study runner's setting, and the
/// only fair comparison on a shared machine); one warm-up epoch per loss, then the median of
/// <c>repetitions</c> epochs.
/// </remarks>
public static class LossBenchmark
{
    public static LossBenchmarkResult Run(int events = 5_000_000, int windows = 44, int repetitions = 3, ulong seed = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(events, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(windows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(repetitions, 1);
        const double width = 0.375, nSigma = 2, signalFraction = 0.2;

        var previousThreads = Torch.GetNumThreads();
        Torch.SetNumThreads(1);
        try
        {
            var random = new Random((int)(seed % int.MaxValue));
            var isSignal = new bool[events];
            var massIndex = new int[events];
            var weight = new double[events];
            var label = new float[events];
            var v = new float[events];
            var generated = new double[windows];
            for (var j = 0; j < events; j++)
            {
                isSignal[j] = random.NextDouble() < signalFraction;
                if (isSignal[j])
                {
                    var i = random.Next(windows);
                    massIndex[j] = i;
                    generated[i]++;
                    v[j] = (float)(1 + i + nSigma * width * (2 * random.NextDouble() - 1) * 0.999);
                    label[j] = 1;
                }
                else
                {
                    massIndex[j] = -1;
                    weight[j] = 0.5 + random.NextDouble();
                    v[j] = (float)(1 - nSigma * width + (windows - 1 + 2 * nSigma * width) * random.NextDouble());
                }
            }
            for (var i = 0; i < windows; i++) generated[i] = Math.Max(generated[i], 1);
            var masses = Enumerable.Range(0, windows).Select(i => Math.Sqrt(1 + i)).ToArray();

            // Class balance for the BCE as in the Punzi-net: signal total weight = background total.
            var backgroundTotal = weight.Sum();
            var signalCount = isSignal.Count(s => s);
            var bceWeight = new float[events];
            for (var j = 0; j < events; j++) bceWeight[j] = (float)(isSignal[j] ? backgroundTotal / Math.Max(signalCount, 1) : weight[j]);

            var clock = Stopwatch.StartNew();
            var membership = WindowMembership.Build(v, masses, _ => width, nSigma);
            using var punzi = PunziLoss.Prepare(membership, new PunziEvents(isSignal, massIndex, weight, generated));
            var prepareSeconds = clock.Elapsed.TotalSeconds;

            using var generator = new Generator(seed);
            using var scope = TensorScope.Begin();
            var x = Torch.Randn([events, 4], generator);
            var y = Torch.Tensor(label);
            var w = Torch.Tensor(bceWeight);
            using var net = new Sequential(
                new Linear(4, 8, generator), new Engine.Tanh(),
                new Linear(8, 4, generator), new Engine.Tanh(),
                new Linear(4, 1, generator));
            using var optimizer = new SGD(net.Parameters(), lr: 1e-3);

            double Epoch(Func<Tensor, Tensor> loss)
            {
                var start = Stopwatch.GetTimestamp();
                using var step = TensorScope.Begin();
                optimizer.ZeroGrad();
                var value = loss(net.Forward(x));
                value.Backward();
                optimizer.Step();
                _ = value.Item();
                return Stopwatch.GetElapsedTime(start).TotalSeconds;
            }

            double Median(Func<Tensor, Tensor> loss)
            {
                Epoch(loss);
                var times = Enumerable.Range(0, repetitions).Select(_ => Epoch(loss)).Order().ToArray();
                return times[times.Length / 2];
            }

            var punziSeconds = Median(logits => punzi.Compute(logits.Sigmoid()));
            var bceSeconds = Median(logits => WeightedBce.Loss(logits, y, w));
            return new LossBenchmarkResult(events, windows, punzi.PairCount, prepareSeconds, punziSeconds, bceSeconds, Torch.GetNumThreads());
        }
        finally
        {
            Torch.SetNumThreads(previousThreads);
        }
    }
}
