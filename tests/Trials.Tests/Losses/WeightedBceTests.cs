using Studies.Trials.Losses;

namespace Studies.Trials.Tests.Losses;

public sealed class WeightedBceTests
{
    [Fact]
    public void Weighted_bce_equals_a_hand_computation_in_double()
    {
        var rng = new Random(5);
        const int n = 50;
        var logits = Enumerable.Range(0, n).Select(_ => 8 * rng.NextDouble() - 4).ToArray();
        var labels = Enumerable.Range(0, n).Select(_ => rng.NextDouble() < 0.4 ? 1.0 : 0.0).ToArray();
        var weights = Enumerable.Range(0, n).Select(_ => 0.1 + 2 * rng.NextDouble()).ToArray();

        double numerator = 0, denominator = 0;
        for (var j = 0; j < n; j++)
        {
            var f = 1 / (1 + Math.Exp(-logits[j]));
            numerator += weights[j] * -(labels[j] * Math.Log(f) + (1 - labels[j]) * Math.Log(1 - f));
            denominator += weights[j];
        }
        var expected = numerator / denominator;

        using var scope = TensorScope.Begin();
        var column = WeightedBce.Loss(Torch.Tensor(logits, [n, 1]), Torch.Tensor(labels, [n, 1]), Torch.Tensor(weights, [n, 1])).Item();
        var flat = WeightedBce.Loss(Torch.Tensor(logits), Torch.Tensor(labels), Torch.Tensor(weights)).Item();
        Assert.Equal(expected, column, 1e-12);
        Assert.Equal(expected, flat, 1e-12);
    }

    [Fact]
    public void Mismatched_weights_are_refused()
    {
        using var scope = TensorScope.Begin();
        var e = Assert.Throws<ArgumentException>(() => WeightedBce.Loss(Torch.Zeros([4]), Torch.Zeros([4]), Torch.Ones([3])));
        Assert.Contains("weights", e.Message);
    }
}
