using System.Text.Json.Nodes;
using Studies.Orchestrator.Dashboard;
using Studies.Reports;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Dashboard;

/// <summary>
/// A recorded two-objective search seen through the dashboard (issue 23): its study view counts pruned trials as pruned,
/// not as problems, and its charts are the report's search views (optimisation history with pruned trials marked and the
/// best so far, parallel coordinates, parameter importance, one slice per parameter, the Pareto front), redrawn when a
/// trial is pruned.
/// </summary>
public sealed class DashboardSearchViewTests
{
    private const string StudyName = "dash-search";
    private const int PrunedAt = 4;

    private static StudyRecord Search()
    {
        var study = SyntheticStudies.Create(new SyntheticStudyShape
        {
            Name = StudyName, Methods = 2, TrialsPerMethod = 9, ProblemTrialsPerMethod = 0, Masses = 4, Epochs = 12, IsSearch = true,
        });
        // Every third trial stopped by the pruner after epoch 4, as a search records it: epochs up to there, no final result.
        var trials = study.Trials.Select((t, i) => i % 3 != 2 ? t : t with
        {
            State = TrialState.Pruned,
            Error = TrialStates.PrunedError(PrunedAt, "value outside the best 1/3 at rung 0"),
            Result = t.Result! with { Epochs = [.. t.Result!.Epochs.Where(e => e.Epoch <= PrunedAt)] },
        }).ToList();
        return study with { Trials = trials, SearchObjectives = [MetricNames.RocAuc, MetricNames.ValidationLoss] };
    }

    [Fact]
    public async Task A_search_shows_its_pruned_trials_as_pruned_and_the_reports_search_views()
    {
        using var workspace = new DashboardWorkspace();
        var study = Search();
        var pruned = study.Trials.Count(t => t.State == TrialState.Pruned);
        await using (var store = await workspace.OpenAsync()) await DashboardBenchmark.RecordAsync(store, study);
        await using var dashboardStore = workspace.Store();
        var views = new DashboardViews(dashboardStore, readOnly: true);

        var view = (await views.StudyAsync(StudyName, CancellationToken.None))!;
        Assert.Equal(pruned, view["counts"]![TrialState.Pruned.Name()]!.GetValue<int>());
        Assert.Equal(pruned, view["trials"]!.AsArray().Count(t => t!["state"]!.GetValue<string>() == "pruned"));
        Assert.DoesNotContain(view["failures"]!.AsArray(), f => f!["state"]!.GetValue<string>() == "pruned");
        Assert.Equal(study.Trials.Count, view["chartsVersion"]!.GetValue<int>());

        var charts = JsonNode.Parse((await views.ChartsAsync(StudyName, CancellationToken.None))!)!["charts"]!.AsArray()
            .Where(c => c!["section"]!.GetValue<string>() == "Hyperparameter search").ToList();
        var titles = charts.Select(c => c!["title"]!.GetValue<string>()).ToList();
        Assert.Contains("Optimisation history", titles);
        Assert.Contains("Parallel coordinates", titles);
        Assert.Contains("Parameter importance", titles);
        Assert.Contains("Pareto front", titles);
        foreach (var parameter in new[] { "optimizer.lr", "model.hidden", "optimizer.kind" })
            Assert.Contains(titles, t => t.EndsWith($" vs {parameter}", StringComparison.Ordinal));

        // The history draws every completed and pruned trial, the pruned ones as such, and a best-so-far line over completed ones.
        var history = charts.Single(c => c!["title"]!.GetValue<string>() == "Optimisation history")!["spec"]!["data"]!["values"]!.AsArray();
        Assert.Equal(study.Trials.Count, history.Count);
        Assert.Equal(pruned, history.Count(r => r!["state"]!.GetValue<string>() == "pruned"));
        var completedAuc = study.Trials.Where(t => t.State == TrialState.Completed).Max(t => t.Result!.Epochs.Max(e => e.Metrics[MetricNames.RocAuc]));
        Assert.Equal(completedAuc, history.Max(r => r!["best"]?.GetValue<double>() ?? double.NaN), 12);
    }
}
