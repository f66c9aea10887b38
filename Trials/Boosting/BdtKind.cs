using Studies.Trials.Components;
using Studies.Trials.Models;
using Studies.Trials.Specs;

namespace Studies.Trials.Boosting;

/// <summary>The <c>bdt</c> model kind's registry entry: its defaults and the options a study may set.</summary>
public static class BdtKind
{
    private static readonly BoostingSpec Reference = new();

    public static readonly ModelEntry Entry = new(BdtTrainer.Kind,
        "Boosted decision trees (LightGBM through ML.NET) on the log-loss: parametric (the mass as a feature) or one per trained mass (`per_mass: true`).",
        new ModelSpec { Kind = BdtTrainer.Kind, Boosting = Reference }, null,
        [
            OptionSpec.Count("trees", "Boosting rounds (one tree each); the training curve has one point per round.", Reference.Trees.ToString()),
            new OptionSpec("depth", OptionType.Integer, "Maximum depth of a tree.") { Min = 1, Max = 17, Default = Reference.Depth.ToString() },
            new OptionSpec("learning_rate", OptionType.Number, "Shrinkage of every tree's leaf values.") { Min = 0, MinExclusive = true, Max = 1, Default = OptionSpec.Format(Reference.LearningRate) },
            new OptionSpec("leaves", OptionType.Integer, "Maximum leaves of a tree (trees grow leaf-wise up to `depth`).") { Min = 2, Max = 131_072, Default = "2^depth" },
            OptionSpec.Count("min_events_per_leaf", "Fewest training events in a leaf.", Reference.MinEventsPerLeaf.ToString()),
            new OptionSpec("bins", OptionType.Integer, "Histogram bins per feature.") { Min = 2, Max = 65_535, Default = Reference.Bins.ToString() },
            new OptionSpec("per_mass", OptionType.Boolean, "One ensemble per trained mass, on its signal and the background whose assigned mass is nearest to it (as `per-mass` nets); a mass is scored by the nearest one. `false`: one parametric ensemble with the mass as a feature.") { Default = "false" },
            OptionSpec.Choice("background_mass", ["identical", "uniform", "stored"], "Mass given to background, as for nets: drawn from the trained masses, a continuous range, or the file's own mass column (stored).", "identical"),
            OptionSpec.Choice("background_mass_mode", ["fixed"], "Background masses are assigned once (the trees are fitted once; the nets' redraws do not apply).", "fixed"),
            new OptionSpec("standardize", OptionType.Boolean, "Standardise the inputs over the training split as for nets (trees do not depend on it beyond the bin edges).") { Default = "true" },
        ],
        (_, _) => throw new InvalidOperationException("a bdt is fitted by BdtTrainer, not built as a net"));
}
