using Studies.Reports.Analysis;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports.Tests.Analysis;

public sealed class PairedComparisonTests
{
    private static Dictionary<string, double> Sigma(double v) => new() { ["sigma_min_best_cut"] = v };

    private static TrialRecord Trial(string kind, int seed, double trained, double? heldout = null, double heldoutMass = 2) =>
        Records.Completed($"{kind}-{seed}", Records.Axes(kind, seed),
            heldout is null ? [Records.Mass(1, false, Sigma(trained))] : [Records.Mass(1, false, Sigma(trained)), Records.Mass(heldoutMass, true, Sigma(heldout.Value))]);

    [Fact]
    public void Differences_are_paired_by_seed_with_a_student_t_interval_and_a_win_count()
    {
        double[] a = [1, 2, 3, 4, 5];
        double[] gap = [0.5, 0.4, 0.6, 0.3, -0.1];
        var trials = new List<TrialRecord>();
        for (var s = 0; s < 5; s++)
        {
            trials.Add(Trial("pnn", s + 1, a[s]));
            trials.Add(Trial("dnn", s + 1, a[s] + gap[s]));
        }
        trials.Add(Trial("pnn", 9, 0.01)); // no partner: left out
        var study = new StudyRecord { Name = "s", CompareAxes = ["model.kind"], Headline = "sigma_min_best_cut", Trials = trials };
        var rows = PairedComparison.Build(MethodGroups.Build(new ReportInput { Studies = [study] }), "sigma_min_best_cut");

        var row = Assert.Single(rows);
        Assert.Equal("pnn", row.A.Method);
        Assert.Equal(5, row.Pairs);
        var d = gap.Select(g => -g).ToArray();
        var mean = d.Average();
        var sd = Math.Sqrt(d.Sum(x => (x - mean) * (x - mean)) / 4);
        Assert.Equal(mean, row.MeanDifference, 12);
        // t quantile 0.975 with 4 degrees of freedom: 2.7764451...
        Assert.Equal(mean - 2.7764451052 * sd / Math.Sqrt(5), row.Low, 8);
        Assert.Equal(mean + 2.7764451052 * sd / Math.Sqrt(5), row.High, 8);
        Assert.Equal(4, row.WinsA); // lower sigma_min is better: pnn wins where the gap is positive
        Assert.True(row.ABetter);
        Assert.Equal(row.High < 0, row.Significant);
    }

    [Fact]
    public void Held_out_masses_are_compared_with_a_per_mass_net_trained_there_of_the_same_seed()
    {
        // pnn holds out 2; the per-mass nets of the same study train at 1 and 2 (a data.holdout axis).
        var trials = new List<TrialRecord>();
        for (var s = 1; s <= 2; s++)
        {
            trials.Add(Trial("pnn", s, 1.0, heldout: 2.0 * s));
            trials.Add(Records.Completed($"pm-{s}", Records.Axes("per-mass", s), [Records.Mass(1, false, Sigma(1)), Records.Mass(2, false, Sigma(1.6 * s))]));
        }
        var study = new StudyRecord { Name = "s", CompareAxes = ["model.kind"], Headline = "sigma_min_best_cut", Trials = trials };
        var methods = MethodGroups.Build(new ReportInput { Studies = [study] });
        var table = Interpolation.Build(methods, methods.Select(g => MassCurves.Build(g, "sigma_min_best_cut")).ToList(), "sigma_min_best_cut");
        var pnn = table.Rows.Single(r => r.Method.Method == "pnn");
        Assert.Equal(2.0 / 1.6, pnn.MeanToPerMass, 12); // 2s / 1.6s for each seed
        Assert.Equal(2.0 / 1.6, Assert.Single(pnn.PerMass).ToPerMass.Mean, 12);
    }

    [Fact]
    public void The_report_shows_the_paired_table_and_writes_it_as_csv()
    {
        var trials = Enumerable.Range(1, 3).SelectMany(s => new[] { Trial("pnn", s, s), Trial("dnn", s, s + 0.5) }).ToList();
        var study = new StudyRecord { Name = "s", CompareAxes = ["model.kind"], Headline = "sigma_min_best_cut", Trials = trials };
        var dir = Path.Combine(Path.GetTempPath(), "paired-" + Guid.NewGuid().ToString("N"));
        try
        {
            var files = ReportBuilder.Write(new ReportInput { Studies = [study] }, dir);
            var md = File.ReadAllText(files.Markdown);
            Assert.Contains("## Paired comparisons", md);
            Assert.Contains("| pnn | dnn | trained | 1 GeV | 3 | **★ -0.5** | [-0.5, -0.5] | 3/3 seeds |", md);
            Assert.Contains("3/3 seeds", md);
            var csv = File.ReadAllLines(Path.Combine(dir, CsvExport.PairedFile));
            Assert.Equal("study,method_a,method_b,masses,metric,pairs,mean_difference,ci95_low,ci95_high,wins_a", csv[0]);
            Assert.StartsWith("s,pnn,dnn,trained,sigma_min_best_cut,3,-0.5,", csv[1]);
            Assert.EndsWith(",3", csv[1]);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }
}
