using Studies.Trials.Components;
using Studies.Trials.Models;
using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>What a loss is built from: the phase (with its options), the set it is computed on, and the model.</summary>
/// <param name="BalancedBatches">Batches are drawn balanced (every event weighs 1); false on the validation set.</param>
public sealed record LossContext(PhaseSpec Phase, TrainingSet Set, ClassifierModel Model, bool BalancedBatches);

/// <summary>
/// A loss a schedule phase may name. Its options are written in the phase or under
/// <c>loss_options</c> and reach <see cref="Create"/> in <see cref="PhaseSpec.LossOptions"/>, already
/// checked against <see cref="Options"/>.
/// </summary>
public sealed record LossEntry(string Name, string Doc, IReadOnlyList<OptionSpec> Options, Func<LossContext, IPhaseLoss> Create)
    : IComponentEntry;
