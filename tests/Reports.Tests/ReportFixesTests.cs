using System.Globalization;
using System.Text.RegularExpressions;
using Studies.Reports.Analysis;
using Studies.Reports.Browser;
using Studies.Reports.Input;
using Studies.Reports.Rendering;
using Studies.Trials.Results;

namespace Studies.Reports.Tests;

/// <summary>
/// The report as a physicist reads it: per-mass numbers in report.md, a ranking whose held-out
/// column says which masses it averages (one table per held-out set), per-mass methods ranked
/// where they were evaluated, and held-out points drawn hollow on top of the trained ones.
/// </summary>
public sealed partial class ReportFixesTests
{
    private static readonly double[] Grid = [500, 750, 1000, 1250, 1500];
    private static readonly int[] Seeds = [1, 2, 3];

    /// <summary>A metric value that differs by method, seed, mass and held-out set, so any mix-up shows.</summary>
    private static double Value(string method, int seed, double mass, string holdout) =>
        0.6 + 0.0001 * mass + 0.01 * seed + (method == "pnn" ? 0.05 : 0) + (holdout == "b" ? 0.002 : 0);

    private static TrialRecord Trial(string method, int seed, string holdout, double[] heldout)
    {
        var masses = Grid.Select(m =>
        {
            var v = Value(method, seed, m, holdout);
            return Records.Mass(m, heldout.Contains(m), new Dictionary<string, double> { ["roc_auc"] = v, ["z_best"] = 10 * v });
        }).ToList();
        var axes = Records.Axes(method, seed);
        axes["data.holdout"] = holdout;
        return Records.Completed($"{method}-{holdout}-{seed}", axes, masses);
    }

    /// <summary>pnn and dnn under two held-out sets (a: 750, 1250; b: 1000), per-mass trained at every mass.</summary>
    private static StudyRecord Study() => new()
    {
        Name = "holdouts", CompareAxes = ["model.kind"], Headline = "roc_auc",
        Trials =
        [
            .. from method in new[] { "pnn", "dnn" }
               from holdout in new[] { ("a", new double[] { 750, 1250 }), ("b", new double[] { 1000 }) }
               from seed in new[] { 1, 2, 3 }
               select Trial(method, seed, holdout.Item1, holdout.Item2),
            .. new[] { 1, 2, 3 }.Select(seed => Trial("per-mass", seed, "none", [])),
        ],
    };

