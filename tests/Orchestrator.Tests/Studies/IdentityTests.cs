using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Tests.Studies;

public sealed class IdentityTests
{
    private const string Block = """
        # the Punzi-net reference
        study: same
        data:
          source: recoil-toy
          options:
            masses: {from: 0.1, to: 0.9, step: 0.2}
            signal_per_mass: 20000
          holdout: every-second
        base:
          model:
            kind: dnn
            hidden: [8, 4]
          schedule:
            - loss: bce
              epochs: 150
              optimizer: sgd
              lr: 1
              batch: 4096
              plateau: {factor: 0.5, patience: 10}
            - loss: punzi
              epochs: 500
              optimizer: sgd
              lr: 0.05
              batch: full
              n_sigma: 2
        matrix:
          model.kind: [dnn, pnn]
          seed: [1, 2]
        """;

    // The same study: other key order, flow style, 1.0 for 1, quoted strings, options under
    // loss_options, the mass range written out, comments and spacing.
    private const string Flow = """
        study: same
        base:
          schedule:
            - {batch: 4096, epochs: 150, loss: bce, lr: 1.0, optimizer: sgd, plateau: {patience: 10, factor: 0.50}}
            - {loss: "punzi", lr: 5.0e-2, epochs: 500, optimizer: sgd, batch: full, loss_options: {n_sigma: 2.0}}
          model: {hidden: [8, 4], kind: 'dnn'}
        matrix:
          seed: [1, 2]          # seeds
          model.kind: [dnn, pnn]
        data: {holdout: every-second, options: {signal_per_mass: 20000, masses: [0.1, 0.3, 0.5, 0.7, 0.9]}, source: recoil-toy}
        """;

    [Fact]
    public void Key_order_and_formatting_do_not_change_trial_ids()
    {
        var block = StudyText.Load(Block);
        var flow = StudyText.Load(Flow);
        var blockIds = StudyExpander.Expand(block).Select(t => t.TrialId).ToList();
        var flowIds = StudyExpander.Expand(flow).Select(t => t.TrialId).ToList();
        Assert.Equal(4, blockIds.Distinct().Count());
        Assert.Equal(blockIds.Order(), flowIds.Order());
        Assert.Equal(block.Data.Hash, flow.Data.Hash);
        Assert.NotEqual(block.DefinitionHash, flow.DefinitionHash);
    }

