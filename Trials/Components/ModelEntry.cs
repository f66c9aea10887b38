using Studies.Trials.Engine;
using Studies.Trials.Models;
using Studies.Trials.Specs;

namespace Studies.Trials.Components;

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
}
