using Studies.Trials.Components;
using Studies.Trials.Engine;
using Studies.Trials.Models;
using Studies.Trials.Specs;

namespace Studies.Trials.Catalog;

/// <summary>Builds the model a <see cref="ModelSpec"/> names, through the catalog's model registry.</summary>
public static class ModelFactory
{
    /// <param name="generator">Draws the initial weights (on the CPU, before the model moves to its device).</param>
    /// <param name="dropoutGenerator">Draws dropout masks; must live on the device the model runs on (default: <paramref name="generator"/>).</param>
    public static ClassifierModel Create(ModelSpec spec, int features, IReadOnlyList<double> trainedScaledMasses, Generator generator,
        Generator? dropoutGenerator = null, Registry<ModelEntry>? models = null) =>
        (models ?? ComponentCatalog.BuiltIn.Models).Get(spec.Kind)
            .Create(spec, new ModelContext(features, trainedScaledMasses, generator, dropoutGenerator));
}
