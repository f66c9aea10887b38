using System.Globalization;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports.Tests;

public sealed class CsvExportTests
{
    private static StudyRecord Study()
    {
        var metrics = new Dictionary<string, double> { ["roc_auc"] = 0.1 + 0.2, ["sigma_min_best_cut"] = 1.0 / 3.0 };
        var completed = Records.Completed("t1", new Dictionary<string, string> { ["model.kind"] = "pnn", ["seed"] = "1", ["note"] = "a, \"b\"" },
            [
                Records.Mass(0.5, false, metrics), Records.Mass(1.5, true, metrics, SplitKind.Validation, EpochKind.Last),
            ],
            [
                new EpochRecord(0, 1, new Dictionary<string, double> { ["loss"] = Math.PI, ["lr"] = 0.05 }),
                new EpochRecord(1, 2, new Dictionary<string, double> { ["loss"] = double.NaN }),
            ]);
        var failed = new TrialRecord { TrialId = "t2", State = TrialState.Failed, Attempts = 3, Seconds = 1.25, Axes = new Dictionary<string, string> { ["model.kind"] = "dnn", ["seed"] = "2" } };
        return new StudyRecord { Name = "csv", CompareAxes = ["model.kind"], Trials = [completed, failed] };
    }

    private static string[] Lines(string path) => File.ReadAllText(path).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public void WritesTheThreeFilesWithTheirColumnsAndOneRowPerValue()
    {
        var dir = Directory.CreateTempSubdirectory("reports-csv-");
        try
        {
            CsvExport.Write(Study(), dir.FullName);

            var trials = Lines(Path.Combine(dir.FullName, "trials.csv"));
            Assert.Equal("trial_id,state,attempts,seconds,model.kind,seed,note", trials[0]);
            Assert.Equal("t1,completed,1,2,pnn,1,\"a, \"\"b\"\"\"", trials[1]);
            Assert.Equal("t2,failed,3,1.25,dnn,2,", trials[2]);
            Assert.Equal(3, trials.Length);

            var epochs = Lines(Path.Combine(dir.FullName, "epochs.csv"));
            Assert.Equal("trial_id,phase,epoch,metric,value", epochs[0]);
            Assert.Equal(["t1,0,1,loss," + Math.PI.ToString("R", CultureInfo.InvariantCulture), "t1,0,1,lr,0.05", "t1,1,2,loss,NaN"], epochs[1..]);
            Assert.Equal(Math.PI, double.Parse(epochs[1].Split(',')[^1], CultureInfo.InvariantCulture));

            var masses = Lines(Path.Combine(dir.FullName, "mass_metrics.csv"));
            Assert.Equal("trial_id,mass,heldout,split,epoch_kind,metric,value", masses[0]);
            Assert.Equal(5, masses.Length);
            Assert.Equal("t1,0.5,false,test,best,roc_auc,0.30000000000000004", masses[1]);
            Assert.StartsWith("t1,1.5,true,validation,last,sigma_min_best_cut,", masses[4]);
            Assert.Equal(1.0 / 3.0, double.Parse(masses[4].Split(',')[^1], CultureInfo.InvariantCulture));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void ASingleStudyReportPutsItsCsvBesideTheReport()
    {
        var dir = Directory.CreateTempSubdirectory("reports-csv-");
        try
        {
            var files = ReportBuilder.Write(new ReportInput { Studies = [Study()] }, dir.FullName);
            Assert.Equal([dir.FullName], files.CsvDirectories);
            foreach (var name in new[] { "trials.csv", "epochs.csv", "mass_metrics.csv", "report.html", "report.md" })
                Assert.True(File.Exists(Path.Combine(dir.FullName, name)), $"{name} is missing");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
