using Studies.Trials.Engine;
using Studies.Trials.Specs;

namespace Studies.Trials.Components;

/// <summary>
/// An optimiser a schedule phase may name (<c>optimizer</c>). <see cref="Create"/> gets the
/// parameter groups (kernels and biases apart, each with its weight decay) and the phase, whose
/// <c>learning_rate</c> and <c>momentum</c> it reads.
/// </summary>
public sealed record OptimizerEntry(string Name, string Doc, Func<IReadOnlyList<ParamGroup>, PhaseSpec, Optimizer> Create) : IComponentEntry
{
    public IReadOnlyList<OptionSpec> Options => [];
}
