namespace Studies.Trials.Tests.Engine;

/// <summary>
/// Every differentiable operation the project uses, its gradient checked against central finite
/// differences in double precision.
/// </summary>
public sealed class GradientCheckTests
{
    private static readonly Random Rng = new(1234);

    private static double[] Values(int n, double low, double high) =>
        Enumerable.Range(0, n).Select(_ => low + (high - low) * Rng.NextDouble()).ToArray();

    /// <summary>Compares d(sum(f(x) * r))/dx from autograd with central differences.</summary>
    private static void Check(Func<Tensor, Tensor> f, double[] x0, long[] shape, double tolerance = 1e-6)
    {
        using var scope = TensorScope.Begin();
        var x = Torch.Tensor(x0, shape, requiresGrad: true);
        var y = f(x);
        var r = Torch.Tensor(Values((int)y.NumEl, 0.5, 1.5), y.Shape);
        (y * r).Sum().Backward();
        var analytic = x.Grad!.ToArray<double>();
        var weights = r.ToArray<double>();

        const double h = 1e-6;
        for (var i = 0; i < x0.Length; i++)
        {
            double Eval(double delta)
            {
                using var inner = TensorScope.Begin();
                using var _ = Torch.NoGrad();
                var shifted = (double[])x0.Clone();
                shifted[i] += delta;
                var values = f(Torch.Tensor(shifted, shape)).ToArray<double>();
                return values.Select((v, k) => v * weights[k]).Sum();
            }

            var numeric = (Eval(h) - Eval(-h)) / (2 * h);
            var scale = Math.Max(1, Math.Abs(numeric));
            Assert.True(Math.Abs(analytic[i] - numeric) <= tolerance * scale,
                $"element {i}: autograd {analytic[i]:R}, finite differences {numeric:R}");
        }
    }

    private static Tensor Const(double[] values, params long[] shape) => Torch.Tensor(values, shape);

    public static TheoryData<string> UnaryOps => new()
    {
        "neg", "abs", "exp", "log", "log1p", "sqrt", "rsqrt", "tanh", "relu", "sigmoid", "log_sigmoid", "square",
        "pow_scalar", "clamp", "add_scalar", "sub_scalar", "mul_scalar", "div_scalar", "rsub_scalar", "rdiv_scalar",
        "sum", "mean", "sum_dim", "mean_dim", "max_dim", "min_dim", "max_all", "cumsum", "sort_values",
        "reshape", "transpose", "t", "narrow", "squeeze", "unsqueeze", "expand", "contiguous", "clone",
    };

    [Theory]
    [MemberData(nameof(UnaryOps))]
    public void Unary_and_shape_operations(string op)
    {
        // Positive inputs away from kinks (abs, relu, clamp edges) so finite differences are valid.
        var sign = Values(12, 0, 1).Select(v => v < 0.5 ? -1.0 : 1.0).ToArray();
        var x0 = Values(12, 0.3, 2.0).Select((v, i) => op is "abs" or "relu" or "tanh" or "sigmoid" or "log_sigmoid" or "neg"
            or "clamp" or "cumsum" or "sort_values" or "max_dim" or "min_dim" or "max_all" ? v * sign[i] : v).ToArray();
        if (op == "clamp") x0 = x0.Select(v => Math.Abs(Math.Abs(v) - 1) < 0.05 ? v + 0.1 : v).ToArray();
        Func<Tensor, Tensor> f = op switch
        {
            "neg" => x => -x,
            "abs" => x => x.Abs(),
            "exp" => x => x.Exp(),
            "log" => x => x.Log(),
            "log1p" => x => x.Log1p(),
            "sqrt" => x => x.Sqrt(),
            "rsqrt" => x => x.Rsqrt(),
            "tanh" => x => x.Tanh(),
            "relu" => x => x.Relu(),
            "sigmoid" => x => x.Sigmoid(),
            "log_sigmoid" => x => x.LogSigmoid(),
            "square" => x => x.Square(),
            "pow_scalar" => x => x.Pow(2.5),
            "clamp" => x => x.Clamp(-1, 1),
            "add_scalar" => x => x + 0.7,
            "sub_scalar" => x => x - 0.7,
            "mul_scalar" => x => x * 1.7,
            "div_scalar" => x => x / 1.7,
            "rsub_scalar" => x => 1.7 - x,
            "rdiv_scalar" => x => 1.7 / x,
            "sum" => x => x.Sum(),
            "mean" => x => x.Mean(),
            "sum_dim" => x => x.Sum(1),
            "mean_dim" => x => x.Mean(0, keepdim: true),
            "max_dim" => x => x.Max(1).Values,
            "min_dim" => x => x.Min(0).Values,
            "max_all" => x => x.Max(),
            "cumsum" => x => x.Cumsum(1),
            "sort_values" => x => x.Sort(1, descending: true).Values,
            "reshape" => x => x.Reshape(4, 3).Square(),
            "transpose" => x => x.Transpose(0, 1).Square(),
            "t" => x => x.T().Square(),
            "narrow" => x => x.Narrow(1, 1, 2).Square(),
            "squeeze" => x => x.Reshape(1, 12).Squeeze(0).Square(),
            "unsqueeze" => x => x.Unsqueeze(0).Square(),
            "expand" => x => x.Reshape(1, 3, 4).Expand(2, 3, 4).Square(),
            "contiguous" => x => x.T().Contiguous().Square(),
            "clone" => x => x.Clone().Square(),
            _ => throw new ArgumentOutOfRangeException(nameof(op), op, null),
        };
        Check(f, x0, [3, 4]);
    }

