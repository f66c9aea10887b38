using System.Text.Json.Nodes;
using Studies.Orchestrator.Studies;
using Studies.Reports;
using Studies.Reports.Input;
using Studies.Trials.Data;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Tests.Studies;

/// <summary>
/// Short versions of the replication studies in studies/ (docs/replications.md): the shipped file,
/// two seeds, two epochs per phase and a few thousand events, run in process. They check only that
/// every trial completes and the report writes the paired table; the numbers need the full size.
/// </summary>
public sealed class ReplicationStudyTests
{
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Studies.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no Studies.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Event counts of each toy small enough for a test; everything else as the study says.</summary>
    private static readonly Dictionary<string, JsonObject> SmallData = new()
    {
        ["recoil-toy"] = new JsonObject { ["signal_per_mass"] = 300, ["background_events"] = 3000 },
        ["lovasz-toy"] = new JsonObject { ["events_per_process"] = 3000 },
        ["gaussian-toy"] = new JsonObject { ["events_per_mass"] = 800 },
        ["hepmass-toy"] = new JsonObject { ["signal_per_mass"] = 400, ["background_events"] = 2000 },
    };

    private static TrialSpec Shrink(TrialSpec spec)
    {
        var options = (JsonObject)spec.Data.Options.DeepClone();
        foreach (var (key, value) in SmallData[spec.Data.Source]) options[key] = value!.DeepClone();
        return spec with
        {
            Data = spec.Data with { Options = options },
            Schedule = spec.Schedule.Select(p => p with { Epochs = Math.Min(p.Epochs, 2) }).ToList(),
            Evaluation = spec.Evaluation with { ValidationEvery = 1 },
        };
    }

    [Theory]
    [InlineData("replicate-punzi.yaml")]
    [InlineData("replicate-punzi-v2.yaml")]
    [InlineData("replicate-lovasz.yaml")]
    [InlineData("replicate-pnn.yaml")]
    [InlineData("replicate-affine.yaml")]
    public void Short_version_completes_and_writes_the_paired_table(string file)
    {
        var study = StudyLoader.Load(Path.Combine(RepositoryRoot(), "studies", file));
        var planned = StudyExpander.Expand(study).Where(t => t.Axes["seed"] is "1" or "2").ToList();
        Assert.True(planned.Count >= 4, $"{file}: {planned.Count} trials with seeds 1 and 2");
        var runner = new TrialRunner(new TrialDataProvider(), new PhaseLossFactory(), new MassEvaluator());
        var trials = planned.Select(p =>
        {
            var result = runner.Run(Shrink(p.Spec), new TrialRunOptions(), CancellationToken.None);
            Assert.True(result.Outcome == TrialOutcome.Completed, $"{file} {string.Join(", ", p.Axes.Values)}: {result.Error}");
            return new TrialRecord { TrialId = p.TrialId, State = TrialState.Completed, Attempts = 1, Axes = p.Axes, Result = result };
        }).ToList();

        var record = new StudyRecord { Name = study.Name, CompareAxes = study.Report.Compare, Headline = study.Report.Headline, Trials = trials };
        var directory = Directory.CreateTempSubdirectory("replication-").FullName;
        try
        {
            var files = ReportBuilder.Write(new ReportInput { Studies = [record] }, directory);
            Assert.Contains("## Paired comparisons", File.ReadAllText(files.Markdown));
            var rows = File.ReadAllLines(Path.Combine(directory, CsvExport.PairedFile)).Skip(1)
                .Select(l => System.Text.RegularExpressions.Regex.Split(l, ",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)")).ToList();
            Assert.NotEmpty(rows);
            // Every method pair appears, and some pair rests on both seeds with a finite difference.
            var methods = trials.Select(t => string.Join(", ", study.Report.Compare.Select(a => t.Axes[a]))).Distinct().Count();
            Assert.Equal(methods * (methods - 1) / 2, rows.Select(r => (r[1], r[2])).Distinct().Count());
            Assert.Contains(rows, r => r[5] == "2" && double.IsFinite(double.Parse(r[6], System.Globalization.CultureInfo.InvariantCulture)));
        }
        finally
        {
            Directory.Delete(directory, true);
        }
    }
}
