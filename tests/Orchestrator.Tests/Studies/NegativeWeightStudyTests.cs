using System.Globalization;
using System.Text;
using Studies.Orchestrator.Studies;
using Studies.Reports;
using Studies.Reports.Input;
using Studies.Trials.Data;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Tests.Studies;

/// <summary>
/// Issue 20: NLO Monte Carlo ships negative event weights. A data file with them is accepted, trains
/// with every loss (BCE, Punzi, Lovász) and reports, with finite metrics wherever a window's net
/// background is positive.
/// </summary>
public sealed class NegativeWeightStudyTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("negative-weights-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>Signal at 10 and 20 (window variable v near m), two background processes; one event in six weighs -0.5.</summary>
    private void WriteData()
    {
        var random = new Random(17);
        string F(double x) => x.ToString("R", CultureInfo.InvariantCulture);
        var text = new StringBuilder("x,y,label,mass,v,w,proc\n");
        for (var k = 0; k < 3000; k++)
        {
            var signal = k % 3 == 0;
            var m = k % 2 == 0 ? 10.0 : 20.0;
            var v = signal ? m + (random.NextDouble() - 0.5) * 2 : 30 * random.NextDouble();
            var w = (k % 6 == 1 ? -0.5 : 1.0) * (signal ? 0.01 : 0.2);
            text.Append($"{F(random.NextDouble() + (signal ? 0.7 : 0))},{F(random.NextDouble())},{(signal ? 1 : 0)},{(signal ? F(m) : "")},{F(v)},{F(w)},{(signal ? "sig" : k % 2 == 0 ? "ttbar" : "wjets")}\n");
        }
        File.WriteAllText(Path.Combine(folder, "nlo.csv"), text.ToString());
    }

    private const string Study = """
        study: nlo
        data:
          source: csv
          options: {path: nlo.csv, columns: {features: [x, y], weight: w, process: proc, window: v}, window_width: 1.5, window_center: mass}
        base:
          model: {kind: pnn, hidden: [8]}
          schedule: [{loss: bce, epochs: 2, lr: 0.01, batch: 128}]
          evaluation: {background_uncertainty: 0.2, min_background_yield: 0, min_background_events: 1}
        matrix:
          schedule:
            bce: [{loss: bce, epochs: 2, lr: 0.01, batch: 128, keep_best: z_asimov_sigma_b_best}]
            punzi: [{loss: punzi, epochs: 2, lr: 0.01, batch: full}]
            lovasz: [{loss: lovasz, epochs: 2, lr: 0.01, batch: 128}]
          seed: [1, 2]
        report: {compare: [schedule], headline: z_asimov_sigma_b_best}
        """;

    [Fact]
    public void A_file_with_negative_weights_trains_with_every_loss_and_reports()
    {
        WriteData();
        var path = Path.Combine(folder, "nlo.yaml");
        File.WriteAllText(path, Study);
        var study = StudyLoader.Load(path);
        var runner = new TrialRunner(new TrialDataProvider(), new PhaseLossFactory(), new MassEvaluator());
        var trials = StudyExpander.Expand(study).Select(p =>
        {
            var result = runner.Run(p.Spec, new TrialRunOptions(), CancellationToken.None);
            Assert.True(result.Outcome == TrialOutcome.Completed, $"{string.Join(", ", p.Axes.Values)}: {result.Error}");
            var test = result.Masses.Where(m => m.Split == SplitKind.Test && m.EpochKind == EpochKind.Best).ToList();
            Assert.Equal(2, test.Count);
            foreach (var name in new[] { MetricNames.RocAuc, MetricNames.SigmaMinBestCutOracle, MetricNames.ZAsimovSigmaBBest, MetricNames.ZAsimovBest })
                Assert.All(test, m => Assert.True(double.IsFinite(m.Metrics[name]), $"{name} at {m.Mass}: {m.Metrics[name]}"));
            // The uncertainty lowers the Asimov significance.
            Assert.All(test, m => Assert.True(m.Metrics[MetricNames.ZAsimovSigmaBBest] < m.Metrics[MetricNames.ZAsimovBest]));
            return new TrialRecord { TrialId = p.TrialId, State = TrialState.Completed, Attempts = 1, Axes = p.Axes, Result = result };
        }).ToList();
        Assert.Equal(6, trials.Count);

        var record = new StudyRecord { Name = study.Name, CompareAxes = study.Report.Compare, Headline = study.Report.Headline, Trials = trials };
        var files = ReportBuilder.Write(new ReportInput { Studies = [record] }, Path.Combine(folder, "report"));
        var markdown = File.ReadAllText(files.Markdown);
        Assert.Contains(MetricNames.ZAsimovSigmaBBest, markdown);
        Assert.Contains("## Paired comparisons", markdown);
    }
}
