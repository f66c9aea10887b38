using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Studies.Reports.Browser;
using Studies.Reports.Input;

namespace Studies.Reports;

/// <summary>
/// Times report generation and first paint on a large synthetic search: 1,000 trials (4 methods x
/// 250 seeds and hyperparameter points, 20 of them failed, diverged or interrupted) x 50 masses
/// (25 held out) x 100 epochs. Targets: generation under 10 s, first chart under 3 s.
/// </summary>
public static partial class ReportBenchmark
{
    public static readonly SyntheticStudyShape Shape = new()
    {
        Name = "benchmark", Methods = 4, TrialsPerMethod = 245, ProblemTrialsPerMethod = 5, Masses = 50, HeldoutEvery = 2, Epochs = 100, IsSearch = true,
    };

    /// <summary>Runs the benchmark, writing into <paramref name="outDir"/> (a temporary folder, removed afterwards, when null).</summary>
    public static void Run(TextWriter output, string? outDir = null)
    {
        var temporary = outDir is null;
        var dir = outDir ?? Directory.CreateTempSubdirectory("studies-report-benchmark-").FullName;
        try
        {
            var clock = Stopwatch.StartNew();
            var study = SyntheticStudies.Create(Shape);
            output.WriteLine(Invariant($"synthesised {study.Trials.Count} trials x {Shape.Masses} masses x {Shape.Epochs} epochs in {clock.Elapsed.TotalSeconds:0.00} s"));

            clock.Restart();
            var files = ReportBuilder.Write(new ReportInput { Studies = [study] }, dir);
            var generation = clock.Elapsed.TotalSeconds;
            output.WriteLine(Invariant($"generated report.html, report.md and CSVs in {generation:0.00} s"));
            output.WriteLine(Invariant($"report.html: {new FileInfo(files.Html).Length / 1e6:0.00} MB; mass_metrics.csv: {new FileInfo(Path.Combine(dir, CsvExport.MassMetricsFile)).Length / 1e6:0.0} MB"));

            if (!HeadlessChromium.IsInstalled())
            {
                output.WriteLine(HeadlessChromium.NotInstalled);
                output.WriteLine(Invariant($"report: generated in {generation:0.00} s, first chart not measured"));
                return;
            }
            clock.Restart();
            var dom = HeadlessChromium.DumpDom(files.Html, virtualTimeBudgetMs: 60000);
            var browser = clock.Elapsed.TotalSeconds;
            var first = Attribute(dom, "data-first-chart-ms") / 1000;
            var all = Attribute(dom, "data-all-charts-ms") / 1000;
            var errors = ErrorsBlock().Match(dom) is { Success: true } m ? m.Groups[1].Value.Trim() : "(no errors element)";
            output.WriteLine(Invariant($"chromium: first chart drawn {first:0.00} s after navigation, all {CountCharts(dom)} charts by {all:0.00} s; whole browser run {browser:0.0} s"));
            if (errors.Length > 0) output.WriteLine($"page errors: {errors}");
            output.WriteLine(Invariant($"report: generated in {generation:0.00} s, first chart in {first:0.00} s"));
        }
        finally
        {
            if (temporary) Directory.Delete(dir, recursive: true);
        }
    }

    private static double Attribute(string dom, string name)
    {
        var m = Regex.Match(dom, name + "=\"([^\"]+)\"");
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN;
    }

    private static int CountCharts(string dom) => Regex.Matches(dom, "<div class=\"chart[^\"]*\" id=").Count;

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex("<pre id=\"errors\">(.*?)</pre>", RegexOptions.Singleline)]
    private static partial Regex ErrorsBlock();
}
