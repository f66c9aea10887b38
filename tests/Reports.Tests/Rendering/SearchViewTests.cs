using System.Globalization;
using Studies.Reports.Analysis;
using Studies.Reports.Input;
using Studies.Reports.Rendering;

namespace Studies.Reports.Tests.Rendering;

/// <summary>Issue 28's search views: log axes, numeric widths in order, score colouring, best configurations, no "all trials" ranking.</summary>
public sealed class SearchViewTests
{
    /// <summary>A pure search: lr log-uniform on [1e-3, 3e-2], hidden widths as lists; AUC = 0.9 - |log10(lr / 1e-2)| / 10.</summary>
    private static StudyRecord Search()
    {
        string[] widths = ["[128]", "[16, 8]", "[32]"];
        var trials = new List<TrialRecord>();
        for (var i = 0; i < 9; i++)
        {
            var lr = 1e-3 * Math.Pow(30, i / 8.0);
            var axes = new Dictionary<string, string>
            {
                ["optimizer.lr"] = lr.ToString("R", CultureInfo.InvariantCulture), ["model.hidden"] = widths[i % 3], ["seed"] = "1",
            };
            var auc = 0.9 - Math.Abs(Math.Log10(lr / 1e-2)) / 10;
            trials.Add(Records.Completed($"t{i}", axes, [Records.Mass(1, false, new Dictionary<string, double> { ["roc_auc"] = auc })]));
        }
        return new StudyRecord { Name = "search", Headline = "roc_auc", IsSearch = true, Trials = trials };
    }

    [Fact]
    public void Widths_sort_numerically_and_a_one_and_a_half_decade_lr_is_drawn_log()
    {
        var space = SearchSpaces.Build(MethodGroups.Build(new ReportInput { Studies = [Search()] }));
        var hidden = space.Axes.Single(a => a.Name == "model.hidden");
        Assert.Equal(["[16, 8]", "[32]", "[128]"], hidden.Categories);
        Assert.True(space.Axes.Single(a => a.Name == "optimizer.lr").LogScale);
        var spec = Charts.ParallelCoordinates(space, "roc_auc");
        Assert.Contains("\"color\":{\"field\":\"score\"", spec.ToJsonString());
    }

    [Fact]
    public void A_pure_search_shows_its_best_configurations_instead_of_ranking_all_trials_as_one_method()
    {
        var md = MarkdownReport.Render(ReportComposer.Compose(new ReportInput { Studies = [Search()] }));
        Assert.DoesNotContain("**Ranking (test split", md);
        Assert.Contains("A pure hyperparameter search (no methods compared). Best configuration: ", md);
        var table = md[md.IndexOf("**Best configurations", StringComparison.Ordinal)..];
        var rows = table.Split('\n').Skip(4).TakeWhile(l => l.StartsWith('|')).ToList();
        Assert.Equal(9, rows.Count);
        // Best first: the lr closest to 1e-2 in decades, found by brute force.
        var best = Enumerable.Range(0, 9).MinBy(i => Math.Abs(Math.Log10(1e-3 * Math.Pow(30, i / 8.0) / 1e-2)));
        Assert.StartsWith("| 1 | all trials |", rows[0]);
        Assert.EndsWith($"| t{best} |", rows[0]);
        var scores = rows.Select(r => double.Parse(r.Split('|', StringSplitOptions.TrimEntries)[^3], CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(scores.OrderByDescending(x => x), scores);
    }
}
