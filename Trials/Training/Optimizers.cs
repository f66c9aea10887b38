using Studies.Trials.Components;
using Studies.Trials.Engine;
using Studies.Trials.Specs;
using AdamOptimizer = Studies.Trials.Engine.Adam;
using AdamWOptimizer = Studies.Trials.Engine.AdamW;
using RAdamOptimizer = Studies.Trials.Engine.RAdam;

namespace Studies.Trials.Training;

/// <summary>The optimisers of methods.md section 2, and how a phase's optimiser is built from the registry.</summary>
public static class Optimizers
{
    public static readonly OptimizerEntry Sgd = new("sgd", "Stochastic gradient descent with `momentum`.", (g, p) => new SGD(g, p.LearningRate, p.Momentum));
    public static readonly OptimizerEntry Adam = new("adam", "Adam (PyTorch's defaults besides the learning rate).", (g, p) => new AdamOptimizer(g, p.LearningRate));
    public static readonly OptimizerEntry AdamW = new("adamw", "AdamW, decoupled weight decay.", (g, p) => new AdamWOptimizer(g, p.LearningRate));
    public static readonly OptimizerEntry RAdam = new("radam", "Rectified Adam.", (g, p) => new RAdamOptimizer(g, p.LearningRate));

    /// <summary>
    /// A fresh optimiser for the phase, with kernels and biases in separate groups for their L2
    /// (methods.md section 2). Deviation, on purpose: an L2 penalty lambda*|w|^2 (Keras' meaning, as
    /// in the AffinePNN reference) is applied as weight decay 2*lambda, which has the same gradient.
    /// </summary>
    public static Optimizer Create(Registry<OptimizerEntry> registry, PhaseSpec phase, ModelSpec model, IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        var entry = registry.Get(phase.Optimizer);
        var kernels = parameters.Where(p => p.Name.EndsWith("weight", StringComparison.Ordinal)).Select(p => p.Parameter).ToList();
        var biases = parameters.Where(p => !p.Name.EndsWith("weight", StringComparison.Ordinal)).Select(p => p.Parameter).ToList();
        var groups = new List<ParamGroup> { new(kernels, phase.WeightDecay + 2 * model.L2Kernel) };
        if (biases.Count > 0) groups.Add(new ParamGroup(biases, phase.WeightDecay + 2 * model.L2Bias));
        return entry.Create(groups, phase);
    }
}
