using Microsoft.Extensions.DependencyInjection;
using Studies.Orchestrator.Hosting;
using Studies.Trials.Catalog;
using Studies.Trials.Data;
using Studies.Trials.Models;
using Studies.Trials.Results;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Tests.Components;

/// <summary>
/// Components added with <c>With()</c> are found everywhere a study goes: the reader, <c>studies check</c>'s data
/// check, the dry run's estimate, and the trial runner a worker builds from the composition root.
/// </summary>
public sealed class AddedComponentTests
{
    /// <summary>The Gaussian toy under another name, with a size estimate of its own: an added data source.</summary>
    private static readonly DataSourceEntry Copy = GaussianToy.Entry with { Name = "gaussian-copy", Size = _ => new DataSize(1234, 3) };

    /// <summary>An added model kind: the dnn with a multiply-add estimate of its own.</summary>
    private static readonly ModelEntry Tiny = ModelKinds.Dnn with { Name = "tiny", Defaults = ModelKinds.Dnn.Defaults with { Kind = "tiny" }, MultiplyAdds = (_, _) => 7 };

    private static readonly ComponentCatalog Catalog = ComponentCatalog.BuiltIn.WithDataSource(Copy).WithLoss(BrierLoss.Entry).WithModel(Tiny);

    private const string Study = """
        study: added
        data: {source: gaussian-copy, options: {masses: [-1, 0, 1], events_per_mass: 200, background_events: 600}}
        base:
          model: {kind: tiny, hidden: [4]}
          schedule: [{loss: brier, epochs: 2, lr: 0.01, batch: 256, early_stopping: {rule: min-delta, patience: 1, min_delta: 0.5}}]
        """;

    [Fact]
    public void The_data_check_of_studies_check_loads_an_added_data_source()
    {
        var study = StudyLoader.Parse(Study, "added.yaml", ".", components: Catalog);
        var results = StudyDataCheck.Run(StudyExpander.Expand(study), filesOnly: false, study.Components);
        Assert.Single(results);
        Assert.False(results[0].HasErrors, string.Join("; ", results[0].Problems));
        Assert.NotNull(results[0].Events);
        // Without the catalog the same trials name a source nobody knows.
        var builtIn = StudyDataCheck.Run(StudyExpander.Expand(study));
        Assert.Contains(builtIn[0].Problems, p => p.ToString().Contains("unknown data source 'gaussian-copy'", StringComparison.Ordinal));
    }

    [Fact]
    public void The_dry_run_takes_sizes_and_multiply_adds_from_the_registry_entries()
    {
        var study = StudyLoader.Parse(Study, "added.yaml", ".", components: Catalog);
        var spec = StudyExpander.Expand(study)[0].Spec;
        Assert.Equal(new DataSize(1234, 3), DryRun.EstimateData(spec.Data, study.Components));
        // 2 epochs x 7 multiply-adds x (3 x 0.6 + 1 x 0.2) x 1234 events at the assumed CPU throughput.
        Assert.Equal(2 * 7 * (3 * 0.6 + 0.2) * 1234 / DryRun.CpuMacsPerThreadSecond, DryRun.EstimateTrialSeconds(spec, study.Components), 12);
        // hepmass-toy (once missing from the dry run): 20,000 signal events at each of 5 masses, as many background, 11 features.
        Assert.Equal(new DataSize(200_000, 11), DryRun.EstimateData(new Trials.Specs.DataSpec { Source = "hepmass-toy" }));
    }

    [Fact]
    public void A_worker_built_by_the_composition_root_with_the_catalog_trains_the_added_components()
    {
        var study = StudyLoader.Parse(Study, "added.yaml", ".", components: Catalog);
        var spec = StudyExpander.Expand(study)[0].Spec;
        using var services = new ServiceCollection().AddSingleton(Catalog).AddTrialRunner().BuildServiceProvider();
        var result = services.GetRequiredService<ITrialRunner>().Run(spec, new TrialRunOptions(), CancellationToken.None);
        Assert.True(result.Outcome == TrialOutcome.Completed, result.Error);
        Assert.Equal(2, result.Epochs.Count);

        using var builtIn = new ServiceCollection().AddTrialRunner().BuildServiceProvider();
        var failed = builtIn.GetRequiredService<ITrialRunner>().Run(spec, new TrialRunOptions(), CancellationToken.None);
        Assert.Equal(TrialOutcome.Failed, failed.Outcome);
    }
}
