using System.Globalization;
using Studies.Reports.Analysis;
using Studies.Reports.Input;
using Studies.Reports.Rendering;
using Studies.Trials.Results;

namespace Studies.Reports.Tests.Analysis;

/// <summary>Issue 23's search views: optimisation history with pruned trials, parameter importance, the Pareto front, the verdict.</summary>
public sealed class SearchProgressTests
{
    /// <summary>A validation curve of roc_auc and sigma_min per epoch ending at <paramref name="auc"/> and <paramref name="sigma"/>.</summary>
    private static IReadOnlyList<EpochRecord> Curve(int epochs, double auc, double sigma) =>
        Enumerable.Range(1, epochs).Select(e => new EpochRecord(0, e, new Dictionary<string, double>
        {
            ["loss"] = 1.0 / e, ["roc_auc"] = auc - 0.1 / e, ["sigma_min_best_cut"] = sigma + 1.0 / e,
        })).ToList();

    /// <summary>Twelve trials: the objective is set by lr's decade alone (width does nothing); every fourth is pruned at epoch 3.</summary>
    private static StudyRecord Study(params string[] objectives)
    {
        var trials = new List<TrialRecord>();
        for (var i = 0; i < 12; i++)
        {
            var decade = i % 3;
            var axes = new Dictionary<string, string>
            {
                ["lr"] = Math.Pow(10, -4 + decade).ToString("R", CultureInfo.InvariantCulture), ["width"] = (i / 3 % 2 == 0 ? 8 : 32).ToString(CultureInfo.InvariantCulture),
            };
            var pruned = i % 4 == 3;
            var trial = Records.Completed($"trial{i:00}xxxx", axes, [Records.Mass(1, false, new Dictionary<string, double> { ["sigma_min_best_cut"] = 3 + decade }),
                Records.Mass(2, true, new Dictionary<string, double> { ["sigma_min_best_cut"] = 4 + decade })], Curve(10, 0.7 + 0.1 * decade, 3 - 0.5 * decade));
            trials.Add(pruned ? trial with { State = TrialState.Pruned, Error = "pruned at epoch 3: value at rung 0 outside the best 1/3" } : trial);
        }
        return new StudyRecord { Name = "s", IsSearch = true, Headline = "sigma_min_best_cut", SearchObjectives = objectives, Trials = trials };
    }

    [Fact]
    public void Values_take_each_trials_best_validation_epoch_and_a_pruned_one_only_up_to_its_epoch()
    {
        var values = SearchProgress.Values(Study("sigma_min_best_cut"));
        Assert.Equal(12, values.Count);
        // Lower is better: the last epoch's 3 - 0.5 d + 1/10 for a completed trial, epoch 3's for a pruned one.
        Assert.Equal(3 - 0.5 * 0 + 0.1, values[0].Values[0], 12);
        Assert.True(values[3].Pruned);
        Assert.Equal(3 - 0.5 * 0 + 1.0 / 3, values[3].Values[0], 12);
        // The best so far counts completed trials only.
        var best = SearchProgress.BestSoFar(values, "sigma_min_best_cut");
        Assert.Equal(values.Where(v => !v.Pruned).Min(v => v.Values[0]), best[^1], 12);
        Assert.Equal(3, TrialStates.PrunedEpoch(values[3].Trial.Error));
    }

    [Fact]
    public void Importance_gives_all_the_variance_to_the_parameter_that_sets_the_objective()
    {
        var study = Study("sigma_min_best_cut");
        var space = SearchSpaces.Build(MethodGroups.Build(new ReportInput { Studies = [study] }));
        var importance = SearchProgress.Importance(SearchProgress.Values(study), space.Axes).ToDictionary(i => i.Parameter, i => i.Importance);
        Assert.Equal(1.0, importance["lr"], 9);
        Assert.True(importance["width"] < 0.2, $"width {importance["width"]}");
    }

    [Fact]
    public void The_pareto_front_is_what_brute_force_dominance_leaves()
    {
        var random = new Random(3);
        var trials = Enumerable.Range(0, 30).Select(i => Records.Completed($"t{i:00}000000", new Dictionary<string, string> { ["x"] = $"{i}" }, [],
            Curve(1, random.Next(0, 6) / 10.0 + 0.5, random.Next(0, 6)))).ToList();
        var study = new StudyRecord { Name = "p", IsSearch = true, SearchObjectives = ["sigma_min_best_cut", "roc_auc"], Trials = trials };
        var values = SearchProgress.Values(study);
        var front = SearchProgress.ParetoFront(values, study.SearchObjectives).Select(v => v.Trial.TrialId).ToHashSet();
        // Brute force: lower sigma and higher AUC are better; a trial is on the front when none is at least as good in both and better in one.
        foreach (var v in values)
        {
            var dominated = values.Any(o => o.Values[0] <= v.Values[0] && o.Values[1] >= v.Values[1] && (o.Values[0] < v.Values[0] || o.Values[1] > v.Values[1]));
            Assert.Equal(!dominated, front.Contains(v.Trial.TrialId));
        }
        Assert.NotEmpty(front);
        Assert.Contains("Pareto front", Charts.ParetoFront(values, SearchProgress.ParetoFront(values, study.SearchObjectives), study.SearchObjectives).ToJsonString());
    }

    [Fact]
    public void The_report_shows_the_history_importance_and_pruned_trials_and_the_verdict_names_the_best_trial()
    {
        var study = Study("sigma_min_best_cut");
        var html = HtmlReport.Render(ReportComposer.Compose(new ReportInput { Studies = [study] }));
        Assert.Contains("Optimisation history", html);
        Assert.Contains("Parameter importance", html);
        Assert.Contains("9 trials completed, 3 pruned", html);
        var line = global::Studies.Reports.Verdict.Verdicts.VerdictLine(study);
        Assert.StartsWith("verdict s (search, validation sigma_min_best_cut, lower is better): 12 trials, 9 completed, 3 pruned; best trial trial02", line);
        Assert.Contains("test sigma_min_best_cut 5 trained, 6 held-out", line);
    }
}
