using Studies.Trials.Metrics;
using Studies.Trials.Losses;

namespace Studies.Trials.Tests.Losses;

public sealed class PunziLossTests
{
    private const double Nsigma = 2;
    private static double Width(double m) => 0.08 + 0.15 * m;

    /// <summary>A small random data set with windows: several masses, overlapping windows, events in none.</summary>
    private sealed record Sample(double[] V, double[] Masses, PunziEvents Events, double[] Output)
    {
        public static Sample Random(int seed, int n = 300, int k = 5)
        {
            var rng = new Random(seed);
            var masses = Enumerable.Range(0, k).Select(i => 0.8 + 0.45 * i + 0.1 * rng.NextDouble()).ToArray();
            var isSignal = new bool[n];
            var massIndex = new int[n];
            var weight = new double[n];
            var v = new double[n];
            for (var j = 0; j < n; j++)
            {
                isSignal[j] = rng.NextDouble() < 0.35;
                if (isSignal[j])
                {
                    massIndex[j] = rng.Next(-1, k); // -1: signal of no trained mass
                    var m = masses[Math.Max(massIndex[j], 0)];
                    v[j] = m * m + 3 * Width(m) * (2 * rng.NextDouble() - 1); // some fall outside their window
                }
                else
                {
                    massIndex[j] = -1;
                    weight[j] = 0.2 + 3 * rng.NextDouble();
                    v[j] = -0.5 + 6 * rng.NextDouble();
                }
            }
            var generated = Enumerable.Range(0, k).Select(i => 10 + massIndex.Count(x => x == i) * (1 + rng.NextDouble())).ToArray();
            var output = Enumerable.Range(0, n).Select(_ => 0.05 + 0.9 * rng.NextDouble()).ToArray();
            return new Sample(v, masses, new PunziEvents(isSignal, massIndex, weight, generated), output);
        }

        public WindowMembership Windows(bool windowed) => windowed
            ? WindowMembership.Build(V, Masses, Width, Nsigma)
            : WindowMembership.Everywhere(V.Length, Masses.Length);
    }

    private static double HandSigmaMin(double eps, double b, PunziParameters p)
    {
        var constant = p.Formula == PunziFormula.Full ? p.A * p.A / 8 + 9 * p.B * p.B / 13 : p.B * p.B / 2;
        return (constant + p.A * Math.Sqrt(b) + p.B / 2 * Math.Sqrt(p.B * p.B + 4 * p.A * Math.Sqrt(b) + 4 * b)) / (eps * p.Luminosity);
    }

    /// <summary>The loss evaluated directly from its definition, event by event, in double.</summary>
    private static double Direct(Sample s, double[] f, PunziParameters p, bool windowed)
    {
        var k = s.Masses.Length;
        var total = 0.0;
        for (var i = 0; i < k; i++)
        {
            double eps = 0, background = 0;
            for (var j = 0; j < f.Length; j++)
            {
                var inWindow = !windowed || Math.Abs(s.V[j] - s.Masses[i] * s.Masses[i]) < Nsigma * Width(s.Masses[i]);
                if (!inWindow) continue;
                if (s.Events.IsSignal[j] && s.Events.MassIndex[j] == i) eps += p.Scale * f[j] / s.Events.GeneratedSignal[i];
                else if (!s.Events.IsSignal[j]) background += p.Scale * s.Events.Weight[j] * f[j];
            }
            total += HandSigmaMin(Math.Max(eps, p.EfficiencyFloor), Math.Max(background, p.BackgroundFloor), p);
        }
        return total / k;
    }

    private static double Loss(PunziLoss loss, double[] f)
    {
        using var scope = TensorScope.Begin();
        using var _ = Torch.NoGrad();
        return loss.Compute(Torch.Tensor(f)).Item();
    }

