using Studies.Reports.Analysis;
using Studies.Reports.Input;
using Studies.Reports.Verdict;
using Studies.Trials.Results;

namespace Studies.Reports.Tests.Verdict;

public sealed class VerdictTests
{
    private const string Sigma = "sigma_min_best_cut";

    private static Dictionary<string, double> M(double v) => new() { [Sigma] = v };

    /// <summary>A trial evaluated at masses 500, 1000, 1500 GeV, holding out <paramref name="heldout"/>, with sigma_min = value(mass).</summary>
    private static TrialRecord Trial(string kind, int seed, Func<double, double> value, params double[] heldout) =>
        Records.Completed($"{kind}-{seed}", Records.Axes(kind, seed),
            new[] { 500.0, 1000, 1500 }.Select(m => Records.Mass(m, heldout.Contains(m), M(value(m)))).ToList());

    private static StudyRecord Study(IEnumerable<TrialRecord> trials) =>
        new() { Name = "s", CompareAxes = ["model.kind"], Headline = Sigma, Trials = trials.ToList() };

    [Fact]
    public void Trained_masses_are_averaged_over_the_masses_both_methods_trained_at_only()
    {
        // pnn holds out 1000 and is 1 fb better than per-mass at 500 and 1500, but per-mass is far
        // better at 1000 where pnn never trained: averaging each over its own trained masses would
        // credit per-mass with its 1000 GeV value.
        double[] noise = [0.1, -0.05, 0.02];
        var trials = new List<TrialRecord>();
        for (var s = 1; s <= 3; s++)
        {
            var n = noise[s - 1];
            trials.Add(Trial("pnn", s, m => m == 1000 ? 50 : 10 + n, 1000));
            trials.Add(Trial("per-mass", s, m => m == 1000 ? 1 : 11));
        }
        var v = Verdicts.Compute(Study(trials));
        var trained = v.Headlines.Single(h => h.Role == MassRole.Trained);
        Assert.Equal("pnn", trained.Best);
        var c = Assert.Single(trained.Against);
        Assert.Equal([500.0, 1500.0], c.Masses);
        Assert.Equal(3, c.Pairs);
        Assert.Equal(noise.Average() - 1, c.MeanDifference, 12);
        Assert.True(c.Resolved);
        Assert.Equal(3, c.BestWins);
        Assert.True(trained.Resolved);
        Assert.Equal("fb", trained.Unit);

        // At held-out masses per-mass held nothing out: it is the reference trained at 1000 GeV.
        var heldout = v.Headlines.Single(h => h.Role == MassRole.Heldout);
        Assert.Equal("pnn", heldout.Best);
        var reference = Assert.Single(heldout.Against);
        Assert.True(reference.TrainedThere);
        Assert.Equal([1000.0], reference.Masses);
        Assert.Equal(49, reference.MeanDifference, 12);
        Assert.True(reference.OtherResolvedBetter);
        Assert.Contains("held-out masses: only pnn (nothing to compare); against per-mass trained at these masses: 49 fb [49, 49], per-mass better", v.Line());
    }

    [Fact]
    public void An_interval_containing_zero_is_not_resolved_and_names_the_seeds_needed()
    {
        // Differences bce − punzi: -1, 0.5, -0.8 (mean -0.433, sd 0.808).
        double[] d = [-1, 0.5, -0.8];
        var trials = new List<TrialRecord>();
        for (var s = 1; s <= 3; s++)
        {
            trials.Add(Trial("bce", s, _ => 10 + d[s - 1]));
            trials.Add(Trial("punzi", s, _ => 10));
        }
        var v = Verdicts.Compute(Study(trials));
        var h = Assert.Single(v.Headlines);
        Assert.Equal("bce", h.Best);
        Assert.False(h.Resolved);
        Assert.Equal(3, h.Seeds);
        var c = Assert.Single(h.Against);
        Assert.True(c.Low < 0 && c.High > 0);
        Assert.Equal(2, c.BestWins);
        Assert.Equal(1, c.OtherWins);
        // Brute force: the smallest n whose t interval at this mean and sd excludes 0.
        var mean = d.Average();
        var sd = Math.Sqrt(d.Sum(x => (x - mean) * (x - mean)) / 2);
        var expected = Enumerable.Range(2, 500).First(n => MathNet.Numerics.Distributions.StudentT.InvCDF(0, 1, n - 1, 0.975) * sd / Math.Sqrt(n) < Math.Abs(mean));
        Assert.Equal(expected, c.SeedsNeeded);
        Assert.Equal(expected, h.SeedsNeeded);
        var line = v.Line();
        Assert.Contains("not resolved with 3 seeds", line);
        Assert.Contains($"about {expected} seeds needed", line);
        Assert.Contains(" fb [", line);
    }

