using Studies.Trials.Components;
using Studies.Trials.Data;
using Studies.Trials.Models;
using Studies.Trials.Training;

namespace Studies.Trials.Catalog;

/// <summary>
/// Every loss, model kind and data source a study may name. The study-file reader, the trainer and
/// the format documentation all read these registries, so a new component is one file (its class
/// with an <c>Entry</c>) plus one line below, or, for a loss or a data source, in the built-in registry
/// of its kind next to it (<see cref="PhaseLossFactory.BuiltIn"/>, <see cref="Data.DataSources.BuiltIn"/>),
/// which Training and Data fall back on without depending on this catalog above them.
/// </summary>
public sealed record ComponentCatalog(Registry<LossEntry> Losses, Registry<ModelEntry> Models, Registry<DataSourceEntry> DataSources)
{
    public static ComponentCatalog BuiltIn { get; } = new(
        PhaseLossFactory.BuiltIn,
        new Registry<ModelEntry>("model kind",
        [
            ModelKinds.Dnn,
            ModelKinds.Pnn,
            ModelKinds.AffinePnn,
            ModelKinds.PerMass,
            Boosting.BdtKind.Entry,
        ]),
        Data.DataSources.BuiltIn);

    /// <summary>The optimisers a phase may name.</summary>
    public Registry<OptimizerEntry> Optimizers { get; init; } = new("optimizer",
    [
        Training.Optimizers.Sgd,
        Training.Optimizers.Adam,
        Training.Optimizers.AdamW,
        Training.Optimizers.RAdam,
    ]);

    /// <summary>The rules <c>early_stopping.rule</c> may name; the first is the default.</summary>
    public Registry<StoppingRuleEntry> StoppingRules { get; init; } = new("stopping rule",
    [
        EarlyStopping.Entry,
        MinDeltaStopping.Entry,
    ]);

    public ComponentCatalog WithLoss(LossEntry entry) => this with { Losses = Losses.With(entry) };
    public ComponentCatalog WithModel(ModelEntry entry) => this with { Models = Models.With(entry) };
    public ComponentCatalog WithDataSource(DataSourceEntry entry) => this with { DataSources = DataSources.With(entry) };
    public ComponentCatalog WithOptimizer(OptimizerEntry entry) => this with { Optimizers = Optimizers.With(entry) };
    public ComponentCatalog WithStoppingRule(StoppingRuleEntry entry) => this with { StoppingRules = StoppingRules.With(entry) };
}