    [Fact]
    public void Sigma_min_matches_hand_computed_values_for_both_formulas()
    {
        const double b = 1.28155;
        var full = PunziParameters.Default;
        var simple = full with { Formula = PunziFormula.Simple };
        // (eps, B) chosen so that √B is whole: a√B and 4a√B are easy to write out; a = 3, L = 50.
        var cases = new (double Eps, double B, double Full, double Simple)[]
        {
            (0.1, 4, (9.0 / 8 + 9 * b * b / 13 + 6 + b / 2 * Math.Sqrt(b * b + 24 + 16)) / 5,
                     (b * b / 2 + 6 + b / 2 * Math.Sqrt(b * b + 24 + 16)) / 5),
            (0.5, 1, (9.0 / 8 + 9 * b * b / 13 + 3 + b / 2 * Math.Sqrt(b * b + 12 + 4)) / 25,
                     (b * b / 2 + 3 + b / 2 * Math.Sqrt(b * b + 12 + 4)) / 25),
            (0.02, 9, (9.0 / 8 + 9 * b * b / 13 + 9 + b / 2 * Math.Sqrt(b * b + 36 + 36)) / 1,
                      (b * b / 2 + 9 + b / 2 * Math.Sqrt(b * b + 36 + 36)) / 1),
        };
        using var scope = TensorScope.Begin();
        foreach (var c in cases)
        {
            Assert.Equal(c.Full, PunziSensitivity.SigmaMin(c.Eps, c.B, full), 1e-12);
            Assert.Equal(c.Simple, PunziSensitivity.SigmaMin(c.Eps, c.B, simple), 1e-12);
            var eps = Torch.Tensor(new[] { c.Eps });
            var bg = Torch.Tensor(new[] { c.B });
            Assert.Equal(c.Full, PunziSensitivity.SigmaMin(eps, bg, full).Item(), 1e-12);
            Assert.Equal(c.Simple, PunziSensitivity.SigmaMin(eps, bg, simple).Item(), 1e-12);
        }
        // 9 b²/13 + a²/8 > b²/2 for these a, b: the full formula is the more conservative one.
        Assert.True(cases.All(c => c.Full > c.Simple));
    }

    [Theory]
    [InlineData(11, true, PunziFormula.Full)]
    [InlineData(12, true, PunziFormula.Simple)]
    [InlineData(13, false, PunziFormula.Full)]
    public void Loss_equals_a_direct_double_evaluation(int seed, bool windowed, PunziFormula formula)
    {
        var s = Sample.Random(seed);
        var p = PunziParameters.Default with { Formula = formula, Scale = 0.8, Luminosity = 30 };
        using var loss = PunziLoss.Prepare(s.Windows(windowed), s.Events, p, ScalarType.Float64);
        var expected = Direct(s, s.Output, p, windowed);
        Assert.Equal(expected, Loss(loss, s.Output), expected * 1e-12);

        // [n, 1] output gives the same; and the per-mass yields are really in the windows (not all equal).
        using var scope = TensorScope.Begin();
        Assert.Equal(expected, loss.Compute(Torch.Tensor(s.Output, [s.Output.Length, 1])).Item(), expected * 1e-12);
        var background = loss.Yields(Torch.Tensor(s.Output)).Background.ToArray<double>();
        Assert.Equal(windowed, background.Distinct().Count() > 1);
    }

    [Fact]
    public void Gradient_with_respect_to_the_outputs_matches_finite_differences()
    {
        var s = Sample.Random(21, n: 120, k: 4);
        using var loss = PunziLoss.Prepare(s.Windows(true), s.Events, dtype: ScalarType.Float64);
        double[] analytic;
        using (var scope = TensorScope.Begin())
        {
            var f = Torch.Tensor(s.Output, requiresGrad: true);
            loss.Compute(f).Backward();
            analytic = f.Grad!.ToArray<double>();
        }

        const double h = 1e-6;
        var nonZero = 0;
        for (var j = 0; j < s.Output.Length; j++)
        {
            var up = (double[])s.Output.Clone();
            var down = (double[])s.Output.Clone();
            up[j] += h;
            down[j] -= h;
            var numeric = (Loss(loss, up) - Loss(loss, down)) / (2 * h);
            Assert.True(Math.Abs(analytic[j] - numeric) <= 1e-6 * Math.Max(1, Math.Abs(numeric)),
                $"event {j}: autograd {analytic[j]:R}, finite differences {numeric:R}");
            if (analytic[j] != 0) nonZero++;
        }
        Assert.True(nonZero > s.Output.Length / 3, "most events should lie in some window and carry a gradient");
    }

