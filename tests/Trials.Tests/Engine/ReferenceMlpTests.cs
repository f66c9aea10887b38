namespace Studies.Trials.Tests.Engine;

/// <summary>
/// A 4-8-4-1 tanh MLP trained with weighted BCE through the binding must follow, step by step, the
/// same training computed independently here by a hand-written forward and backward pass.
/// </summary>
public sealed class ReferenceMlpTests
{
    private const int Batch = 64;
    private static readonly int[] Widths = [4, 8, 4, 1];

    private sealed record Data(double[,] X, double[] Y, double[] W);

    private static Data MakeData(int seed)
    {
        var rng = new Random(seed);
        var x = new double[Batch, 4];
        var y = new double[Batch];
        var w = new double[Batch];
        for (var i = 0; i < Batch; i++)
        {
            y[i] = i % 2;
            w[i] = 0.5 + rng.NextDouble();
            for (var j = 0; j < 4; j++) x[i, j] = rng.NextDouble() * 2 - 1 + (y[i] > 0 ? 0.4 * j : 0);
        }
        return new Data(x, y, w);
    }

    /// <summary>Initial weights and biases for each layer, drawn outside libtorch.</summary>
    private static (double[][,] W, double[][] B) MakeWeights(int seed)
    {
        var rng = new Random(seed);
        var ws = new double[3][,];
        var bs = new double[3][];
        for (var l = 0; l < 3; l++)
        {
            ws[l] = new double[Widths[l + 1], Widths[l]];
            bs[l] = new double[Widths[l + 1]];
            for (var o = 0; o < Widths[l + 1]; o++)
            {
                bs[l][o] = rng.NextDouble() - 0.5;
                for (var i = 0; i < Widths[l]; i++) ws[l][o, i] = (rng.NextDouble() - 0.5) * 1.5;
            }
        }
        return (ws, bs);
    }

    /// <summary>Forward and backward by hand: returns the loss and the gradients of every parameter.</summary>
    private static (double Loss, double[][,] GW, double[][] GB) HandForwardBackward(Data d, double[][,] ws, double[][] bs)
    {
        var acts = new double[4][,];
        acts[0] = d.X;
        for (var l = 0; l < 3; l++)
        {
            int n = Widths[l], m = Widths[l + 1];
            acts[l + 1] = new double[Batch, m];
            for (var k = 0; k < Batch; k++)
            for (var o = 0; o < m; o++)
            {
                var z = bs[l][o];
                for (var i = 0; i < n; i++) z += acts[l][k, i] * ws[l][o, i];
                acts[l + 1][k, o] = l < 2 ? Math.Tanh(z) : z; // the last layer gives the logit
            }
        }
        var totalWeight = d.W.Sum();
        var loss = 0.0;
        var delta = new double[Batch, 1];
        for (var k = 0; k < Batch; k++)
        {
            var z = acts[3][k, 0];
            var softplus = Math.Max(z, 0) + Math.Log(1 + Math.Exp(-Math.Abs(z)));
            loss += d.W[k] * (softplus - d.Y[k] * z);
            delta[k, 0] = d.W[k] * (1 / (1 + Math.Exp(-z)) - d.Y[k]) / totalWeight;
        }
        loss /= totalWeight;

        var gw = new double[3][,];
        var gb = new double[3][];
        for (var l = 2; l >= 0; l--)
        {
            int n = Widths[l], m = Widths[l + 1];
            gw[l] = new double[m, n];
            gb[l] = new double[m];
            var previous = new double[Batch, n];
            for (var k = 0; k < Batch; k++)
            for (var o = 0; o < m; o++)
            {
                gb[l][o] += delta[k, o];
                for (var i = 0; i < n; i++)
                {
                    gw[l][o, i] += delta[k, o] * acts[l][k, i];
                    previous[k, i] += delta[k, o] * ws[l][o, i];
                }
            }
            if (l > 0)
            {
                for (var k = 0; k < Batch; k++)
                for (var i = 0; i < n; i++) previous[k, i] *= 1 - acts[l][k, i] * acts[l][k, i];
            }
            delta = previous;
        }
        return (loss, gw, gb);
    }

    private static double[] Flatten(double[,] a) => a.Cast<double>().ToArray();

