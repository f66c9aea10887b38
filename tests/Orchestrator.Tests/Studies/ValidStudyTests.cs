using Studies.Trials.Specs;

namespace Studies.Orchestrator.Tests.Studies;

/// <summary>The study files under Valid/ load, expand, and render a dry run.</summary>
public sealed class ValidStudyTests
{
    private static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "Valid", name);

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Valid"), "*.yaml").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(file));
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Loads_and_expands_into_distinct_trials(string name)
    {
        var study = StudyLoader.Load(PathOf(name));
        var trials = StudyExpander.Expand(study);
        Assert.NotEmpty(trials);
        Assert.Equal(trials.Count, trials.Select(t => t.TrialId).Distinct().Count());
        Assert.All(trials, t => Assert.Equal(TrialIdentity.TrialId(t.Spec), t.TrialId));
        Assert.Equal(Path.GetFullPath(PathOf(name)), study.SourcePath);
    }

    [Fact]
    public void Zprime_study_expands_to_its_matrix_minus_exclusions_times_samples()
    {
        var study = StudyLoader.Load(PathOf("zprime-punzi.yaml"));
        var trials = StudyExpander.Expand(study);
        // 4 kinds x 3 schedules x 3 seeds, minus per-mass x lovasz x 3 seeds, x 2 search samples.
        Assert.Equal((4 * 3 * 3 - 3) * 2, trials.Count);
        Assert.Equal(["model.kind", "schedule", "seed", "schedule[0].lr"], trials[0].Axes.Keys);
        Assert.DoesNotContain(trials, t => t.Axes["model.kind"] == "per-mass" && t.Axes["schedule"] == "lovasz");
        Assert.Equal(44, study.Data.MassGrid!.Count);
        Assert.Equal("every-second", study.Data.Spec.Holdout.Kind);
        Assert.All(trials, t => Assert.InRange(t.Spec.Schedule[0].LearningRate, 0.001, 1));
        var punzi = trials.First(t => t.Axes["schedule"] == "punzi").Spec.Schedule[1];
        Assert.Equal(("punzi", (int?)null, "full"), (punzi.Loss, punzi.Batch, punzi.LossOptions["formula"]!.GetValue<string>()));
        Assert.Equal(new RetriesSection(2, 30), study.Retries);
        Assert.Equal(["model.kind", "schedule"], study.Report.Compare);
    }

    [Fact]
    public void Affine_study_uses_merge_keys_and_its_conditioning_variants()
    {
        var trials = StudyExpander.Expand(StudyLoader.Load(PathOf("affine-hepmass.yaml")));
        Assert.Equal(6, trials.Count);
        var phase = trials[0].Spec.Schedule[0];
        Assert.Equal(("adam", 5e-4, (int?)1024, "roc_auc"), (phase.Optimizer, phase.LearningRate, phase.Batch, phase.KeepBest));
        Assert.Equal(
            [new ConditioningSpec("affine", "start"), null, new ConditioningSpec("affine", "end")],
            trials.Where(t => t.Axes["model.background_mass"] == "identical").Select(t => t.Spec.Model.Conditioning));
        Assert.Equal([750.0, 1000, 1250], trials[0].Spec.Data.Holdout.Masses!);
    }

    [Fact]
    public void Dry_run_lists_counts_per_axis_value_every_trial_and_an_estimate()
    {
        var study = StudyLoader.Load(PathOf("zprime-punzi.yaml"));
        var trials = StudyExpander.Expand(study);
        var output = new StringWriter();
        DryRun.Render(study, trials, output);
        var text = output.ToString();

        Assert.Contains($"study zprime-punzi: {trials.Count} trials", text);
        Assert.Matches(@"model\.kind\s+dnn 18, pnn 18, affine-pnn 18, per-mass 12", text);
        Assert.Matches(@"schedule\s+bce-only 24, punzi 24, lovasz 18", text);
        Assert.All(trials, t => Assert.Contains(t.TrialId, text));
        Assert.Contains("estimated duration:", text);
        Assert.Contains("44 masses, 22 held out", text);
    }

    [Fact]
    public void Cost_model_is_events_times_epochs_times_multiply_adds_over_throughput()
    {
        var spec = StudyExpander.Expand(StudyText.Load("""
            study: t
            data: {source: gaussian-toy, options: {masses: [0], events_per_mass: 500000, background_events: 500000}}
            base:
              model: {kind: dnn, hidden: [8, 4]}
              schedule: [{loss: bce, epochs: 10}]
              evaluation: {validation_every: 2}
            """)).Single().Spec;
        // One feature: 1*8 + 8*4 + 4*1 multiply-adds; 60 % training (x3 for backward), 20 % validation every 2nd epoch.
        const double macs = 1 * 8 + 8 * 4 + 4;
        var expected = 10 * macs * (3 * 1e6 * 0.6 + 0.5 * 1e6 * 0.2) / DryRun.CpuMacsPerThreadSecond;
        Assert.Equal(expected, DryRun.EstimateTrialSeconds(spec), 9);
        Assert.Equal(2 * expected, DryRun.EstimateTrialSeconds(spec with { Schedule = [spec.Schedule[0] with { Epochs = 20 }] }), 9);
        Assert.Equal(expected / 2, DryRun.EstimateTrialSeconds(spec with { Threads = 2 }), 9);
        // An affine-pnn adds a scale and a shift per hidden unit.
        Assert.Equal(macs + 2 * (8 + 4), DryRun.MultiplyAdds(spec.Model with { Kind = "affine-pnn" }, 1));
    }

    [Fact]
    public void A_bdt_costs_events_times_inputs_times_rounds()
    {
        var spec = StudyExpander.Expand(StudyText.Load("""
            study: t
            data: {source: gaussian-toy, options: {masses: [0], events_per_mass: 500000, background_events: 500000}}
            base:
              model: {kind: bdt, trees: 300}
              schedule: [{loss: bce, epochs: 10}]
            """)).Single().Spec;
        // One feature and the mass: 2 inputs x 1e6 events x 300 rounds at 3e7 per thread and second.
        Assert.Equal(300 * 1e6 * 2 / 3e7, DryRun.EstimateTrialSeconds(spec), 9);
        Assert.Equal(2 * 300 * 1e6 * 2 / 3e7, DryRun.EstimateTrialSeconds(spec with { Model = spec.Model with { Boosting = spec.Model.Boosting! with { Trees = 600 } } }), 9);
    }

    [Fact]
    public void Study_duration_divides_by_the_worker_slots()
    {
        var study = StudyText.Load("""
            study: t
            data: {source: gaussian-toy}
            base: {schedule: [{loss: bce, epochs: 10}]}
            matrix: {seed: [1, 2, 3, 4]}
            resources: {cpu_workers: 2}
            """);
        var trials = StudyExpander.Expand(study);
        var one = DryRun.EstimateTrialSeconds(trials[0].Spec);
        var (seconds, cpuSlots, _) = DryRun.EstimateStudySeconds(study, trials, hostCores: 64);
        Assert.Equal(2, cpuSlots);
        Assert.Equal(4 * one / 2, seconds, 9);
        Assert.Equal(8, DryRun.EstimateStudySeconds(study with { Resources = new ResourcesSection() }, trials, hostCores: 8).CpuSlots);
    }
}
