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
        completed = completed with { Result = completed.Result! with { Phases = [new PhaseTiming(0, "bce", 1, 0.5), new PhaseTiming(1, "punzi", 1, 1.0)] } };
        var failed = new TrialRecord { TrialId = "t2", State = TrialState.Failed, Attempts = 3, Seconds = 1.25, Axes = new Dictionary<string, string> { ["model.kind"] = "dnn", ["seed"] = "2" } };
        return new StudyRecord { Name = "csv", CompareAxes = ["model.kind"], Headline = "sigma_min_best_cut", Trials = [completed, failed] };
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
            Assert.Equal("trial_id,state,attempts,seconds,study,method,model.kind,seed,note", trials[0]);
            Assert.Equal("t1,completed,1,2,csv,pnn,pnn,1,\"a, \"\"b\"\"\"", trials[1]);
            Assert.Equal("t2,failed,3,1.25,csv,dnn,dnn,2,", trials[2]);
            Assert.Equal(3, trials.Length);

            var epochs = Lines(Path.Combine(dir.FullName, "epochs.csv"));
            // Phases counted from 1, as everywhere a user reads them.
            Assert.Equal("trial_id,phase,epoch,metric,value,study,method", epochs[0]);
            Assert.Equal(["t1,1,1,loss," + Math.PI.ToString("R", CultureInfo.InvariantCulture) + ",csv,pnn", "t1,1,1,lr,0.05,csv,pnn", "t1,2,2,loss,NaN,csv,pnn"], epochs[1..]);
            Assert.Equal(Math.PI, double.Parse(epochs[1].Split(',')[4], CultureInfo.InvariantCulture));

            var masses = Lines(Path.Combine(dir.FullName, "mass_metrics.csv"));
            Assert.Equal("trial_id,mass,heldout,split,epoch_kind,metric,value,study,method", masses[0]);
            Assert.Equal(5, masses.Length);
            Assert.Equal("t1,0.5,false,test,best,roc_auc,0.30000000000000004,csv,pnn", masses[1]);
            Assert.StartsWith("t1,1.5,true,validation,last,sigma_min_best_cut,", masses[4]);
            Assert.Equal(1.0 / 3.0, double.Parse(masses[4].Split(',')[6], CultureInfo.InvariantCulture));

            // summary.csv: one row per trial; training time per phase and the rest (worker start, loading, evaluation) apart.
            var summary = Lines(Path.Combine(dir.FullName, "summary.csv"));
            Assert.Equal("study,method,trial_id,state,model.kind,seed,note,headline,headline_trained,headline_heldout,best_epoch,last_epoch,seconds,training_seconds,phase_1_seconds,phase_2_seconds,other_seconds", summary[0]);
            Assert.Equal("csv,pnn,t1,completed,pnn,1,\"a, \"\"b\"\"\",sigma_min_best_cut,0.3333333333333333,NaN,5,6,2,1.5,0.5,1,0.5", summary[1]);
            Assert.Equal("csv,dnn,t2,failed,dnn,2,,sigma_min_best_cut,NaN,NaN,0,0,1.25,NaN,NaN,NaN,NaN", summary[2]);
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
            foreach (var name in new[] { "summary.csv", "trials.csv", "epochs.csv", "paired.csv", "report.html", "report.md" })
                Assert.True(File.Exists(Path.Combine(dir.FullName, name)), $"{name} is missing");
            // The long per-mass table is studies export's (174 MB for the report benchmark), not the report's.
            Assert.False(File.Exists(Path.Combine(dir.FullName, "mass_metrics.csv")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