    [Fact]
    public void Trial_id_is_the_sha256_prefix_of_the_canonical_spec()
    {
        var trial = StudyExpander.Expand(StudyText.Load(Block))[0];
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(SpecJson.Serialize(trial.Spec))))[..16];
        Assert.Equal(expected, trial.TrialId);
        Assert.Matches("^[0-9a-f]{16}$", trial.TrialId);
    }

    [Fact]
    public void Definition_hash_follows_the_text_even_a_comment()
    {
        Assert.NotEqual(TrialIdentity.DefinitionHash(Block), TrialIdentity.DefinitionHash(Block + "# note\n"));
        Assert.Equal(TrialIdentity.DefinitionHash(Block), StudyText.Load(Block).DefinitionHash);
    }

    [Fact]
    public void Data_hash_changes_with_the_data_definition_only()
    {
        var reference = StudyText.Load(Block);
        Assert.NotEqual(reference.Data.Hash, StudyText.Load(Block.Replace("holdout: every-second", "holdout: [0.3]")).Data.Hash);
        Assert.NotEqual(reference.Data.Hash, StudyText.Load(Block.Replace("signal_per_mass: 20000", "signal_per_mass: 20001")).Data.Hash);
        Assert.Equal(reference.Data.Hash, StudyText.Load(Block.Replace("epochs: 150", "epochs: 151")).Data.Hash);
    }

    /// <summary>Every property of the spec, each changed on its own, changes the id (the list is checked to be complete).</summary>
    [Fact]
    public void Any_change_of_any_spec_field_changes_the_trial_id()
    {
        var spec = StudyExpander.Expand(StudyText.Load(Block))[0].Spec with
        {
            Model = StudyExpander.Expand(StudyText.Load(Block))[0].Spec.Model with { Kind = "pnn" },
        };
        var phase = spec.Schedule[0];
        TrialSpec WithPhase(PhaseSpec p) => spec with { Schedule = [p, .. spec.Schedule.Skip(1)] };
        TrialSpec WithData(DataSpec d) => spec with { Data = d };
        TrialSpec WithModel(ModelSpec m) => spec with { Model = m };

        var changes = new Dictionary<string, TrialSpec>
        {
            ["TrialSpec.Data"] = WithData(spec.Data with { Source = "gaussian-toy" }),
            ["TrialSpec.Model"] = WithModel(spec.Model with { Hidden = [8, 5] }),
            ["TrialSpec.Schedule"] = spec with { Schedule = spec.Schedule.Take(1).ToList() },
            ["TrialSpec.Seed"] = spec with { Seed = 2 },
            ["TrialSpec.Device"] = spec with { Device = "cuda" },
            ["TrialSpec.Threads"] = spec with { Threads = 2 },
            ["TrialSpec.Evaluation"] = spec with { Evaluation = spec.Evaluation with { ValidationEvery = 5 } },
            ["DataSpec.Source"] = WithData(spec.Data with { Source = "lovasz-toy" }),
            ["DataSpec.Options"] = WithData(spec.Data with { Options = new JsonObject { ["signal_per_mass"] = 20001 } }),
            ["DataSpec.Holdout"] = WithData(spec.Data with { Holdout = HoldoutSpec.List(0.3) }),
            ["DataSpec.Split"] = WithData(spec.Data with { Split = new SplitSpec(0.5, 0.25, 0.25) }),
            ["DataSpec.MassScale"] = WithData(spec.Data with { MassScale = 9 }),
            ["ModelSpec.Kind"] = WithModel(spec.Model with { Kind = "affine-pnn" }),
            ["ModelSpec.Hidden"] = WithModel(spec.Model with { Hidden = [8, 4, 2] }),
            ["ModelSpec.Activation"] = WithModel(spec.Model with { Activation = "relu" }),
            ["ModelSpec.Dropout"] = WithModel(spec.Model with { Dropout = 0.1 }),
            ["ModelSpec.Conditioning"] = WithModel(spec.Model with { Conditioning = new ConditioningSpec("affine", "all") }),
            ["ModelSpec.WeightInit"] = WithModel(spec.Model with { WeightInit = "pytorch" }),
            ["ModelSpec.BiasInit"] = WithModel(spec.Model with { BiasInit = "zeros" }),
            ["ModelSpec.BackgroundMass"] = WithModel(spec.Model with { BackgroundMass = "uniform" }),
            ["ModelSpec.BackgroundMassMode"] = WithModel(spec.Model with { BackgroundMassMode = "resampled" }),
            ["ModelSpec.Balance"] = WithModel(spec.Model with { Balance = "class" }),
            ["ModelSpec.L2Kernel"] = WithModel(spec.Model with { L2Kernel = 1e-5 }),
            ["ModelSpec.L2Bias"] = WithModel(spec.Model with { L2Bias = 1e-6 }),
            ["ModelSpec.Standardize"] = WithModel(spec.Model with { Standardize = false }),
            ["ModelSpec.MassEncoding"] = WithModel(spec.Model with { MassEncoding = "scaled" }),
            ["ModelSpec.Boosting"] = WithModel(spec.Model with { Boosting = new BoostingSpec() }),
            ["PhaseSpec.Loss"] = WithPhase(phase with { Loss = "lovasz" }),
            ["PhaseSpec.Epochs"] = WithPhase(phase with { Epochs = phase.Epochs + 1 }),
            ["PhaseSpec.Optimizer"] = WithPhase(phase with { Optimizer = "adam" }),
            ["PhaseSpec.LearningRate"] = WithPhase(phase with { LearningRate = phase.LearningRate * 1.0000001 }),
            ["PhaseSpec.Momentum"] = WithPhase(phase with { Momentum = 0.9 }),
            ["PhaseSpec.WeightDecay"] = WithPhase(phase with { WeightDecay = 1e-4 }),
            ["PhaseSpec.Batch"] = WithPhase(phase with { Batch = null }),
            ["PhaseSpec.Plateau"] = WithPhase(phase with { Plateau = phase.Plateau! with { Patience = 11 } }),
            ["PhaseSpec.EarlyStopping"] = WithPhase(phase with { EarlyStopping = new EarlyStoppingSpec() }),
            ["EarlyStoppingSpec.Patience"] = WithPhase(phase with { EarlyStopping = new EarlyStoppingSpec(Patience: 21) }),
            ["EarlyStoppingSpec.Metric"] = WithPhase(phase with { EarlyStopping = new EarlyStoppingSpec(Metric: "roc_auc") }),
            ["EarlyStoppingSpec.Rule"] = WithPhase(phase with { EarlyStopping = new EarlyStoppingSpec { Rule = "min-delta" } }),
            ["EarlyStoppingSpec.Options"] = WithPhase(phase with { EarlyStopping = new EarlyStoppingSpec { Options = new JsonObject { ["min_delta"] = 0.01 } } }),
            ["PhaseSpec.KeepBest"] = WithPhase(phase with { KeepBest = "roc_auc" }),
            ["PhaseSpec.LossOptions"] = WithPhase(phase with { LossOptions = new JsonObject { ["a"] = 3.0 } }),
            ["EvaluationSpec.ValidationEvery"] = spec with { Evaluation = spec.Evaluation with { ValidationEvery = 2 } },
            ["EvaluationSpec.MinBackgroundYield"] = spec with { Evaluation = spec.Evaluation with { MinBackgroundYield = 3 } },
            ["EvaluationSpec.MinBackgroundEvents"] = spec with { Evaluation = spec.Evaluation with { MinBackgroundEvents = 3 } },
            ["EvaluationSpec.MinSignalEfficiency"] = spec with { Evaluation = spec.Evaluation with { MinSignalEfficiency = 0.1 } },
            ["EvaluationSpec.BackgroundUncertainty"] = spec with { Evaluation = spec.Evaluation with { BackgroundUncertainty = 0.1 } },
        };

        var properties = new[] { typeof(TrialSpec), typeof(DataSpec), typeof(ModelSpec), typeof(PhaseSpec), typeof(EarlyStoppingSpec), typeof(EvaluationSpec) }
            .SelectMany(t => t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.Name != "EqualityContract").Select(p => $"{t.Name}.{p.Name}"));
        Assert.Equal(properties.Order(), changes.Keys.Order());

        var ids = changes.ToDictionary(c => c.Key, c => TrialIdentity.TrialId(c.Value));
        var reference = TrialIdentity.TrialId(spec);
        Assert.All(ids, id => Assert.NotEqual(reference, id.Value));
        Assert.NotEqual(reference, TrialIdentity.TrialId(WithPhase(phase with { Plateau = phase.Plateau! with { Monitor = "train_loss" } })));
        Assert.Equal(ids.Count, ids.Values.Distinct().Count());
    }

    [Fact]
    public void The_early_stopping_rule_and_its_options_are_left_out_of_the_id_unless_written()
    {
        // Trials recorded before rules could be chosen hashed exactly {metric, patience}.
        Assert.Equal("""{"metric":"loss","patience":20}""", SpecJson.Serialize(new EarlyStoppingSpec()));
        const string head = "study: t\ndata: {source: gaussian-toy}\nbase:\n  schedule: [{loss: bce, epochs: 5, early_stopping: ";
        var implicitRule = StudyText.Expand(head + "{patience: 3}}]\n").Single();
        var explicitRule = StudyText.Expand(head + "{patience: 3, rule: patience}}]\n").Single();
        var minDelta = StudyText.Expand(head + "{patience: 3, rule: min-delta, min_delta: 0.01, minutes: 2}}]\n").Single();
        Assert.Equal(implicitRule.TrialId, explicitRule.TrialId);
        Assert.Null(explicitRule.Spec.Schedule[0].EarlyStopping!.Rule);
        Assert.Equal("min-delta", minDelta.Spec.Schedule[0].EarlyStopping!.Rule);
        Assert.Equal("""{"min_delta":0.01,"minutes":2}""", SpecJson.Canonical(minDelta.Spec.Schedule[0].EarlyStopping!.Options));
        Assert.NotEqual(implicitRule.TrialId, minDelta.TrialId);
    }

    [Theory]
    [InlineData("{patience: 3, min_delta: 0.01}", "'min_delta' is not an option of early-stopping rule 'patience'")]
    [InlineData("{rule: min-delat}", "min-delta")]
    [InlineData("{rule: min-delta, minutes: -1}", "minutes")]
    public void A_wrong_early_stopping_rule_or_option_is_an_error_naming_it(string stopping, string message)
    {
        var text = $"study: t\ndata: {{source: gaussian-toy}}\nbase:\n  schedule: [{{loss: bce, epochs: 5, early_stopping: {stopping}}}]\n";
        var error = Assert.Throws<StudyValidationException>(() => StudyText.Load(text));
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Every_bdt_setting_changes_the_id_and_nets_carry_no_boosting_key()
    {
        const string head = "study: t\ndata: {source: gaussian-toy}\nbase:\n  schedule: [{loss: bce, epochs: 5}]\n";
        var net = StudyText.Expand(head + "  model: {kind: dnn}\n").Single();
        Assert.DoesNotContain("boosting", SpecJson.Serialize(net.Spec));
        var bdt = StudyText.Expand(head + "  model: {kind: bdt}\n").Single();
        Assert.Equal(new BoostingSpec(), bdt.Spec.Model.Boosting);
        Assert.DoesNotContain("leaf_count", SpecJson.Serialize(bdt.Spec)); // derived from depth, not a setting
        string[] settings = ["trees: 7", "depth: 3", "learning_rate: 0.3", "leaves: 9", "min_events_per_leaf: 2", "bins: 63", "per_mass: true"];
        var specs = settings.Select(s => StudyText.Expand(head + $"  model: {{kind: bdt, {s}}}\n").Single()).ToList();
        Assert.Equal(settings.Length + 1, specs.Select(t => t.TrialId).Append(bdt.TrialId).Distinct().Count());
        Assert.Equal(new BoostingSpec { Trees = 7 }, specs[0].Spec.Model.Boosting);
        Assert.Equal(new BoostingSpec { PerMass = true }, specs[^1].Spec.Model.Boosting);
        // The properties of BoostingSpec are exactly the settings above (a new one needs its line here and in the reader).
        Assert.Equal(7, typeof(BoostingSpec).GetProperties(BindingFlags.Public | BindingFlags.Instance).Count(p => p.CanWrite && p.Name != "EqualityContract"));
    }

    [Fact]
    public void Writing_a_kinds_own_conditioning_or_a_range_as_a_list_keeps_the_id()
    {
        const string head = "study: t\ndata: {source: gaussian-toy}\nbase:\n  schedule: [{loss: bce, epochs: 5}]\n";
        var own = StudyText.Expand(head + "  model: {kind: affine-pnn, conditioning: {method: affine, place: all}}\n").Single();
        var implicitOwn = StudyText.Expand(head + "  model: {kind: affine-pnn}\n").Single();
        var other = StudyText.Expand(head + "  model: {kind: affine-pnn, conditioning: {place: start}}\n").Single();
        Assert.Equal(implicitOwn.TrialId, own.TrialId);
        Assert.NotEqual(own.TrialId, other.TrialId);
        Assert.Equal(new ConditioningSpec("affine", "start"), other.Spec.Model.Conditioning);
    }

    /// <summary>
    /// mass_encoding (issue 20): an encoding equal to the rule before the option existed is stored as
    /// nothing, so pnn, dnn and per-mass trials keep every id; affine-pnn's new default (`scaled`) is
    /// written into its spec, so affine-pnn trials that leave it out get new ids, and writing
    /// `mass_encoding: standardized` gives back exactly the ids they had.
    /// </summary>
    [Fact]
    public void Mass_encoding_keeps_every_old_id_unless_a_model_encodes_the_mass_differently()
    {
        const string head = "study: t\ndata: {source: gaussian-toy}\nbase:\n  schedule: [{loss: bce, epochs: 5}]\n";
        PlannedTrial Trial(string model) => StudyText.Expand(head + $"  model: {model}\n").Single();
        // The id a spec had before the field existed: the same spec without it.
        string Legacy(string model)
        {
            var spec = Trial(model).Spec;
            return TrialIdentity.TrialId(spec with { Model = spec.Model with { MassEncoding = null } });
        }

        foreach (var kind in new[] { "pnn", "affine-pnn" })
        {
            Assert.Equal(Legacy($"{{kind: {kind}}}"), Trial($"{{kind: {kind}, mass_encoding: standardized}}").TrialId);
            Assert.Equal(Legacy($"{{kind: {kind}, standardize: false}}"), Trial($"{{kind: {kind}, standardize: false, mass_encoding: scaled}}").TrialId);
            Assert.NotEqual(Legacy($"{{kind: {kind}}}"), Trial($"{{kind: {kind}, mass_encoding: scaled}}").TrialId);
        }
        Assert.Equal(Legacy("{kind: pnn}"), Trial("{kind: pnn}").TrialId);
        Assert.Null(Trial("{kind: pnn}").Spec.Model.MassEncoding);
        Assert.Equal("scaled", Trial("{kind: affine-pnn}").Spec.Model.MassEncoding);
        Assert.NotEqual(Legacy("{kind: affine-pnn}"), Trial("{kind: affine-pnn}").TrialId);
        Assert.DoesNotContain("mass_encoding", SpecJson.Serialize(Trial("{kind: pnn}").Spec));
        Assert.Null(Trial("{kind: dnn}").Spec.Model.MassEncoding);
    }
}
