using Studies.Reports.Analysis;
using Studies.Reports.Figures;
using Studies.Reports.Input;
using Studies.Reports.Rendering;
using Studies.Trials.Results;

namespace Studies.Reports.Tests;

/// <summary>The seed papers' score figures: the means they draw, the masses they are drawn at, and what the report says and links.</summary>
public sealed class ScoreFiguresTests
{
    private static ScoreCurves Curves(double mass, bool heldout, double a, double b) => new()
    {
        Mass = mass, Heldout = heldout, Epoch = 5, BackgroundEfficiency = [0.01, 1], SignalEfficiency = [a, 1], Edges = [0, 0.5, 1],
        SignalHistogram = [a, b], BackgroundHistogram = [b, a], Significance = [a, double.NaN], WorkingCut = a, WorkingSignalEfficiency = b,
        WorkingBackgroundEfficiency = 0.01, ZCut = double.PositiveInfinity,
    };

    private static TrialRecord Trial(string id, string kind, int seed, params ScoreCurves[] curves)
    {
        var trial = Records.Completed(id, Records.Axes(kind, seed), [Records.Mass(1, false, new Dictionary<string, double> { [MetricNames.RocAuc] = 0.8 })]);
        return trial with { Result = trial.Result! with { Curves = curves } };
    }

    private static StudyRecord Study(params TrialRecord[] trials) => new() { Name = "s", CompareAxes = ["model.kind"], Headline = MetricNames.RocAuc, Trials = trials };

    [Fact]
    public void A_method_s_curves_are_the_element_wise_means_over_its_trials_that_recorded_them()
    {
        var input = new ReportInput
        {
            Studies = [Study(Trial("a", "dnn", 1, Curves(1, false, 0.2, 0.6)), Trial("b", "dnn", 2, Curves(1, false, 0.4, double.NaN)), Trial("c", "dnn", 3))],
        };
        var set = ScoreCurveSets.Build(MethodGroups.Build(input));
        Assert.Equal((2, 3, 1), (set.TrialsWithCurves, set.CompletedTrials, set.TrialsWithout));
        var mean = Assert.Single(set.Curves);
        Assert.Equal(2, mean.Trials);
        Assert.Equal([0.3, 1], mean.Mean.SignalEfficiency.Select(v => Math.Round(v, 12)));
        // NaN entries are left out of a mean rather than poisoning it; an infinite cut ("nothing passes") is no number to average.
        Assert.Equal([0.3, 0.6], mean.Mean.SignalHistogram.Select(v => Math.Round(v, 12)));
        Assert.Equal(0.3, mean.Mean.Significance[0], 12);
        Assert.True(double.IsNaN(mean.Mean.Significance[1]));
        Assert.Equal((0.3, 0.6), (Math.Round(mean.Mean.WorkingCut, 12), mean.Mean.WorkingSignalEfficiency));
        Assert.True(double.IsNaN(mean.Mean.ZCut));
        // Each seed's own working point (b's has no signal efficiency: left out).
        Assert.Equal([(0.01, 0.6)], set.Curves[0].WorkingPoints);
    }

    [Fact]
    public void Per_mass_figures_are_drawn_at_trained_and_held_out_masses_spread_over_the_range()
    {
        var trained = new[] { 1.0, 2, 3, 4, 5 };
        var heldout = new[] { 1.5, 2.5, 3.5 };
        var curves = trained.Select(m => Curves(m, false, 0.5, 0.5)).Concat(heldout.Select(m => Curves(m, true, 0.5, 0.5))).ToArray();
        var set = ScoreCurveSets.Build(MethodGroups.Build(new ReportInput { Studies = [Study(Trial("a", "dnn", 1, curves))] }));
        Assert.Equal([1.5, 2, 3.5, 4], ScoreCurveSets.FigureMasses(set, 4));
        Assert.Equal([1.0, 1.5, 2.5, 3, 3.5, 5], ScoreCurveSets.FigureMasses(set, 6));
        Assert.Equal(trained.Concat(heldout).Order(), ScoreCurveSets.FigureMasses(set, 20));
    }

    private static IReadOnlyList<Block> FiguresSection(ReportInput input) =>
        ReportComposer.Compose(input).Sections.Single(s => s.Title == ReportComposer.FiguresTitle).Blocks;

    [Fact]
    public void The_report_says_which_trials_lack_score_curves_instead_of_failing()
    {
        var none = FiguresSection(new ReportInput { Studies = [Study(Trial("a", "dnn", 1), Trial("b", "pnn", 1))] });
        Assert.Contains(none.OfType<Paragraph>(), p => p.Text.StartsWith("No completed trial recorded score curves", StringComparison.Ordinal));
        var some = FiguresSection(new ReportInput { Studies = [Study(Trial("a", "dnn", 1, Curves(1, false, 0.2, 0.6)), Trial("b", "pnn", 1))] });
        Assert.Contains(some.OfType<Paragraph>(), p => p.Text.StartsWith("1 of 2 completed trials were recorded by an earlier release", StringComparison.Ordinal));
        // And drawing figures from such a study simply leaves the score figures out.
        var dir = Directory.CreateTempSubdirectory("score-figures-").FullName;
        try
        {
            var input = new ReportInput { Studies = [Study(Trial("a", "dnn", 1), Trial("b", "pnn", 1))] };
            Assert.DoesNotContain(PaperFigures.Draw(input, dir, ["png"]), f => f.Stem.StartsWith("roc_m", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Written_figures_are_linked_from_report_html_and_report_md()
    {
        var dir = Directory.CreateTempSubdirectory("score-links-").FullName;
        try
        {
            var figure = new PaperFigure("roc_m1", "ROC at m = 1 GeV", ["figures/roc_m1.png", "figures/roc_m1.pdf"]);
            var input = new ReportInput { Studies = [Study(Trial("a", "dnn", 1, Curves(1, false, 0.2, 0.6)))], Figures = [figure] };
            var files = ReportBuilder.Write(input, dir, writeCsv: false);
            var html = File.ReadAllText(files.Html);
            Assert.Contains("<img src=\"figures/roc_m1.png\"", html);
            Assert.Contains("<a href=\"figures/roc_m1.pdf\">pdf</a>", html);
            var md = File.ReadAllText(files.Markdown);
            Assert.Contains("![ROC at m = 1 GeV](figures/roc_m1.png)", md);
            Assert.Contains("[pdf](figures/roc_m1.pdf)", md);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
