using Studies.Trials.Engine;
using Studies.Trials.Specs;

namespace Studies.Trials.Models;

/// <summary>
/// A multilayer perceptron with optional mass conditioning, covering the AffinePNN authors'
/// general form: method concat | bias | scale | affine, place start | all | end.
/// <list type="bullet">
/// <item>concat: m~ is appended to the input of the first (start), every (all) or the output (end) dense layer;</item>
/// <item>bias: h + W m~ + b; scale: h * (W m~ + b); affine: h * (Ws m~ + bs) + (Wb m~ + bb), applied after dense + activation
/// of the first (start), every (all) or the last (end) hidden layer, before dropout.</item>
/// </list>
/// dnn = no conditioning, pnn = concat/start, affine-pnn = affine/all.
/// </summary>
public sealed class ConditionedMlp : ClassifierModel
{
    private readonly List<Linear> dense = new();
    private readonly List<(Linear? Scale, Linear? Shift)> modulation = new();
    private readonly List<bool> concatBefore = new();
    private readonly Dropout? dropout;
    private readonly string activation;
    private readonly ConditioningSpec? conditioning;

    public ConditionedMlp(int features, IReadOnlyList<int> hidden, string activation, double dropoutRate,
        ConditioningSpec? conditioning, Generator generator, string weightInit, string biasInit, Generator? dropoutGenerator = null)
    {
        // No hidden layer is the linear model: one dense layer from the inputs (and a concatenated mass) to the score.
        if (hidden.Count == 0 && conditioning is { Method: not "concat" })
            throw new ArgumentException($"a linear model (hidden: []) has no hidden layer to apply '{conditioning.Method}' conditioning to; use concat");
        if (activation is not ("tanh" or "relu")) throw new ArgumentException($"unknown activation '{activation}' (tanh, relu)");
        this.activation = activation;
        this.conditioning = conditioning;
        var method = conditioning?.Method;
        var place = conditioning?.Place;
        if (method is not (null or "concat" or "bias" or "scale" or "affine"))
            throw new ArgumentException($"unknown conditioning method '{method}' (concat, bias, scale, affine)");
        if (conditioning is not null && place is not ("start" or "all" or "end"))
            throw new ArgumentException($"unknown conditioning place '{place}' (start, all, end)");

        var widths = new[] { features }.Concat(hidden).Append(1).ToArray();
        var layers = widths.Length - 1; // hidden layers + output layer
        for (var l = 0; l < layers; l++)
        {
            var isOutput = l == layers - 1;
            var concat = method == "concat" && (place == "all" ? true : place == "start" ? l == 0 : isOutput);
            concatBefore.Add(concat);
            var layer = RegisterModule($"dense{l}", new Linear(widths[l] + (concat ? 1 : 0), widths[l + 1], generator));
            Initialise(layer, weightInit, biasInit, generator);
            dense.Add(layer);

            var hiddenIndex = l;
            var modulated = !isOutput && method is "bias" or "scale" or "affine" && !isOutput &&
                (place == "all" || (place == "start" && hiddenIndex == 0) || (place == "end" && hiddenIndex == hidden.Count - 1));
            Linear? scale = null, shift = null;
            if (modulated && method is "scale" or "affine")
            {
                scale = RegisterModule($"scale{l}", new Linear(1, widths[l + 1], generator));
                Initialise(scale, weightInit, biasInit, generator);
            }
            if (modulated && method is "bias" or "affine")
            {
                shift = RegisterModule($"shift{l}", new Linear(1, widths[l + 1], generator));
                Initialise(shift, weightInit, biasInit, generator);
            }
            if (!isOutput) modulation.Add((scale, shift));
        }
        if (dropoutRate > 0) dropout = RegisterModule("dropout", new Dropout(dropoutRate, dropoutGenerator ?? generator));
    }

    public override bool UsesMass => conditioning is not null;

    public override Tensor Logits(Tensor features, Tensor? scaledMass)
    {
        if (UsesMass && scaledMass is null) throw new ArgumentException("this model is parametric: it needs the mass of every event");
        var h = features;
        for (var l = 0; l < dense.Count; l++)
        {
            if (concatBefore[l]) h = Torch.Cat([h, scaledMass!], 1);
            h = dense[l].Forward(h);
            if (l == dense.Count - 1) break;
            h = activation == "tanh" ? h.Tanh() : h.Relu();
            var (scale, shift) = modulation[l];
            if (scale is not null) h = h * scale.Forward(scaledMass!);
            if (shift is not null) h = h + shift.Forward(scaledMass!);
            if (dropout is not null) h = dropout.Forward(h);
        }
        return h;
    }

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
