namespace Studies.Trials.Engine;

/// <summary><c>y = x W^T + b</c>, as <c>torch.nn.Linear</c>; initialised as PyTorch does unless told otherwise.</summary>
public sealed class Linear : Module
{
    private readonly Parameter weight;
    private readonly Parameter? bias;

    public Linear(long inFeatures, long outFeatures, Generator? generator, bool hasBias = true, Device? device = null,
        ScalarType dtype = ScalarType.Float32)
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        weight = RegisterParameter("weight", Torch.Empty([outFeatures, inFeatures], dtype, device));
        if (hasBias) bias = RegisterParameter("bias", Torch.Empty([outFeatures], dtype, device));
        Init.PyTorchDefault(this, generator);
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public Tensor Weight => weight.Value;
    public Tensor? Bias => bias?.Value;

    public override Tensor Forward(Tensor input) => Torch.Linear(input, weight.Value, bias?.Value);
}

/// <summary>Runs its modules in order, as <c>torch.nn.Sequential</c>.</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> layers = new();

    public Sequential(params Module[] modules)
    {
        foreach (var m in modules) Add(m);
    }

    public Sequential Add(Module module)
    {
        RegisterModule(layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        layers.Add(module);
        return this;
    }

    public IReadOnlyList<Module> Layers => layers;

    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var layer in layers) x = layer.Forward(x);
        return x;
    }
}

public sealed class Tanh : Module
{
    public override Tensor Forward(Tensor input) => input.Tanh();
}

public sealed class ReLU : Module
{
    public override Tensor Forward(Tensor input) => input.Relu();
}

public sealed class Sigmoid : Module
{
    public override Tensor Forward(Tensor input) => input.Sigmoid();
}

/// <summary>Inverted dropout, active in training mode only, drawing from the trial's generator.</summary>
public sealed class Dropout(double p, Generator? generator) : Module
{
    public double P { get; } = p is >= 0 and < 1 ? p : throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1)");

    public override Tensor Forward(Tensor input) => Torch.Dropout(input, P, Training, generator);
}

/// <summary>Parameter initialisers, as <c>torch.nn.init</c>; all draw from the given generator.</summary>
public static class Init
{
    /// <summary>Fan-in and fan-out of a weight of shape [out, in, ...].</summary>
    public static (long FanIn, long FanOut) Fans(Tensor weight)
    {
        var shape = weight.Shape;
        if (shape.Length < 2) throw new ArgumentException("fan-in and fan-out need a weight with at least 2 dimensions");
        var receptive = shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        return (shape[1] * receptive, shape[0] * receptive);
    }

    /// <summary>N(0, gain^2/fan_in) with gain sqrt(2/(1+a^2)): PyTorch's <c>kaiming_normal_</c> defaults.</summary>
    public static Tensor KaimingNormal(Tensor weight, Generator? generator, double a = 0)
    {
        var gain = Math.Sqrt(2.0 / (1 + a * a));
        return weight.Normal_(0, gain / Math.Sqrt(Fans(weight).FanIn), generator);
    }

    /// <summary>U(-b, b), b = gain sqrt(6/(fan_in+fan_out)): Glorot / <c>xavier_uniform_</c>.</summary>
    public static Tensor XavierUniform(Tensor weight, Generator? generator, double gain = 1)
    {
        var (fanIn, fanOut) = Fans(weight);
        var bound = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        return weight.Uniform_(-bound, bound, generator);
    }

    /// <summary>U(-b, b), b = sqrt(6/fan_in): Keras' <c>he_uniform</c>.</summary>
    public static Tensor HeUniform(Tensor weight, Generator? generator)
    {
        var bound = Math.Sqrt(6.0 / Fans(weight).FanIn);
        return weight.Uniform_(-bound, bound, generator);
    }

    public static Tensor Normal(Tensor tensor, Generator? generator, double mean = 0, double std = 1) => tensor.Normal_(mean, std, generator);

    public static Tensor Uniform(Tensor tensor, Generator? generator, double from = 0, double to = 1) => tensor.Uniform_(from, to, generator);

    public static Tensor Zeros(Tensor tensor) => tensor.Zero_();

    /// <summary>torch.nn.Linear's own initialisation: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).</summary>
    public static void PyTorchDefault(Linear layer, Generator? generator)
    {
        var bound = 1.0 / Math.Sqrt(layer.InFeatures);
        layer.Weight.Uniform_(-bound, bound, generator);
        layer.Bias?.Uniform_(-bound, bound, generator);
    }
}
