using System.Globalization;
using Studies.Reports.Analysis;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports.Tests.Analysis;

/// <summary>The ranking table's numbers against the same statistics computed by hand from the records.</summary>
public sealed class RankingTests
{
    private static readonly double[] Masses = [1, 2, 3, 4, 5];
    private static readonly HashSet<double> Heldout = [2, 4];
    private static readonly string[] Metrics = ["sigma_min_best_cut", "roc_auc"];

    /// <summary>Three methods x four seeds with random metric values; validation and last-epoch decoys far off.</summary>
    private static StudyRecord RandomStudy(Random rng, out Dictionary<(string Method, string Metric, bool Heldout), List<double>> perTrialMeans)
    {
        perTrialMeans = [];
        var trials = new List<TrialRecord>();
        foreach (var (method, scale) in new[] { ("dnn", 3.0), ("pnn", 1.0), ("affine-pnn", 2.0) })
        {
            for (var seed = 1; seed <= 4; seed++)
            {
                var masses = new List<MassMetrics>();
                var values = new Dictionary<(string, bool), List<double>>();
                foreach (var m in Masses)
                {
                    var metrics = new Dictionary<string, double>();
                    foreach (var metric in Metrics)
                    {
                        var v = metric == "roc_auc" ? 0.5 + 0.5 * rng.NextDouble() / scale : scale * (1 + rng.NextDouble());
                        metrics[metric] = v;
                        var key = (metric, Heldout.Contains(m));
                        if (!values.TryGetValue(key, out var list)) values[key] = list = [];
                        list.Add(v);
                    }
                    masses.Add(Records.Mass(m, Heldout.Contains(m), metrics));
                    var decoy = Metrics.ToDictionary(k => k, _ => 1000.0);
                    masses.Add(Records.Mass(m, Heldout.Contains(m), decoy, SplitKind.Validation));
                    masses.Add(Records.Mass(m, Heldout.Contains(m), decoy, kind: EpochKind.Last));
                }
                trials.Add(Records.Completed($"{method}-{seed}", Records.Axes(method, seed), masses));
                foreach (var ((metric, heldout), list) in values)
                {
                    var key = (method, metric, heldout);
                    if (!perTrialMeans.TryGetValue(key, out var means)) perTrialMeans[key] = means = [];
                    means.Add(list.Sum() / list.Count);
                }
            }
        }
        // A failed trial of the best method must not count.
        trials.Add(new TrialRecord { TrialId = "pnn-9", State = TrialState.Failed, Axes = Records.Axes("pnn", 9), Error = "boom" });
        return new StudyRecord { Name = "random", CompareAxes = ["model.kind"], Headline = "sigma_min_best_cut", Trials = trials };
    }

    private static (double Mean, double Std) ByHand(List<double> xs)
    {
        var mean = xs.Sum() / xs.Count;
        return (mean, Math.Sqrt(xs.Sum(x => (x - mean) * (x - mean)) / (xs.Count - 1)));
    }

    [Theory]
    [InlineData(0.88153, 0.00132, "0.8815 ± 0.0013")]
    [InlineData(2.595, 0.07213, "2.595 ± 0.072")]
    [InlineData(1234.4, 56.2, "1234 ± 56")]
    [InlineData(123456, 7890, "123500 ± 7900")]
    [InlineData(0.8815, 6.995e-06, "0.8815 ± 7E-06")]
    [InlineData(3.5, 0, "3.5 ± 0")]
    public void Mean_and_spread_are_quoted_to_the_precision_of_the_spread(double mean, double std, string expected) =>
        Assert.Equal(expected, Studies.Reports.Rendering.Format.MeanStd(mean, std));

    [Fact]
    public void CellsAreMeanAndSampleStdOverSeedsOfPerTrialMassAverages()
    {
        var study = RandomStudy(new Random(20240611), out var expected);
        var methods = MethodGroups.Build(new ReportInput { Studies = [study] });
        var table = Ranking.Build(methods, Metrics, "sigma_min_best_cut");

        Assert.Equal(4, table.Columns.Count);
        Assert.Equal(3, table.Rows.Count);
        foreach (var row in table.Rows)
        {
            for (var c = 0; c < table.Columns.Count; c++)
            {
                var column = table.Columns[c];
                var (mean, std) = ByHand(expected[(row.Method.Method, column.Metric, column.Heldout)]);
                Assert.Equal(4, row.Cells[c].Count);
                Assert.Equal(mean, row.Cells[c].Mean, 12);
                Assert.Equal(std, row.Cells[c].Std, 12);
            }
        }
        // sigma_min: lower is better, and pnn was drawn on the smallest scale.
        Assert.Equal(["pnn", "affine-pnn", "dnn"], table.Rows.Select(r => r.Method.Method));
        var heldoutSigma = table.Columns.ToList().FindIndex(c => c is { Metric: "sigma_min_best_cut", Heldout: true });
        Assert.Equal(heldoutSigma, table.HeadlineColumn);
        Assert.Equal(0, table.BestRowPerColumn[heldoutSigma]);
        var trainedAuc = table.Columns.ToList().FindIndex(c => c is { Metric: "roc_auc", Heldout: false });
        var aucMeans = table.Rows.Select(r => r.Cells[trainedAuc].Mean).ToList();
        Assert.Equal(aucMeans.IndexOf(aucMeans.Max()), table.BestRowPerColumn[trainedAuc]);
    }

    [Fact]
    public void TheMarkdownAndHtmlTablesShowTheComputedNumbers()
    {
        var study = RandomStudy(new Random(7), out var expected);
        var dir = Directory.CreateTempSubdirectory("reports-ranking-");
        try
        {
            var files = ReportBuilder.Write(new ReportInput { Studies = [study] }, dir.FullName, writeCsv: false);
            var md = File.ReadAllText(files.Markdown);
            var html = File.ReadAllText(files.Html);
            foreach (var ((method, metric, heldout), means) in expected)
            {
                var (mean, std) = ByHand(means);
                var text = Studies.Reports.Rendering.Format.MeanStd(mean, std);
                var rankingRow = md.Split('\n').Single(l => l.StartsWith("| ", StringComparison.Ordinal) && l.Contains($"| {method} | 4/", StringComparison.Ordinal));
                Assert.Contains(text, rankingRow);
                Assert.Contains(text, html);
            }
            Assert.Contains("| pnn-9 | failed |", md);
            Assert.Contains("boom", md);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void TwoStudiesAreLabelledStudySlashMethod()
    {
        var a = RandomStudy(new Random(1), out _) with { Name = "A" };
        var b = RandomStudy(new Random(2), out _) with { Name = "B" };
        var methods = MethodGroups.Build(new ReportInput { Studies = [a, b] });
        Assert.Equal(6, methods.Count);
        Assert.Contains(methods, g => g.Label == "A / pnn");
        Assert.Contains(methods, g => g.Label == "B / affine-pnn");
        var e = Assert.Throws<ArgumentException>(() => ReportBuilder.Write(new ReportInput { Studies = [a, a] }, Path.GetTempPath()));
        Assert.Contains("'A' is given twice", e.Message);
    }
}
