using Studies.Trials.Engine;
using Studies.Trials.Specs;

namespace Studies.Trials.Models;

/// <summary>
/// A multilayer perceptron with optional mass conditioning, covering the AffinePNN authors'
/// general form: method concat | bias | scale | affine, at a set of conditioning points.
/// Point 0 is the input; point i (1..L) is the output of hidden layer i (dense + activation, before
/// dropout); the output layer reads point L. The places name sets of points, the same for every method:
/// <list type="bullet">
/// <item>input: point 0 (concat there is Baldi's pNN);</item>
/// <item>start: point 1, after the first hidden layer;</item>
/// <item>end: point L, after the last hidden layer (what the output layer reads);</item>
/// <item>all: points 1..L, after every hidden layer (the AffinePNN reference, script/models/affine.py:
/// Dense(activation) then AffineConditioning on every hidden layer; input and output not conditioned);</item>
/// <item>every: points 0..L, the input and after every hidden layer.</item>
/// </list>
/// At a point, concat appends m~ to the representation read by the next dense layer (the reference's
/// ConcatConditioning appends and applies a linear map; followed by our next dense layer the two linear
/// maps compose to the same function class, so the extra map is left out); bias: h + W m~ + b;
/// scale: h * (W m~ + b); affine: h * (Ws m~ + bs) + (Wb m~ + bb).
/// dnn = no conditioning, pnn = concat/input, affine-pnn = affine/all.
/// </summary>
public sealed class ConditionedMlp : ClassifierModel
{
    private readonly List<Linear> dense = new();
    private readonly List<(Linear? Scale, Linear? Shift)> modulation = new(); // at point l + 1, after hidden layer l
    private readonly (Linear? Scale, Linear? Shift) inputModulation;
    private readonly List<bool> concatBefore = new();
    private readonly Dropout? dropout;
    private readonly string activation;
    private readonly ConditioningSpec? conditioning;

    public ConditionedMlp(int features, IReadOnlyList<int> hidden, string activation, double dropoutRate,
        ConditioningSpec? conditioning, Generator generator, string weightInit, string biasInit, Generator? dropoutGenerator = null)
    {
        // No hidden layer is the linear model: one dense layer from the inputs (and a concatenated mass) to the score.
        if (activation is not ("tanh" or "relu")) throw new ArgumentException($"unknown activation '{activation}' (tanh, relu)");
        this.activation = activation;
        this.conditioning = conditioning;
        var method = conditioning?.Method;
        if (method is not (null or "concat" or "bias" or "scale" or "affine"))
            throw new ArgumentException($"unknown conditioning method '{method}' (concat, bias, scale, affine)");
        var points = conditioning is null ? new HashSet<int>() : ConditioningPoints(conditioning.Place, hidden.Count);
        // A linear model (hidden: []) has only point 0; start and all name points after hidden layers.
        if (conditioning is not null && points.Count == 0)
            throw new ArgumentException($"a linear model (hidden: []) has no hidden layer for conditioning place '{conditioning.Place}'; use input, end or every");

        var widths = new[] { features }.Concat(hidden).Append(1).ToArray();
        var layers = widths.Length - 1; // hidden layers + output layer
        var modulate = method is "bias" or "scale" or "affine";
        // Modules are registered in the order (and under the names) used before the input point existed,
        // so the AffinePNN default draws the same initial weights and reads older checkpoints.
        inputModulation = modulate && points.Contains(0) ? Modulation("_input", features) : (null, null);
        for (var l = 0; l < layers; l++)
        {
            var isOutput = l == layers - 1;
            // Dense layer l reads point l.
            var concat = method == "concat" && points.Contains(l);
            concatBefore.Add(concat);
            var layer = RegisterModule($"dense{l}", new Linear(widths[l] + (concat ? 1 : 0), widths[l + 1], generator));
            Initialise(layer, weightInit, biasInit, generator);
            dense.Add(layer);
            // Hidden layer l's output is point l + 1.
            if (!isOutput) modulation.Add(modulate && points.Contains(l + 1) ? Modulation(l.ToString(), widths[l + 1]) : (null, null));
        }

        (Linear?, Linear?) Modulation(string suffix, int width)
        {
            Linear? scale = null, shift = null;
            if (method is "scale" or "affine")
            {
                scale = RegisterModule($"scale{suffix}", new Linear(1, width, generator));
                Initialise(scale, weightInit, biasInit, generator);
            }
            if (method is "bias" or "affine")
            {
                shift = RegisterModule($"shift{suffix}", new Linear(1, width, generator));
                Initialise(shift, weightInit, biasInit, generator);
            }
            return (scale, shift);
        }
        if (dropoutRate > 0) dropout = RegisterModule("dropout", new Dropout(dropoutRate, dropoutGenerator ?? generator));
    }