    private static List<double> HandTraining(Data d, int steps, string optimizer, double lr)
    {
        var (ws, bs) = MakeWeights(99);
        var flat = ws.Select(Flatten).Concat(bs).ToList();
        var m = flat.Select(p => new double[p.Length]).ToList();
        var v = flat.Select(p => new double[p.Length]).ToList();
        var losses = new List<double>();
        for (var step = 1; step <= steps; step++)
        {
            var (loss, gw, gb) = HandForwardBackward(d, ws, bs);
            losses.Add(loss);
            var grads = gw.Select(Flatten).Concat(gb).ToList();
            for (var p = 0; p < flat.Count; p++)
            for (var i = 0; i < flat[p].Length; i++)
            {
                var g = grads[p][i];
                if (optimizer == "sgd")
                {
                    // PyTorch SGD with momentum 0.9: the buffer starts as the first gradient.
                    m[p][i] = step == 1 ? g : 0.9 * m[p][i] + g;
                    flat[p][i] -= lr * m[p][i];
                }
                else
                {
                    m[p][i] = 0.9 * m[p][i] + 0.1 * g;
                    v[p][i] = 0.999 * v[p][i] + 0.001 * g * g;
                    var mHat = m[p][i] / (1 - Math.Pow(0.9, step));
                    var vHat = v[p][i] / (1 - Math.Pow(0.999, step));
                    flat[p][i] -= lr * mHat / (Math.Sqrt(vHat) + 1e-8);
                }
            }
            for (var l = 0; l < 3; l++)
            {
                for (var o = 0; o < Widths[l + 1]; o++)
                for (var i = 0; i < Widths[l]; i++) ws[l][o, i] = flat[l][o * Widths[l] + i];
                bs[l] = flat[3 + l];
            }
        }
        return losses;
    }

    private static List<double> TorchTraining(Data d, int steps, string optimizerName, double lr, ScalarType dtype)
    {
        var (ws, bs) = MakeWeights(99);
        using var net = new Sequential(
            new Linear(4, 8, null, dtype: dtype), new Tanh(), new Linear(8, 4, null, dtype: dtype), new Tanh(), new Linear(4, 1, null, dtype: dtype));
        var linears = net.Layers.OfType<Linear>().ToList();
        using (var init = TensorScope.Begin())
        {
            for (var l = 0; l < 3; l++)
            {
                linears[l].Weight.Copy_(Torch.Tensor(Flatten(ws[l]), [Widths[l + 1], Widths[l]]));
                linears[l].Bias!.Copy_(Torch.Tensor(bs[l]));
            }
        }
        var parameters = net.Parameters();
        Assert.Equal(dtype, parameters[0].DType);
        using Optimizer optimizer = optimizerName == "sgd" ? new SGD(parameters, lr, momentum: 0.9) : new Adam(parameters, lr);
        var losses = new List<double>();
        using var data = TensorScope.Begin();
        var x = Torch.Tensor(Flatten(d.X), [Batch, 4]).To(dtype);
        var y = Torch.Tensor(d.Y, [Batch, 1]).To(dtype);
        var w = Torch.Tensor(d.W, [Batch, 1]).To(dtype);
        for (var step = 0; step < steps; step++)
        {
            using var scope = TensorScope.Begin();
            optimizer.ZeroGrad();
            var loss = Torch.BinaryCrossEntropyWithLogits(net.Forward(x), y, w, Reduction.Sum) / w.Sum();
            loss.Backward();
            optimizer.Step();
            losses.Add(loss.Item());
        }
        return losses;
    }

    [Theory]
    [InlineData("sgd", 0.5)]
    [InlineData("adam", 0.01)]
    public void Float64_training_matches_the_hand_written_reference_to_rounding(string optimizer, double lr)
    {
        var d = MakeData(3);
        var expected = HandTraining(d, 25, optimizer, lr);
        var actual = TorchTraining(d, 25, optimizer, lr, ScalarType.Float64);
        for (var i = 0; i < expected.Count; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-12, $"step {i}: hand {expected[i]:R}, libtorch {actual[i]:R}");
    }

    [Theory]
    [InlineData("sgd", 0.5)]
    [InlineData("adam", 0.01)]
    public void Float32_training_follows_the_hand_written_reference(string optimizer, double lr)
    {
        var d = MakeData(5);
        var expected = HandTraining(d, 25, optimizer, lr);
        var actual = TorchTraining(d, 25, optimizer, lr, ScalarType.Float32);
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 2e-5, $"step {i}: hand {expected[i]:R}, libtorch {actual[i]:R}");
        Assert.True(actual[^1] < actual[0] - 0.05, "the training must actually learn");
    }
}
