using Studies.Trials.Engine;
using Studies.Trials.Specs;

namespace Studies.Trials.Models;

/// <summary>Builds the model a <see cref="ModelSpec"/> names, with the kind's reference defaults (methods.md section 2).</summary>
public static class ModelFactory
{
    public static readonly string[] Kinds = ["dnn", "pnn", "affine-pnn", "per-mass"];

    /// <param name="generator">Draws the initial weights (on the CPU, before the model moves to its device).</param>
    /// <param name="dropoutGenerator">Draws dropout masks; must live on the device the model runs on (default: <paramref name="generator"/>).</param>
    public static ClassifierModel Create(ModelSpec spec, int features, IReadOnlyList<double> trainedScaledMasses, Generator generator,
        Generator? dropoutGenerator = null)
    {
        var weightInit = spec.WeightInit ?? spec.Kind switch { "dnn" or "per-mass" => "kaiming-normal", "affine-pnn" => "xavier-uniform", _ => "pytorch" };
        var biasInit = spec.BiasInit ?? spec.Kind switch { "dnn" or "per-mass" => "normal", "affine-pnn" => "zeros", _ => "pytorch" };
        ConditionedMlp Mlp(ConditioningSpec? conditioning) =>
            new(features, spec.Hidden, spec.Activation, spec.Dropout, conditioning, generator, weightInit, biasInit, dropoutGenerator);

        return spec.Kind switch
        {
            "dnn" => Mlp(null),
            "pnn" => Mlp(spec.Conditioning ?? new ConditioningSpec("concat", "start")),
            "affine-pnn" => Mlp(spec.Conditioning ?? new ConditioningSpec("affine", "all")),
            "per-mass" => new PerMassEnsemble(trainedScaledMasses, _ => Mlp(null)),
            _ => throw new ArgumentException($"unknown model kind '{spec.Kind}' ({string.Join(", ", Kinds)})"),
        };
    }
}