    private static string Mean(IEnumerable<double> values)
    {
        var xs = values.ToList();
        var mean = xs.Average();
        return Format.MeanStd(mean, Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Count - 1)));
    }

    [Fact]
    public void Report_md_carries_the_per_mass_numbers_of_the_records_with_held_out_masses_marked()
    {
        var dir = Directory.CreateTempSubdirectory("reports-per-mass-");
        try
        {
            var md = File.ReadAllText(ReportBuilder.Write(new ReportInput { Studies = [Study()] }, dir.FullName, writeCsv: false).Markdown);
            var lines = md.Split('\n');
            int caption = Array.FindIndex(lines, l => l.StartsWith("**roc_auc per method and mass", StringComparison.Ordinal));
            Assert.True(caption >= 0, "report.md has no per-mass roc_auc table");
            // A mass trained in some trials and held out in others gets a column for each role.
            Assert.Equal("| method | • 500 | • 750 | ◦ 750 | • 1000 | ◦ 1000 | • 1250 | ◦ 1250 | • 1500 |", lines[caption + 2]);
            string Row(string method) => lines.Skip(caption + 4).TakeWhile(l => l.StartsWith('|')).Single(l => l.StartsWith($"| {method} |", StringComparison.Ordinal));
            foreach (var method in new[] { "pnn", "dnn" })
            {
                var cells = Row(method).Split('|').Select(c => c.Trim().Replace("**★ ", "").Replace("**", "")).ToArray();
                // • 750 : only the "b" trials trained it; ◦ 750 : only the "a" trials held it out.
                Assert.Equal(Mean(Seeds.Select(s => Value(method, s, 750, "b"))), cells[3]);
                Assert.Equal(Mean(Seeds.Select(s => Value(method, s, 750, "a"))), cells[4]);
                Assert.Equal(Mean(Seeds.SelectMany(s => new[] { Value(method, s, 500, "a"), Value(method, s, 500, "b") })), cells[2]);
            }
            Assert.Contains("| per-mass | ", md);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_ranking_has_one_table_per_held_out_set_whose_columns_name_the_masses()
    {
        var methods = MethodGroups.Build(new ReportInput { Studies = [Study()] });
        var tables = Ranking.BuildPerHeldoutSet(methods, ["roc_auc"], "roc_auc");
        Assert.Equal(2, tables.Count);
        Assert.Equal([750.0, 1250], tables[0].HeldoutMasses);
        Assert.Equal([1000.0], tables[1].HeldoutMasses);
        Assert.Equal(["roc_auc (trained)", "roc_auc (held-out masses 750, 1250)"], tables[0].Columns.Select(c => c.Title));
        Assert.Equal("roc_auc (held-out mass 1000)", tables[1].Columns[1].Title);

        foreach (var (table, holdout, heldout) in new[] { (tables[0], "a", new double[] { 750, 1250 }), (tables[1], "b", new double[] { 1000 }) })
        {
            var pnn = table.Rows.Single(r => r.Method.Method == "pnn");
            Assert.Equal(3, pnn.Cells[1].Count);
            Assert.Equal(Seeds.Select(s => heldout.Average(m => Value("pnn", s, m, holdout))).Average(), pnn.Cells[1].Mean, 12);
            // The per-mass reference held nothing out: it is ranked on its values at these masses.
            var perMass = table.Rows.Single(r => r.Method.Method == "per-mass");
            Assert.True(perMass.AtHeldoutMasses);
            Assert.Equal(Seeds.Select(s => heldout.Average(m => Value("per-mass", s, m, "none"))).Average(), perMass.Cells[1].Mean, 12);
            Assert.Equal(["pnn", "dnn", "per-mass"], table.Rows.Select(r => r.Method.Method));
        }
    }

    [Fact]
    public void The_ranking_in_report_md_names_its_held_out_masses_and_marks_the_per_mass_reference()
    {
        var dir = Directory.CreateTempSubdirectory("reports-ranking-sets-");
        try
        {
            var md = File.ReadAllText(ReportBuilder.Write(new ReportInput { Studies = [Study()] }, dir.FullName, writeCsv: false).Markdown);
            Assert.Contains("**Ranking of the trials holding out 750, 1250 (test split, best epoch)**", md);
            Assert.Contains("**Ranking of the trials holding out 1000 (test split, best epoch)**", md);
            Assert.Contains("| roc_auc (held-out masses 750, 1250) |", md);
            Assert.Contains("| per-mass † |", md);
            Assert.Contains("† the method held no mass out", md);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Held_out_points_are_hollow_rings_drawn_after_the_filled_trained_dots_and_legend_swatches_are_opaque()
    {
        Assert.True(HeadlessChromium.IsInstalled(), HeadlessChromium.NotInstalled);
        var document = ReportComposer.Compose(new ReportInput { Studies = [Study()] });
        var chart = document.Sections.SelectMany(s => s.Blocks).OfType<Chart>().First(c => c.Title == "roc_auc vs mass");
        var dir = Directory.CreateTempSubdirectory("reports-markers-");
        try
        {
            var html = Path.Combine(dir.FullName, "chart.html");
            File.WriteAllText(html, HtmlReport.Render(new ReportDocument("held-out markers", [new Section("roc_auc vs mass", [chart])])));
            var dom = HeadlessChromium.DumpDom(html);
            Assert.Equal("", ErrorsBlock().Match(dom).Groups[1].Value.Trim());

            // Vega draws each layer as one group of marks, in layer order: later groups lie on top.
            var groups = SymbolGroups().Matches(dom).Select(m => m.Value).ToList();
            int filled = groups.FindIndex(g => Points().Matches(g).Count > 0 && !g.Contains("fill=\"transparent\"", StringComparison.Ordinal));
            int hollow = groups.FindIndex(g => g.Contains("fill=\"transparent\"", StringComparison.Ordinal));
            Assert.True(filled >= 0 && hollow > filled, "held-out (hollow) points must be drawn after the trained (filled) ones");
            // pnn and dnn held out 750, 1000, 1250 in some trials: three hollow rings each.
            Assert.Equal(6, Points().Matches(groups[hollow]).Count);

            var legend = LegendSymbols().Match(dom);
            Assert.True(legend.Success, "the chart has no legend symbols");
            Assert.DoesNotMatch("opacity=\"0\\.[0-9]+\"", legend.Value);
            Assert.Contains("held-out mass (not trained)", chart.Spec.ToJsonString());

            var png = Path.Combine(AppContext.BaseDirectory, "report-heldout-markers.png");
            HeadlessChromium.Screenshot(html, png, 1000, 640);
            Assert.True(new FileInfo(png).Length > 10_000, "the screenshot is suspiciously small");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [GeneratedRegex("<pre id=\"errors\">(.*?)</pre>", RegexOptions.Singleline)]
    private static partial Regex ErrorsBlock();

    [GeneratedRegex("<g class=\"mark-symbol role-mark[^\"]*\"[^>]*>.*?</g>", RegexOptions.Singleline)]
    private static partial Regex SymbolGroups();

    [GeneratedRegex("<path ")]
    private static partial Regex Points();

    [GeneratedRegex("<g class=\"mark-symbol role-legend-symbol[^\"]*\"[^>]*>.*?</g>", RegexOptions.Singleline)]
    private static partial Regex LegendSymbols();
}
