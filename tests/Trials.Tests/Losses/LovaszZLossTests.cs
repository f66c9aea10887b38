using Studies.Trials.Losses;

namespace Studies.Trials.Tests.Losses;

public sealed class LovaszZLossTests
{
    public static TheoryData<string> Configurations => new() { "toy-case-1", "two-processes", "two-signals" };

    private static (LovaszZParameters Parameters, long[] Process) Configuration(string name) => name switch
    {
        // lovasz-toy case 1: signal 0.1 fb, backgrounds 1 and 100 fb, L = 3000 fb^-1.
        "toy-case-1" => (new LovaszZParameters([new("signal", 0.1, true), new("b1", 1, false), new("b2", 100, false)]),
            [0, 1, 2, 0, 2, 1, 0, 2, 2, 1]),
        "two-processes" => (new LovaszZParameters([new("bkg", 50, false), new("sig", 2, true)], Luminosity: 100, Epsilon: 40),
            [1, 0, 0, 1, 1, 0, 0, 0, 1, 0]),
        "two-signals" => (new LovaszZParameters([new("s1", 0.5, true), new("b", 10, false), new("s2", 0.2, true)], Luminosity: 300),
            [2, 1, 0, 1, 0, 2, 1, 1, 0, 1]),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>Delta_Z of a set of mistakes, written out from the formula, in double.</summary>
    private static double DeltaZ(LovaszZParameters p, long[] process, Func<int, bool> mistaken)
    {
        var count = p.Processes.Count;
        var nu = new double[count];
        var wrong = new double[count]; // n_i for signal processes, p_i for background processes
        for (var j = 0; j < process.Length; j++)
        {
            nu[process[j]]++;
            if (mistaken(j)) wrong[process[j]]++;
        }
        var eps = p.Epsilon ?? p.Processes.Where(q => q.IsSignal).Sum(q => q.CrossSection) * p.Luminosity;
        double first = 0, kept = 0, background = 0;
        for (var i = 0; i < count; i++)
        {
            var yield = p.Processes[i].CrossSection * p.Luminosity;
            if (p.Processes[i].IsSignal)
            {
                first += yield / Math.Sqrt(eps);
                kept += (1 - wrong[i] / nu[i]) * yield;
            }
            else
            {
                background += wrong[i] / nu[i] * yield;
            }
        }
        return first - kept / Math.Sqrt(eps + background);
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Extension_at_every_0_1_error_vector_equals_Delta_Z_of_that_mistake_set(string configuration)
    {
        var (p, process) = Configuration(configuration);
        using var outer = TensorScope.Begin();
        var processTensor = Torch.Tensor(process);
        var distinct = new HashSet<double>();
        for (var mask = 0; mask < 1 << process.Length; mask++)
        {
            using var scope = TensorScope.Begin();
            var errors = Enumerable.Range(0, process.Length).Select(j => (mask >> j & 1) == 1 ? 1.0 : 0.0).ToArray();
            var expected = DeltaZ(p, process, j => (mask >> j & 1) == 1);
            var actual = LovaszZLoss.Extension(Torch.Tensor(errors), processTensor, p).Item();
            Assert.True(Math.Abs(expected - actual) <= 1e-10 * Math.Max(1, Math.Abs(expected)),
                $"mistake set {Convert.ToString(mask, 2)}: Delta_Z {expected:R}, extension {actual:R}");
            distinct.Add(Math.Round(expected, 9));
        }
        Assert.True(distinct.Count > 20, $"the set function should take many different values, took {distinct.Count}");
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Delta_of_the_empty_set_is_zero(string configuration)
    {
        var (p, process) = Configuration(configuration);
        Assert.Equal(0, DeltaZ(p, process, _ => false), 1e-12);
        using var scope = TensorScope.Begin();
        Assert.Equal(0, LovaszZLoss.Extension(Torch.Zeros([process.Length], ScalarType.Float64), Torch.Tensor(process), p).Item(), 1e-12);
        // Scores beyond the margin on the right side: no hinge error, no loss.
        var signal = process.Select(i => p.Processes[(int)i].IsSignal ? 1.0 : 0.0).ToArray();
        var scores = signal.Select(y => y > 0 ? 3.0 : -3.0).ToArray();
        Assert.Equal(0, LovaszZLoss.Compute(Torch.Tensor(scores), Torch.Tensor(signal), Torch.Tensor(process), p).Item(), 1e-12);
    }

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Loss_and_sub_gradient_match_the_definition_and_finite_differences(string configuration)
    {
        var (p, baseProcess) = Configuration(configuration);
        var rng = new Random(configuration.Length);
        var process = baseProcess.Concat(baseProcess).ToArray(); // 20 events
        var n = process.Length;
        var signed = process.Select(i => p.Processes[(int)i].IsSignal ? 1.0 : -1.0).ToArray();
        // Distinct hinge errors 0.15 apart for active events; inactive ones well past the margin.
        var rank = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).ToArray();
        var errors = new double[n];
        var scores = new double[n];
        for (var j = 0; j < n; j++)
        {
            errors[j] = rank[j] % 4 == 3 ? 0 : 0.1 + 0.15 * rank[j];
            var margin = errors[j] > 0 ? 1 - errors[j] : 1.5 + rng.NextDouble();
            scores[j] = margin * signed[j];
        }
        var labels = signed.Select(y => y > 0 ? 1.0 : 0.0).ToArray();

        // The definition: sort errors down, weight each by Delta(first k) - Delta(first k-1).
        var order = Enumerable.Range(0, n).OrderByDescending(j => errors[j]).ToArray();
        var expected = 0.0;
        for (var k = 1; k <= n; k++)
        {
            var g = DeltaZ(p, process, j => Array.IndexOf(order, j) < k) - DeltaZ(p, process, j => Array.IndexOf(order, j) < k - 1);
            expected += errors[order[k - 1]] * g;
        }

        double Value(double[] f)
        {
            using var scope = TensorScope.Begin();
            using var _ = Torch.NoGrad();
            return LovaszZLoss.Compute(Torch.Tensor(f), Torch.Tensor(labels), Torch.Tensor(process), p).Item();
        }

        double[] analytic;
        using (var scope = TensorScope.Begin())
        {
            var f = Torch.Tensor(scores, [n, 1], requiresGrad: true);
            var loss = LovaszZLoss.Compute(f, Torch.Tensor(labels), Torch.Tensor(process), p);
            Assert.Equal(expected, loss.Item(), 1e-10 * Math.Max(1, Math.Abs(expected)));
            loss.Backward();
            analytic = f.Grad!.ToArray<double>();
        }

        const double h = 1e-6;
        for (var j = 0; j < n; j++)
        {
            var up = (double[])scores.Clone();
            var down = (double[])scores.Clone();
            up[j] += h;
            down[j] -= h;
            var numeric = (Value(up) - Value(down)) / (2 * h);
            Assert.True(Math.Abs(analytic[j] - numeric) <= 1e-6 * Math.Max(1, Math.Abs(numeric)),
                $"event {j}: autograd {analytic[j]:R}, finite differences {numeric:R}");
            if (errors[j] == 0) Assert.Equal(0, analytic[j]);
        }
        Assert.Contains(analytic, g => g != 0);
    }

    [Fact]
    public void Labels_that_contradict_the_process_flags_are_refused()
    {
        var (p, process) = Configuration("toy-case-1");
        using var scope = TensorScope.Begin();
        var labels = Torch.Zeros([process.Length], ScalarType.Float64); // process 0 is signal: 3 wrong labels
        var e = Assert.Throws<ArgumentException>(() => LovaszZLoss.Compute(Torch.Zeros([process.Length], ScalarType.Float64), labels, Torch.Tensor(process), p));
        Assert.Contains("3 events", e.Message);
        var bad = process.Select(i => i + 1).ToArray();
        Assert.Contains("outside 0..2", Assert.Throws<ArgumentException>(() => LovaszZLoss.Extension(Torch.Zeros([process.Length]), Torch.Tensor(bad), p)).Message);
    }
}