    public override bool UsesMass => conditioning is not null;

    public override Tensor Logits(Tensor features, Tensor? scaledMass) => Logits(features, scaledMass, static (layer, x) => layer.Forward(x));

    /// <summary>
    /// The same function with each dense layer's product done by <paramref name="linear"/>: a fused pack
    /// (<c>Trials/Fusion</c>) passes inputs [members, n, d] and applies each member's own weights, so the
    /// stacked net has exactly this net's structure. Events run along the second-to-last dimension.
    /// </summary>
    public Tensor Logits(Tensor features, Tensor? scaledMass, Func<Linear, Tensor, Tensor> linear)
    {
        if (UsesMass && scaledMass is null) throw new ArgumentException("this model is parametric: it needs the mass of every event");
        var h = Modulate(features, inputModulation, scaledMass, linear);
        for (var l = 0; l < dense.Count; l++)
        {
            if (concatBefore[l]) h = Torch.Cat([h, scaledMass!], -1);
            h = linear(dense[l], h);
            if (l == dense.Count - 1) break;
            h = activation == "tanh" ? h.Tanh() : h.Relu();
            h = Modulate(h, modulation[l], scaledMass, linear);
            if (dropout is not null) h = dropout.Forward(h);
        }
        return h;
    }

    /// <summary>The net's structure for a fused pack's native step (<c>Trials/Fusion/NativePackStep.cs</c>): the dense layers,
    /// whether each reads the mass appended, the modulation at each conditioning point (0: the input; l: after hidden layer l), the activation.</summary>
    internal (IReadOnlyList<Linear> Dense, IReadOnlyList<bool> ConcatBefore, IReadOnlyList<(Linear? Scale, Linear? Shift)> Points, string Activation) Structure =>
        (dense, concatBefore, [inputModulation, .. modulation], activation);

    /// <summary>Whether a fused pack can stack this net: no dropout (its masks would be drawn differently).</summary>
    public bool Fusable => dropout is null;

    private static Tensor Modulate(Tensor h, (Linear? Scale, Linear? Shift) at, Tensor? scaledMass, Func<Linear, Tensor, Tensor> linear)
    {
        if (at.Scale is not null) h = h * linear(at.Scale, scaledMass!);
        if (at.Shift is not null) h = h + linear(at.Shift, scaledMass!);
        return h;
    }

    /// <summary>The conditioning points a place names, for a net with <paramref name="hiddenLayers"/> hidden layers (see the class summary).</summary>
    public static IReadOnlySet<int> ConditioningPoints(string place, int hiddenLayers) => place switch
    {
        "input" => new HashSet<int> { 0 },
        "start" => hiddenLayers >= 1 ? new HashSet<int> { 1 } : new HashSet<int>(),
        "end" => new HashSet<int> { hiddenLayers },
        "all" => Enumerable.Range(1, hiddenLayers).ToHashSet(),
        "every" => Enumerable.Range(0, hiddenLayers + 1).ToHashSet(),
        _ => throw new ArgumentException($"unknown conditioning place '{place}' (input, start, end, all, every)"),
    };

    internal static void Initialise(Linear layer, string weightInit, string biasInit, Generator generator)
    {
        switch (weightInit)
        {
            case "kaiming-normal": Init.KaimingNormal(layer.Weight, generator); break;
            case "xavier-uniform": Init.XavierUniform(layer.Weight, generator); break;
            case "he-uniform": Init.HeUniform(layer.Weight, generator); break;
            case "pytorch": break; // Linear's constructor already drew PyTorch's default
            default: throw new ArgumentException($"unknown weight initialiser '{weightInit}' (kaiming-normal, xavier-uniform, he-uniform, pytorch)");
        }
        if (layer.Bias is null) return;
        switch (biasInit)
        {
            case "normal": Init.Normal(layer.Bias, generator); break;
            case "zeros": Init.Zeros(layer.Bias); break;
            case "pytorch": break;
            default: throw new ArgumentException($"unknown bias initialiser '{biasInit}' (normal, zeros, pytorch)");
        }
    }
}