    [Fact]
    public void Identical_methods_are_a_tie_never_a_win()
    {
        var trials = Enumerable.Range(1, 3).SelectMany(s => new[] { Trial("a", s, _ => 0.918), Trial("b", s, _ => 0.918) });
        var h = Assert.Single(Verdicts.Compute(Study(trials)).Headlines);
        var c = Assert.Single(h.Against);
        Assert.False(c.Resolved);
        Assert.False(c.OtherResolvedBetter);
        Assert.Equal(0, c.BestWins + c.OtherWins);
        Assert.Null(c.SeedsNeeded);
        Assert.Contains("no seed count would resolve it", Verdicts.Line(Verdicts.Compute(Study(trials))));
    }

    [Fact]
    public void Methods_holding_out_different_masses_compare_only_shared_masses_and_per_mass_across_roles()
    {
        // A holds out 1000, B holds out 1500: no shared held-out mass; trained masses shared: 500.
        var trials = new List<TrialRecord>();
        for (var s = 1; s <= 3; s++)
        {
            trials.Add(Trial("a", s, m => m / 100 + s * 0.01, 1000));
            trials.Add(Trial("b", s, m => m / 100 + 1, 1500));
        }
        var methods = MethodGroups.Build(new ReportInput { Studies = [Study(trials)] });
        var a = methods.Single(g => g.Method == "a");
        var b = methods.Single(g => g.Method == "b");
        var trained = SharedMasses.Pairs(a, b, Sigma, MassRole.Trained);
        Assert.Equal(3, trained.Count);
        Assert.All(trained, p => Assert.Equal([500.0], p.Masses));
        Assert.Empty(SharedMasses.Pairs(a, b, Sigma, MassRole.Heldout));

        var across = SharedMasses.HeldoutAgainstTrained(a, b, Sigma);
        var at1000 = Assert.Single(across);
        Assert.Equal(1000, at1000.Mass);
        Assert.Equal(3, at1000.Pairs.Count);
        Assert.All(at1000.Pairs, p => Assert.Equal(-1 + double.Parse(p.Key.Split('=')[1], System.Globalization.CultureInfo.InvariantCulture) * 0.01, p.Difference, 12));
        var reverse = Assert.Single(SharedMasses.HeldoutAgainstTrained(b, a, Sigma));
        Assert.Equal(1500, reverse.Mass);
    }
}

public sealed partial class VerdictReportTests
{
    private const string Sigma = "sigma_min_best_cut";

    /// <summary>Two methods over three seeds at 500, 1000, 1500 GeV with sigma_min = base(mass) + gap (pnn) or base (dnn), plus seed noise.</summary>
    internal static StudyRecord TwoMethods(string name, double[] gaps, double[]? heldoutA = null, double[]? heldoutB = null) => new()
    {
        Name = name, CompareAxes = ["model.kind"], Headline = Sigma,
        Trials = Enumerable.Range(1, gaps.Length).SelectMany(s => new[]
        {
            Records.Completed($"pnn-{s}", Records.Axes("pnn", s), new[] { 500.0, 1000, 1500 }.Select(m => Records.Mass(m, (heldoutA ?? []).Contains(m), new Dictionary<string, double> { [Sigma] = m / 100 + s + gaps[s - 1] })).ToList()),
            Records.Completed($"dnn-{s}", Records.Axes("dnn", s), new[] { 500.0, 1000, 1500 }.Select(m => Records.Mass(m, (heldoutB ?? []).Contains(m), new Dictionary<string, double> { [Sigma] = m / 100 + s })).ToList()),
        }).ToList(),
    };

