using Studies.Trials.Specs;

namespace Studies.Orchestrator.Tests.Studies;

public sealed class ExpansionTests
{
    [Fact]
    public void Matrix_is_the_cartesian_product_with_the_first_axis_slowest()
    {
        var trials = StudyText.Expand(StudyText.Header + """

            base:
              schedule: [{loss: bce, epochs: 5, optimizer: sgd, lr: 1}]
            matrix:
              model.kind: [dnn, pnn, affine-pnn]
              seed: [1, 2]
              schedule[0].lr: [0.1, 0.01]
            """);

        Assert.Equal(12, trials.Count);
        var combinations = trials.Select(t => (t.Axes["model.kind"], t.Axes["seed"], t.Axes["schedule[0].lr"])).ToList();
        Assert.Equal(12, combinations.Distinct().Count());
        Assert.Equal(["dnn", "dnn", "dnn", "dnn", "pnn", "pnn", "pnn", "pnn"], trials.Take(8).Select(t => t.Axes["model.kind"]));
        Assert.Equal(["0.1", "0.01", "0.1", "0.01"], trials.Take(4).Select(t => t.Axes["schedule[0].lr"]));
        foreach (var t in trials)
        {
            Assert.Equal(["model.kind", "seed", "schedule[0].lr"], t.Axes.Keys);
            Assert.Equal(t.Axes["model.kind"], t.Spec.Model.Kind);
            Assert.Equal(ulong.Parse(t.Axes["seed"]), t.Spec.Seed);
            Assert.Equal(double.Parse(t.Axes["schedule[0].lr"], System.Globalization.CultureInfo.InvariantCulture), t.Spec.Schedule[0].LearningRate);
            Assert.Equal("sgd", t.Spec.Schedule[0].Optimizer);
        }
    }

    [Fact]
    public void Without_a_matrix_the_base_is_the_only_trial()
    {
        var study = StudyText.Load(StudyText.Header + "\nbase: {schedule: [{loss: bce, epochs: 3}]}\n");
        var trial = Assert.Single(StudyExpander.Expand(study));
        Assert.Empty(trial.Axes);
        Assert.Equal(SpecJson.Serialize(study.Base), SpecJson.Serialize(trial.Spec));
    }

    [Fact]
    public void Named_variants_replace_the_whole_sub_tree()
    {
        var trials = StudyText.Expand(StudyText.Header + """

            base:
              schedule: [{loss: bce, epochs: 5, optimizer: sgd, lr: 1, batch: 4096}]
            matrix:
              schedule:
                bce-only: [{loss: bce, epochs: 7}]
                two-phase:
                  - {loss: bce, epochs: 150, optimizer: sgd, lr: 1.0, batch: 4096}
                  - {loss: punzi, epochs: 500, optimizer: sgd, lr: 0.05, batch: full, n_sigma: 2}
            """);

        Assert.Equal(["bce-only", "two-phase"], trials.Select(t => t.Axes["schedule"]));
        var bceOnly = Assert.Single(trials[0].Spec.Schedule);
        // Nothing of the base phase leaks into the variant: optimizer, lr and batch are the defaults.
        Assert.Equal(SpecJson.Serialize(new PhaseSpec { Loss = "bce", Epochs = 7 }), SpecJson.Serialize(bceOnly));
        Assert.Equal(2, trials[1].Spec.Schedule.Count);
        var punzi = trials[1].Spec.Schedule[1];
        Assert.Equal(("punzi", 500, 0.05, (int?)null), (punzi.Loss, punzi.Epochs, punzi.LearningRate, punzi.Batch));
        Assert.Equal(2.0, punzi.LossOptions["n_sigma"]!.GetValue<double>());
    }

