using System.Globalization;
using System.Text;
using Studies.Orchestrator.Bench;
using Studies.Orchestrator.Search.Pruners;
using Studies.Orchestrator.Search.Samplers;

namespace Studies.Orchestrator.Tests.Search;

public sealed class SearchBenchmarkTests
{
    /// <summary>A table of the benchmark's grid whose curves fall to a floor set by the learning rate.</summary>
    private static Dictionary<SearchBenchmark.GridPoint, double[]> Table()
    {
        var text = new StringBuilder("schedule,lr,width,depth,batch,step,val_headline,val_loss\n");
        foreach (var s in new[] { "bce", "punzi" })
        foreach (var lr in new[] { 3.0e-4, 1.0e-3, 3.0e-3, 1.0e-2, 3.0e-2 })
        foreach (var w in new[] { 8, 32 })
        foreach (var d in new[] { 1, 2, 3 })
        foreach (var b in new[] { 256, 2048 })
        for (var step = 1; step <= 24; step++)
        {
            var value = lr == 3.0e-2 && s == "punzi" ? double.NaN : 10 + Math.Abs(Math.Log10(lr) + 2.5) + 0.1 * d + 20.0 / step;
            text.Append(CultureInfo.InvariantCulture, $"{s},{lr:R},{w},{d},{b},{step},{(double.IsNaN(value) ? "nan" : value.ToString("R", CultureInfo.InvariantCulture))},0.3\n");
        }
        return SearchBenchmark.LoadTable(new StringReader(text.ToString()));
    }

    [Fact]
    public void Proposals_snap_to_the_nearest_grid_point_on_the_search_scale()
    {
        var p = new Dictionary<string, double> { ["schedule"] = 1, ["lr"] = 5.0e-3, ["width"] = 16, ["depth"] = 2, ["batch"] = 700 };
        // 5e-3 is nearer 3e-3 than 1e-2 in log; 16 is exactly between 8 and 32 in log (the smaller wins); 700 is nearer 256 than 2048 in log.
        Assert.Equal(new SearchBenchmark.GridPoint("punzi", 3.0e-3, 8, 2, 256), SearchBenchmark.Snap(p));
    }

    [Fact]
    public void A_search_replays_recorded_curves_and_pruning_spends_fewer_epochs()
    {
        var table = Table();
        Assert.Equal(120, table.Count);
        var (best, epochs) = SearchBenchmark.Search(table, new TpeSampler(), new NoPruner(), 30, 1);
        // Diverged points fail at their first epoch; every other trial runs all 24.
        Assert.InRange(epochs, 24 * 20, 24 * 30);
        Assert.True(best >= table.Values.Where(c => !double.IsNaN(c[^1])).Min(c => c[^1]));
        var (_, prunedEpochs) = SearchBenchmark.Search(table, new TpeSampler(), new SuccessiveHalvingPruner(1, 3), 30, 1);
        Assert.True(prunedEpochs < epochs / 2, $"{prunedEpochs} pruned against {epochs} epochs");
        Assert.Equal(SearchBenchmark.Search(table, new TpeSampler(), new NoPruner(), 30, 1), (best, epochs));
    }

    [Fact]
    public void A_named_pruner_is_built_by_the_registry_with_its_options_and_the_same_rule_is_asked_of_Optuna()
    {
        var (label, pruner, optuna) = SearchBenchmark.ParsePruner("asha:min_epochs=3,reduction=2", 24);
        Assert.Equal("asha:min_epochs=3,reduction=2", label);
        var asha = Assert.IsType<SuccessiveHalvingPruner>(pruner);
        Assert.Equal((3, 2), (asha.MinResource, asha.ReductionFactor));
        Assert.Equal("asha:3:2", optuna);
        Assert.Equal("median:5:4", SearchBenchmark.ParsePruner("median:warmup_epochs=4", 24).Optuna);
        Assert.Null(SearchBenchmark.ParsePruner("hyperband", 24).Optuna);
        Assert.Contains("no pruner 'ashaa'", Assert.Throws<ArgumentException>(() => SearchBenchmark.ParsePruner("ashaa", 24)).Message);
        Assert.Contains("'min_epoch=3' is not one of asha's options", Assert.Throws<ArgumentException>(() => SearchBenchmark.ParsePruner("asha:min_epoch=3", 24)).Message);
    }

    [Fact]
    public void A_completed_trial_scores_its_best_epoch_as_a_search_does()
    {
        Assert.Equal(2.0, SearchBenchmark.Score([5, 2, double.NaN, 3]));
        Assert.True(double.IsNaN(SearchBenchmark.Score([double.NaN])));
    }
}
