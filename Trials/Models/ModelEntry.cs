using Studies.Trials.Components;
using Studies.Trials.Engine;
using Studies.Trials.Specs;

namespace Studies.Trials.Models;

/// <summary>What a model is built from besides its spec.</summary>
/// <param name="Features">Input features (the mass input of a parametric net comes on top).</param>
/// <param name="TrainedScaledMasses">The trained masses divided by the mass scale.</param>
/// <param name="Generator">Draws the initial weights (on the CPU, before the model moves to its device).</param>
/// <param name="DropoutGenerator">Draws dropout masks on the model's device (null: <paramref name="Generator"/>).</param>
public sealed record ModelContext(int Features, IReadOnlyList<double> TrainedScaledMasses, Generator Generator, Generator? DropoutGenerator);

/// <summary>
/// A model kind (<c>model.kind</c>). <see cref="Defaults"/> is the spec a study starts from for this
/// kind (methods.md section 2): what the reader fills in for keys the study leaves out, so it is part
/// of every trial's identity and must not change for a registered kind.
/// </summary>
/// <param name="OwnConditioning">How a parametric kind feeds the mass in when <c>conditioning</c> is not written; null for kinds without a mass input.</param>
public sealed record ModelEntry(
    string Name, string Doc, ModelSpec Defaults, ConditioningSpec? OwnConditioning, IReadOnlyList<OptionSpec> Options,
    Func<ModelSpec, ModelContext, ClassifierModel> Create) : IComponentEntry
{
    public bool Parametric => OwnConditioning is not null;

    /// <summary>
    /// Multiply-adds of one forward pass of one event through all of the kind's nets, for the dry
    /// run's duration estimate; null: <see cref="MlpMultiplyAdds"/>, a conditioned MLP.
    /// </summary>
    public Func<ModelSpec, ModelSize, double>? MultiplyAdds { get; init; }

    /// <summary>The estimate for a spec of this kind.</summary>
    public double EstimateMultiplyAdds(ModelSpec spec, ModelSize size) => MultiplyAdds?.Invoke(spec, size) ?? MlpMultiplyAdds(spec, size, OwnConditioning);

    /// <summary>Dense layers, plus the mass input (concat), the per-unit bias or scale, or the affine map (2 per unit) of the conditioning.</summary>
    public static double MlpMultiplyAdds(ModelSpec spec, ModelSize size, ConditioningSpec? own)
    {
        var method = spec.Conditioning?.Method ?? own?.Method ?? "none";
        var width = size.Features + (method == "concat" ? 1 : 0);
        double total = 0;
        foreach (var h in spec.Hidden)
        {
            total += (double)width * h + (method is "affine" ? 2 * h : method is "bias" or "scale" ? h : 0);
            width = h;
        }
        return total + width;
    }
}

/// <summary>What a model's cost depends on besides its spec.</summary>
public sealed record ModelSize(int Features, int TrainedMasses);
