using Studies.Trials.Engine;

namespace Studies.Trials.Tests.Engine;

/// <summary>The native RAdam against the update rule of torch.optim.RAdam written out here in doubles.</summary>
public sealed class RAdamTests
{
    [Fact]
    public void Twenty_steps_on_a_quadratic_follow_the_rectified_adam_rule_through_both_regimes()
    {
        // Loss sum((x - c)^2): the gradient is 2 (x - c). rho_t <= 5 for the first steps (plain
        // momentum step), rectified afterwards, so both branches are exercised.
        double[] start = [0.5, -1.5, 3.0];
        double[] c = [1.0, 2.0, -1.0];
        const double lr = 0.1, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, decay = 0.01;
        using var scope = TensorScope.Begin();
        var x = Torch.Tensor(start, [3]);
        x.RequiresGrad = true;
        var target = Torch.Tensor(c, [3]);
        using var optimizer = new RAdam([new ParamGroup([x], decay)], lr);

        var expected = (double[])start.Clone();
        var m = new double[3];
        var v = new double[3];
        var rhoInf = 2 / (1 - beta2) - 1;
        for (var t = 1; t <= 20; t++)
        {
            optimizer.ZeroGrad();
            (x - target).Square().Sum().Backward();
            optimizer.Step();

            for (var i = 0; i < 3; i++)
            {
                var g = 2 * (expected[i] - c[i]) + decay * expected[i];
                m[i] = beta1 * m[i] + (1 - beta1) * g;
                v[i] = beta2 * v[i] + (1 - beta2) * g * g;
                var corrected = m[i] / (1 - Math.Pow(beta1, t));
                var rho = rhoInf - 2 * t * Math.Pow(beta2, t) / (1 - Math.Pow(beta2, t));
                if (rho > 5)
                {
                    var rect = Math.Sqrt((rho - 4) * (rho - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rho));
                    var adaptive = Math.Sqrt(1 - Math.Pow(beta2, t)) / (Math.Sqrt(v[i]) + eps);
                    expected[i] -= lr * corrected * rect * adaptive;
                }
                else
                {
                    expected[i] -= lr * corrected;
                }
            }
            var actual = x.Detach().ToArray<double>();
            for (var i = 0; i < 3; i++) Assert.Equal(expected[i], actual[i], 10);
        }
        // Not Adam: Adam's first step moves every coordinate by lr; RAdam's first (unrectified) step by lr * |m|.
        Assert.NotEqual(start[0] - lr, expected[0], 3);
    }
}