    [Fact]
    public void Gradient_with_respect_to_a_linear_models_weights_matches_finite_differences()
    {
        var s = Sample.Random(22, n: 200, k: 4);
        var rng = new Random(3);
        const int d = 3;
        var x = Enumerable.Range(0, s.Output.Length * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var theta0 = new[] { 0.4, -0.7, 0.2, 0.1 }; // three weights and a bias
        using var loss = PunziLoss.Prepare(s.Windows(true), s.Events, dtype: ScalarType.Float64);

        Tensor Output(Tensor theta, Tensor features) =>
            Torch.Linear(features, theta.Narrow(0, 0, d).Unsqueeze(0), theta.Narrow(0, d, 1)).Sigmoid();

        double Value(double[] theta)
        {
            using var scope = TensorScope.Begin();
            using var _ = Torch.NoGrad();
            return loss.Compute(Output(Torch.Tensor(theta), Torch.Tensor(x, [s.Output.Length, d]))).Item();
        }

        double[] analytic;
        using (var scope = TensorScope.Begin())
        {
            var theta = Torch.Tensor(theta0, requiresGrad: true);
            loss.Compute(Output(theta, Torch.Tensor(x, [s.Output.Length, d]))).Backward();
            analytic = theta.Grad!.ToArray<double>();
        }

        const double h = 1e-6;
        for (var q = 0; q < theta0.Length; q++)
        {
            var up = (double[])theta0.Clone();
            var down = (double[])theta0.Clone();
            up[q] += h;
            down[q] -= h;
            var numeric = (Value(up) - Value(down)) / (2 * h);
            Assert.True(Math.Abs(analytic[q] - numeric) <= 1e-6 * Math.Max(1, Math.Abs(numeric)),
                $"parameter {q}: autograd {analytic[q]:R}, finite differences {numeric:R}");
            Assert.NotEqual(0, analytic[q]);
        }
    }

    [Fact]
    public void Floors_keep_the_loss_and_its_gradient_finite_when_a_window_has_no_background_or_signal()
    {
        var s = Sample.Random(31, n: 200, k: 3);
        var f = (double[])s.Output.Clone();
        for (var j = 0; j < f.Length; j++)
        {
            if (!s.Events.IsSignal[j]) f[j] = 0;                              // B_i = 0 in every window
            else if (s.Events.MassIndex[j] == 2) f[j] = 0;                    // eps_2 = 0
        }
        var p = PunziParameters.Default;
        using var loss = PunziLoss.Prepare(s.Windows(true), s.Events, p, ScalarType.Float64);
        using var scope = TensorScope.Begin();
        var output = Torch.Tensor(f, requiresGrad: true);
        var value = loss.Compute(output);
        value.Backward();
        var grad = output.Grad!.ToArray<double>();

        Assert.All(grad, g => Assert.True(double.IsFinite(g), $"gradient {g}"));
        Assert.Equal(Direct(s, f, p, windowed: true), value.Item(), value.Item() * 1e-12);
        var (eps, background) = loss.Yields(Torch.Tensor(f));
        Assert.All(background.ToArray<double>(), b => Assert.Equal(0, b));
        Assert.Equal(0, eps.ToArray<double>()[2]);
        // The floored sigma_min uses B = 1e-9 and eps = 1e-6 for mass 2.
        Assert.Equal(HandSigmaMin(1e-6, 1e-9, p), loss.SigmaMin(Torch.Tensor(f)).ToArray<double>()[2], 1e-3);
        // Signal of the other masses still gets a (negative: raise f) gradient.
        Assert.Contains(Enumerable.Range(0, f.Length), j => s.Events.IsSignal[j] && s.Events.MassIndex[j] is 0 or 1 && grad[j] < 0);
    }

    [Fact]
    public void Inconsistent_input_is_refused_with_a_message_naming_it()
    {
        var s = Sample.Random(41, n: 50, k: 3);
        var windows = s.Windows(true);
        var badMass = s.Events with { MassIndex = s.Events.MassIndex.Select((m, j) => s.Events.IsSignal[j] ? 7 : m).ToArray() };
        Assert.Contains("mass index 7", Assert.Throws<ArgumentException>(() => PunziLoss.Prepare(windows, badMass)).Message);
        var fewer = WindowMembership.Build(s.V.Take(40).ToArray(), s.Masses, Width, Nsigma);
        Assert.Contains("40 events", Assert.Throws<ArgumentException>(() => PunziLoss.Prepare(fewer, s.Events)).Message);

        using var loss = PunziLoss.Prepare(windows, s.Events);
        using var scope = TensorScope.Begin();
        Assert.Contains("Float32", Assert.Throws<ArgumentException>(() => loss.Compute(Torch.Tensor(s.Output))).Message);
        Assert.Contains("50 events", Assert.Throws<ArgumentException>(() => loss.Compute(Torch.Zeros([49]))).Message);
    }
}
