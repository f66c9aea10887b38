using Studies.Trials.Specs;

namespace Studies.Trials.Fusion;

/// <summary>
/// Which trials can share a fused step: the same data, model architecture, batch schedule and epochs
/// per phase. What may differ between members is what each member keeps for itself: the seed (its own
/// initial weights, split and batch order), learning rate, momentum and weight decay, loss options,
/// plateau, early stopping, keep-best and evaluation settings.
/// </summary>
public static class FusionKey
{
    /// <summary>Optimisers the pack implements per member (PyTorch's update rules, see <see cref="PackOptimizer"/>).</summary>
    public static readonly string[] Optimizers = ["adam", "sgd"];

    /// <summary>Model kinds built as a <see cref="Models.ConditionedMlp"/>, which the pack stacks.</summary>
    public static readonly string[] Models = ["dnn", "pnn", "affine-pnn"];

    /// <summary>The key of a trial's pack; null when the trial cannot be fused (it then runs alone, as always).</summary>
    public static string? Of(TrialSpec spec)
    {
        if (!Models.Contains(spec.Model.Kind) || spec.Model.Dropout > 0 || spec.Model.Boosting is not null) return null;
        if (spec.Schedule.Count == 0 || spec.Schedule.Any(p => !Optimizers.Contains(p.Optimizer))) return null;
        var shared = spec with
        {
            Seed = 0,
            Evaluation = new EvaluationSpec(),
            Schedule = spec.Schedule.Select(p => p with
            {
                LearningRate = 0, Momentum = 0, WeightDecay = 0, LossOptions = new(), Plateau = null, EarlyStopping = null, KeepBest = null,
            }).ToList(),
        };
        return SpecJson.Serialize(shared);
    }
}