    [Fact]
    public void Binary_operations_in_both_arguments()
    {
        var a0 = Values(6, 0.5, 2);
        var b0 = Values(6, 0.5, 2).Select(v => v + 0.3).ToArray(); // keep maximum/minimum away from ties
        var pairs = new (string Name, Func<Tensor, Tensor, Tensor> F)[]
        {
            ("add", (a, b) => a + b), ("sub", (a, b) => a - b), ("mul", (a, b) => a * b), ("div", (a, b) => a / b),
            ("pow", (a, b) => a.Pow(b)), ("maximum", (a, b) => a.Maximum(b)), ("minimum", (a, b) => a.Minimum(b)),
        };
        foreach (var (_, f) in pairs)
        {
            Check(a => f(a, Const(b0, 2, 3)), a0, [2, 3]);
            Check(b => f(Const(a0, 2, 3), b), b0, [2, 3]);
        }
        // broadcasting: a row vector against a matrix
        Check(b => Const(a0, 2, 3) * b, b0.Take(3).ToArray(), [3]);
    }

    [Fact]
    public void Matmul_and_linear()
    {
        var x0 = Values(6, -1, 1);
        var w0 = Values(12, -1, 1);
        var b0 = Values(4, -1, 1);
        Check(x => x.Matmul(Const(w0, 3, 4)), x0, [2, 3]);
        Check(w => Const(x0, 2, 3).Matmul(w), w0, [3, 4]);
        Check(x => Torch.Linear(x, Const(w0, 4, 3), Const(b0, 4)), x0, [2, 3]);
        Check(w => Torch.Linear(Const(x0, 2, 3), w, Const(b0, 4)), w0, [4, 3]);
        Check(b => Torch.Linear(Const(x0, 2, 3), Const(w0, 4, 3), b), b0, [4]);
    }

    [Fact]
    public void Binary_cross_entropy_weighted()
    {
        var logits0 = Values(8, -3, 3);
        var target = Const([1, 0, 1, 1, 0, 0, 1, 0], 8);
        var weight = Const(Values(8, 0.1, 2), 8);
        Check(z => Torch.BinaryCrossEntropyWithLogits(z, target, weight), logits0, [8]);
        Check(z => Torch.BinaryCrossEntropyWithLogits(z, target, weight, Reduction.Sum), logits0, [8]);
        Check(z => Torch.BinaryCrossEntropyWithLogits(z, target, null, Reduction.None), logits0, [8]);
        Check(p => Torch.BinaryCrossEntropy(p, target, weight), Values(8, 0.05, 0.95), [8]);
    }

    [Fact]
    public void Indexing_selection_and_joining()
    {
        var x0 = Values(12, -2, 2);
        var index = Torch.Tensor(new long[] { 2, 0, 2, 1 });
        var gatherIndex = Torch.Tensor(new long[] { 0, 3, 3, 1, 2, 2 }, [3, 2]);
        var mask = Torch.Tensor(new[] { true, false, true, false, false, true, true, false, true, true, false, false }, [3, 4]);
        Check(x => x.IndexSelect(0, index), x0, [3, 4]);
        Check(x => x.Gather(1, gatherIndex), x0, [3, 4]);
        Check(x => x.MaskedSelect(mask), x0, [3, 4]);
        Check(x => x.MaskedFill(mask, 0.25), x0, [3, 4]);
        Check(x => Torch.Where(mask, x, x.Square()), x0, [3, 4]);
        Check(x => Torch.Zeros([5], ScalarType.Float64).IndexAdd(0, index, x.Narrow(0, 0, 4)), x0.Take(4).ToArray(), [4]);
        Check(x => Torch.Cat([x, x.Square()], 1), x0, [3, 4]);
        Check(x => Torch.Stack([x, x.Exp()], 0), x0, [3, 4]);
    }

    [Fact]
    public void Dropout_with_a_fixed_generator_state()
    {
        using var generator = new Generator(7);
        using var state = generator.GetState();
        Check(x =>
        {
            generator.SetState(state); // the same mask in every evaluation
            return Torch.Dropout(x, 0.3, training: true, generator);
        }, Values(20, -1, 1), [20]);
    }
}
