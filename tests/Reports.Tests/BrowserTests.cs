using System.Text.RegularExpressions;
using Studies.Reports.Browser;
using Studies.Reports.Input;

namespace Studies.Reports.Tests;

/// <summary>Renders synthetic reports in headless chromium: every chart must draw and no error may show.</summary>
public sealed partial class BrowserTests
{
    [Fact]
    public void EveryChartDrawsWithoutErrors()
    {
        var input = new ReportInput
        {
            Studies =
            [
                SyntheticStudies.Create(new SyntheticStudyShape { Name = "grid", Methods = 3, TrialsPerMethod = 4, Masses = 9, Epochs = 30, ScoreCurves = true }),
                SyntheticStudies.Create(new SyntheticStudyShape { Name = "search", Methods = 2, TrialsPerMethod = 12, Masses = 9, Epochs = 30, IsSearch = true, Seed = 2 }),
            ],
        };
        var dir = Path.Combine(AppContext.BaseDirectory, "browser-report");
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        var files = ReportBuilder.Write(input, dir);

        Assert.True(HeadlessChromium.IsInstalled(), HeadlessChromium.NotInstalled);
        var dom = HeadlessChromium.DumpDom(files.Html);

        var errors = ErrorsBlock().Match(dom);
        Assert.True(errors.Success, "the dumped DOM has no <pre id=\"errors\"> element");
        Assert.Equal("", errors.Groups[1].Value.Trim());

        var containers = ChartContainer().Matches(dom).Select(m => m.Groups[1].Value).ToList();
        // Four metric-vs-mass charts, loss/val_loss/roc_auc curves, parallel coordinates and three hyperparameter charts at least,
        // and the ROC and Z-versus-cut charts of the score curves at four masses.
        Assert.True(containers.Count >= 18, $"expected at least 18 chart containers, found {containers.Count}");
        Assert.Contains("title=\"ROC at m = ", dom);
        Assert.Contains("title=\"Z vs cut at m = ", dom);
        foreach (var id in containers)
        {
            var chart = ChartBody(dom, id);
            var svg = MarksSvg().Match(chart);
            Assert.True(svg.Success, $"chart {id} holds no <svg class=\"marks\">");
            Assert.True(DrawnShape().Matches(svg.Value).Count >= 3, $"chart {id} has an svg with almost nothing drawn in it");
        }
        Assert.Contains($"data-charts-done=\"{containers.Count}\"", dom);

        var png = Path.Combine(AppContext.BaseDirectory, "report.png");
        if (File.Exists(png)) File.Delete(png);
        HeadlessChromium.Screenshot(files.Html, png, 1400, 4000);
        Assert.True(new FileInfo(png).Length > 10_000, "the screenshot is suspiciously small");
    }

    [Fact]
    public void The_verdict_is_the_first_section_with_units_and_says_whether_it_is_resolved()
    {
        Assert.True(HeadlessChromium.IsInstalled(), HeadlessChromium.NotInstalled);
        // Unresolved: pnn − dnn per seed -1, +0.8, -0.5 (interval contains 0). Resolved: -1, -1.2, -0.9.
        foreach (var (name, gaps, resolved) in new[] { ("unresolved", new[] { -1, 0.8, -0.5 }, false), ("resolved", new[] { -1, -1.2, -0.9 }, true) })
        {
            var dir = Path.Combine(AppContext.BaseDirectory, "browser-verdict-" + name);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            var files = ReportBuilder.Write(new ReportInput { Studies = [VerdictReportTests.TwoMethods(name, gaps)] }, dir, writeCsv: false);
            var dom = HeadlessChromium.DumpDom(files.Html);
            var first = FirstSection().Match(dom);
            Assert.True(first.Success, "the rendered page has no <section>");
            var text = Regex.Replace(first.Groups[1].Value, "<[^>]+>", " ");
            Assert.StartsWith("Verdict", text.Trim());
            Assert.Contains("(fb)", text);
            Assert.Contains("GeV", text);
            if (resolved)
            {
                Assert.Contains("Trained masses: pnn best, resolved with 3 seeds", text);
                Assert.DoesNotContain("not resolved", text);
                Assert.Contains("class=\"best\"", first.Groups[1].Value);
            }
            else
            {
                Assert.Contains("Trained masses: not resolved with 3 seeds, pnn ahead", text);
                Assert.DoesNotContain("class=\"best\"", first.Groups[1].Value); // no star on an unresolved difference
            }
        }
    }

    [GeneratedRegex("<section[^>]*>(.*?)</section>", RegexOptions.Singleline)]
    private static partial Regex FirstSection();

    /// <summary>The markup of one chart container up to the next container or section end.</summary>
    private static string ChartBody(string dom, string id)
    {
        var start = dom.IndexOf($"id=\"{id}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"container {id} not found");
        var next = dom.IndexOf("class=\"chart\"", start + 1, StringComparison.Ordinal);
        return next < 0 ? dom[start..] : dom[start..next];
    }

    [GeneratedRegex("<pre id=\"errors\">(.*?)</pre>", RegexOptions.Singleline)]
    private static partial Regex ErrorsBlock();

    [GeneratedRegex("<div class=\"chart[^\"]*\" id=\"([^\"]+)\"")]
    private static partial Regex ChartContainer();

    [GeneratedRegex("<svg[^>]*class=\"marks\"[^>]*>.*?</svg>", RegexOptions.Singleline)]
    private static partial Regex MarksSvg();

    [GeneratedRegex("<path[^>]* d=\"M|<line |<text ")]
    private static partial Regex DrawnShape();
}