    [Fact]
    public void A_setting_inside_a_variant_applies_after_the_variant_whatever_the_written_order()
    {
        var trials = StudyText.Expand(StudyText.Header + """

            base:
              schedule: [{loss: bce, epochs: 5}]
            matrix:
              schedule[0].lr: [0.5, 0.25]
              schedule:
                a: [{loss: bce, epochs: 5, lr: 0.9}]
                b: [{loss: bce, epochs: 9, lr: 0.9}, {loss: punzi, epochs: 3}]
            """);

        Assert.Equal(4, trials.Count);
        Assert.All(trials, t => Assert.Equal(t.Axes["schedule[0].lr"], t.Spec.Schedule[0].LearningRate.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal([1, 2, 1, 2], trials.Select(t => t.Spec.Schedule.Count));
    }

    [Fact]
    public void Exclude_removes_exactly_the_matching_combinations()
    {
        var trials = StudyText.Expand(StudyText.Header + """

            base:
              schedule: [{loss: bce, epochs: 5}]
            matrix:
              model.kind: [dnn, pnn, per-mass]
              seed: [1, 2, 3]
            exclude:
              - {model.kind: per-mass, seed: [2, 3]}
              - {model.kind: pnn, seed: 1}
            """);

        Assert.Equal(9 - 2 - 1, trials.Count);
        var kept = trials.Select(t => $"{t.Axes["model.kind"]}/{t.Axes["seed"]}").ToList();
        Assert.DoesNotContain("per-mass/2", kept);
        Assert.DoesNotContain("per-mass/3", kept);
        Assert.DoesNotContain("pnn/1", kept);
        Assert.Contains("per-mass/1", kept);
        Assert.Contains("pnn/2", kept);
    }

    [Fact]
    public void Exclude_matches_variant_names_and_values_written_differently()
    {
        var trials = StudyText.Expand(StudyText.Header + """

            base:
              schedule: [{loss: bce, epochs: 5}]
            matrix:
              schedule[0].lr: [0.1, 1.0]
              schedule:
                short: [{loss: bce, epochs: 5}]
                long: [{loss: bce, epochs: 50}]
            exclude:
              # Inside {...} a path with brackets must be quoted: '[' is flow syntax there.
              - {"schedule[0].lr": 1, schedule: long}
            """);

        Assert.Equal(3, trials.Count);
        Assert.DoesNotContain(trials, t => t.Axes["schedule[0].lr"] == "1.0" && t.Axes["schedule"] == "long");
    }

    private const string SearchStudy = StudyText.Header + """

        base:
          schedule: [{loss: bce, epochs: 5, optimizer: sgd}]
        matrix:
          seed: [1, 2]
        search:
          samples: 200
          seed: 11
          space:
            schedule[0].lr: {loguniform: [1.0e-4, 1.0e-1]}
            schedule[0].momentum: {uniform: [0.5, 0.9]}
            schedule[0].epochs: {int: [2, 5]}
            model.activation: {choice: [tanh, relu]}
        """;

    [Fact]
    public void Search_samples_are_reproducible_and_within_their_bounds()
    {
        var first = StudyText.Expand(SearchStudy);
        var second = StudyText.Expand(SearchStudy);
        Assert.Equal(400, first.Count);
        Assert.Equal(first.Select(t => t.TrialId), second.Select(t => t.TrialId));

        var phases = first.Select(t => t.Spec.Schedule[0]).ToList();
        Assert.All(phases, p => Assert.InRange(p.LearningRate, 1e-4, 1e-1));
        Assert.All(phases, p => Assert.InRange(p.Momentum, 0.5, 0.9));
        Assert.Equal([2, 3, 4, 5], phases.Select(p => p.Epochs).Distinct().Order());
        Assert.Equal(["relu", "tanh"], first.Select(t => t.Spec.Model.Activation).Distinct().Order());
        // Log-uniform: about a third of the draws per decade, so every decade is visited.
        Assert.Equal(3, phases.Select(p => (int)Math.Floor(Math.Log10(p.LearningRate))).Distinct().Count());
        Assert.All(first, t => Assert.Equal(["seed", "schedule[0].lr", "schedule[0].momentum", "schedule[0].epochs", "model.activation"], t.Axes.Keys));
    }

    [Fact]
    public void Each_search_sample_is_the_same_point_for_every_matrix_combination()
    {
        var trials = StudyText.Expand(SearchStudy);
        var bySeed = trials.GroupBy(t => t.Spec.Seed).Select(g => g.Select(t => t.Spec.Schedule[0].LearningRate).ToList()).ToList();
        Assert.Equal(2, bySeed.Count);
        Assert.Equal(bySeed[0], bySeed[1]);
    }

    [Fact]
    public void Search_seed_changes_the_samples_but_the_order_of_the_space_does_not()
    {
        static List<double> Rates(string yaml) => StudyText.Expand(yaml).Select(t => t.Spec.Schedule[0].LearningRate).ToList();
        var reference = Rates(SearchStudy);
        Assert.NotEqual(reference, Rates(SearchStudy.Replace("seed: 11", "seed: 12")));
        var reordered = SearchStudy.Replace(
            "    schedule[0].lr: {loguniform: [1.0e-4, 1.0e-1]}\n    schedule[0].momentum: {uniform: [0.5, 0.9]}\n",
            "    schedule[0].momentum: {uniform: [0.5, 0.9]}\n    schedule[0].lr: {loguniform: [1.0e-4, 1.0e-1]}\n");
        Assert.NotEqual(SearchStudy, reordered);
        Assert.Equal(reference, Rates(reordered));
    }

    [Fact]
    public void Uniform01_is_the_documented_hash()
    {
        var hash = System.Security.Cryptography.SHA256.HashData("11:3:schedule[0].lr"u8.ToArray());
        var expected = (System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11) / 9007199254740992.0;
        Assert.Equal(expected, StudyExpander.Uniform01(11, 3, "schedule[0].lr"));
    }

    [Fact]
    public void Display_values_are_variant_names_or_values_as_written()
    {
        var trial = StudyText.Expand(StudyText.Header + """

            base:
              schedule: [{loss: bce, epochs: 5}]
            matrix:
              schedule[0].lr: [1.0e-3]
              model.hidden: [[8, 4]]
              model:
                wide: {kind: pnn, hidden: [64, 64]}
            """).Single();
        Assert.Equal("1.0e-3", trial.Axes["schedule[0].lr"]);
        Assert.Equal("[8, 4]", trial.Axes["model.hidden"]);
        Assert.Equal("wide", trial.Axes["model"]);
        // `model` (shallower) is applied first, then model.hidden inside it.
        Assert.Equal([8, 4], trial.Spec.Model.Hidden);
        Assert.Equal("pnn", trial.Spec.Model.Kind);
    }

    [Fact]
    public void Model_defaults_follow_the_kind()
    {
        var trials = StudyText.Expand(StudyText.Header + """

            base:
              schedule: [{loss: bce, epochs: 5}]
            matrix:
              model.kind: [dnn, pnn, affine-pnn]
            """);
        Assert.Equal(SpecJson.Serialize(new ModelSpec()), SpecJson.Serialize(trials[0].Spec.Model));
        Assert.Equal([300, 150, 100, 50], trials[1].Spec.Model.Hidden);
        Assert.Equal(("relu", 0.25, "xavier-uniform", "zeros"), (trials[2].Spec.Model.Activation, trials[2].Spec.Model.Dropout, trials[2].Spec.Model.WeightInit, trials[2].Spec.Model.BiasInit));
    }

    [Fact]
    public void Data_section_is_normalised_mass_range_to_list_and_path_to_absolute()
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "Valid");
        var study = StudyText.Load("""
            study: t
            data:
              source: csv
              options: {path: data/hepmass-tiny.csv, masses: {from: 0.1, to: 0.9, step: 0.2}, columns: {label: y}}
              holdout: [0.3, 0.7]
              mass_scale: 10
            base: {schedule: [{loss: bce, epochs: 5}]}
            """, directory);
        var data = study.Data.Spec;
        Assert.Equal(Path.Combine(directory, "data", "hepmass-tiny.csv"), data.Options["path"]!.GetValue<string>());
        Assert.Equal([0.1, 0.3, 0.5, 0.7, 0.9], data.Options["masses"]!.AsArray().Select(m => m!.GetValue<double>()));
        Assert.Equal("y", data.Options["columns"]!["label"]!.GetValue<string>());
        Assert.Equal(HoldoutSpec.List(0.3, 0.7).Masses, data.Holdout.Masses);
        Assert.Equal(10, data.MassScale);
        Assert.Equal([0.1, 0.3, 0.5, 0.7, 0.9], study.Data.MassGrid);
    }

    [Fact]
    public void Resources_retries_and_report_are_read()
    {
        var study = StudyText.Load(StudyText.Header + """

            base: {schedule: [{loss: bce, epochs: 5}]}
            matrix: {model.kind: [dnn, pnn], seed: [1, 2]}
            resources: {devices: [0, 2], trials_per_device: 3, threads_per_trial: 2, cpu_workers: 4}
            retries: {max: 3, backoff: 1.5}
            report: {headline: roc_auc}
            """);
        Assert.Equal(new ResourcesSection([0, 2], 3, 2, 4) with { Devices = study.Resources.Devices }, study.Resources);
        Assert.Equal([0, 2], study.Resources.Devices!);
        Assert.Equal(new RetriesSection(3, 1.5), study.Retries);
        Assert.Equal("roc_auc", study.Report.Headline);
        Assert.Equal(["model.kind"], study.Report.Compare); // seed is left out of the default comparison
        Assert.All(StudyExpander.Expand(study), t => Assert.Equal(2, t.Spec.Threads));
    }
}
