using System.IO.Compression;
using Studies.Trials.Data;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Tests.Studies;

/// <summary>The ready study files, as tests find them.</summary>
internal static class ReadyStudies
{
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Studies.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no Studies.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>A copy of studies/ with a small generated HEPMASS-format file where affine-hepmass.yaml expects the real one.</summary>
    /// <param name="at">
    /// A fixed folder instead of a new temporary one: a data file's absolute path is part of its
    /// trials' ids (two files are two data sets), so pinned ids need the same path on every machine.
    /// </param>
    public static string CopyWithHepmassFile(string? at = null)
    {
        if (at is not null && Directory.Exists(at)) Directory.Delete(at, recursive: true);
        var copy = at is null ? Directory.CreateTempSubdirectory("studies-ready-").FullName : Directory.CreateDirectory(at).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryRoot(), "studies"), "*.yaml"))
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        var data = Directory.CreateDirectory(Path.Combine(copy, "data", "hepmass")).FullName;
        var plain = Path.Combine(data, "all_train.csv");
        LoaderBenchmark.WriteHepmassLike(plain, 3000, seed: 5);
        using (var input = File.OpenRead(plain))
        using (var output = new GZipStream(File.Create(plain + ".gz"), CompressionLevel.Fastest))
            input.CopyTo(output);
        File.Delete(plain);
        return copy;
    }
}

/// <summary>The study files shipped in studies/ validate, and the HEPMASS one trains on a file in that format.</summary>
public sealed class ReadyStudyTests
{
    private static string StudiesWithHepmassFile() => ReadyStudies.CopyWithHepmassFile();

    [Fact]
    public void Every_ready_study_file_validates_and_expands()
    {
        var copy = StudiesWithHepmassFile();
        try
        {
            var files = Directory.GetFiles(copy, "*.yaml").Select(Path.GetFileName).Order().ToList();
            Assert.Equal(["affine-hepmass.yaml", "gaussian-pnn.yaml", "lovasz-toy.yaml", "quickstart-bdt.yaml", "quickstart.yaml", "replicate-affine.yaml", "replicate-lovasz.yaml", "replicate-pnn.yaml", "replicate-punzi-v2.yaml", "replicate-punzi.yaml", "search-quickstart.yaml", "zprime-punzi.yaml"], files);
            foreach (var file in files)
            {
                var study = StudyLoader.Load(Path.Combine(copy, file!));
                Assert.NotEmpty(StudyExpander.Expand(study));
            }
            var quickstart = StudyExpander.Expand(StudyLoader.Load(Path.Combine(copy, "quickstart.yaml")));
            // At least three losses x two models x two seeds.
            Assert.True(quickstart.Select(t => string.Join(",", t.Spec.Schedule.Select(p => p.Loss))).Distinct().Count() >= 3);
            Assert.True(quickstart.Select(t => t.Spec.Model.Kind).Distinct().Count() >= 2);
            Assert.True(quickstart.Select(t => t.Spec.Seed).Distinct().Count() >= 2);
            // The quickstart's bdt variant: a parametric and a per-mass bdt beside nets, on the quickstart's data.
            var bdt = StudyExpander.Expand(StudyLoader.Load(Path.Combine(copy, "quickstart-bdt.yaml")));
            Assert.Equal([false, true], bdt.Select(t => t.Spec.Model.Boosting?.PerMass).OfType<bool>().Distinct().Order());
            Assert.Contains(bdt, t => t.Spec.Model.Boosting is null);
            Assert.Equal(global::Studies.Trials.Specs.SpecJson.Serialize(quickstart[0].Spec.Data), global::Studies.Trials.Specs.SpecJson.Serialize(bdt[0].Spec.Data));
            // The search quickstart: an adaptive TPE search with ASHA, whose trials come during the run.
            var search = StudyLoader.Load(Path.Combine(copy, "search-quickstart.yaml"));
            Assert.True(search.Search is { Adaptive: true, Prunes: true, Samples: 40 });
            Assert.Empty(StudyExpander.Recorded(search));
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public void The_affine_pnn_study_trains_on_hepmass_format_data_and_evaluates_every_mass()
    {
        var copy = StudiesWithHepmassFile();
        try
        {
            var trials = StudyExpander.Expand(StudyLoader.Load(Path.Combine(copy, "affine-hepmass.yaml")));
            var runner = new TrialRunner(new TrialDataProvider(), new PhaseLossFactory(), new MassEvaluator());
            // One trial per compared model, shortened to one epoch: this checks the wiring, not the physics.
            foreach (var trial in trials.Where(t => t.Spec.Seed == 1))
            {
                var spec = trial.Spec with { Schedule = [trial.Spec.Schedule[0] with { Epochs = 1 }] };
                var result = runner.Run(spec, new TrialRunOptions(), CancellationToken.None);
                Assert.True(result.Outcome == TrialOutcome.Completed, $"{trial.Axes["model"]}: {result.Error}");
                var test = result.Masses.Where(m => m.Split == SplitKind.Test && m.EpochKind == EpochKind.Best).ToList();
                Assert.Equal(new double[] { 500, 750, 1000, 1250, 1500 }, test.Select(m => m.Mass).Order());
                Assert.Equal(new double[] { 750, 1000, 1250 }, test.Where(m => m.Heldout).Select(m => m.Mass).Order());
                Assert.All(test, m => Assert.InRange(m.Metrics[MetricNames.RocAuc], 0, 1));
            }
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }
}