    [Fact]
    public void Report_pairs_only_shared_masses_and_compares_held_out_against_trained_per_mass()
    {
        // pnn holds out 1000 GeV, dnn holds out 1500 GeV: trained masses shared: 500 only; no
        // held-out mass shared; at 1000 pnn (held out) meets dnn (trained) and at 1500 the reverse.
        var study = TwoMethods("disjoint", [-1, -1.2, -0.9], heldoutA: [1000], heldoutB: [1500]);
        var dir = Directory.CreateTempSubdirectory("verdict-report-").FullName;
        try
        {
            var md = File.ReadAllText(ReportBuilder.Write(new ReportInput { Studies = [study] }, dir, writeCsv: false).Markdown);
            File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "verdict-report.md"), md); // kept for a look after the run
            Assert.Contains("| pnn | dnn | trained | 500 GeV | 3 | **★ -1.033** |", md);
            Assert.Contains("| pnn | dnn | held-out | none shared | 0 |", md);
            Assert.Contains("| 1000 GeV | pnn (held out) | dnn (trained there) | 3 | **★ -1.033** |", md);
            Assert.Contains("| 1500 GeV | dnn (held out) | pnn (trained there) | 3 | **★ 1.033** |", md);
            // The verdict comes first, before the study summary and the ranking.
            var sections = SectionTitle().Matches(md).Select(m => m.Groups[1].Value).ToList();
            Assert.Equal("Verdict", sections[0]);
            Assert.Equal("Provenance", sections[^1]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("^## (.+)$", System.Text.RegularExpressions.RegexOptions.Multiline)]
    private static partial System.Text.RegularExpressions.Regex SectionTitle();
}

public sealed class StudyUnitsTests
{
    private static Studies.Trials.Specs.DataSpec Data(string source, System.Text.Json.Nodes.JsonObject? options = null) =>
        new() { Source = source, Options = options ?? [] };

    [Fact]
    public void Units_come_from_the_data_source_and_a_file_declares_its_own()
    {
        var recoil = StudyUnits.FromData(Data("recoil-toy"));
        Assert.Equal(("GeV", "fb", 50.0), (recoil.Mass, recoil.CrossSection, recoil.Luminosity!.Value));
        Assert.Equal(300, StudyUnits.FromData(Data("recoil-toy", new() { ["luminosity"] = 300 })).Luminosity);
        var gauss = StudyUnits.FromData(Data("gaussian-toy"));
        Assert.Equal(("", StudyUnits.ArbitraryUnits), (gauss.Mass, gauss.CrossSection));
        Assert.Equal("sigma_min_best_cut (a.u.)", gauss.Label("sigma_min_best_cut"));
        Assert.Equal("roc_auc", gauss.Label("roc_auc"));
        var csv = StudyUnits.FromData(Data("csv", new() { ["path"] = "x.csv", ["luminosity"] = 140, ["mass_unit"] = "TeV" }));
        Assert.Equal(("TeV", "fb", 140.0), (csv.Mass, csv.CrossSection, csv.Luminosity!.Value));
        Assert.Equal(StudyUnits.ArbitraryUnits, StudyUnits.FromData(Data("parquet", new() { ["path"] = "x.parquet" })).CrossSection);
    }
}

public sealed class FairnessReportTests
{
    [Fact]
    public void The_report_lists_settings_the_compared_methods_differ_in_beyond_the_compared_axes()
    {
        static Studies.Trials.Specs.TrialSpec Spec(string kind, double dropout) => new()
        {
            Data = new() { Source = "gaussian-toy" },
            Model = new() { Kind = kind, Dropout = dropout, WeightInit = kind == "pnn" ? "xavier-uniform" : null },
            Schedule = [new() { Loss = "bce", Epochs = 1 }],
        };
        var planned = new[] { ("dnn", 0.0), ("pnn", 0.25) }.SelectMany(k => new[] { 1, 2 }.Select(seed =>
            new Fairness.PlannedSpec(Records.Axes(k.Item1, seed), Spec(k.Item1, k.Item2) with { Seed = (ulong)seed }))).ToList();
        var differences = Fairness.Differences(planned, ["model.kind"]);
        // pnn's null bias initialiser is its kind's reference (PyTorch's), not dnn's N(0, 1).
        Assert.Equal(["model.bias_init", "model.dropout", "model.weight_init"], differences.Select(d => d.Setting));
        Assert.Equal([("dnn", "normal"), ("pnn", "pytorch")], differences[0].Values);
        Assert.Equal([("dnn", "0"), ("pnn", "0.25")], differences[1].Values);
        Assert.Equal([("dnn", "kaiming-normal"), ("pnn", "xavier-uniform")], differences[2].Values);

        var study = VerdictReportTests.TwoMethods("fair", [-1, -1.2, -0.9]) with { SettingDifferences = differences };
        var dir = Directory.CreateTempSubdirectory("fairness-report-").FullName;
        try
        {
            var md = File.ReadAllText(ReportBuilder.Write(new ReportInput { Studies = [study] }, dir, writeCsv: false).Markdown);
            Assert.Contains("| model.dropout | dnn: 0, pnn: 0.25 | model.kind |", md);
            Assert.Contains("Warning: model kinds are compared with different defaults (bias_init, dropout, weight_init)", md);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
