namespace Studies.Orchestrator.Tests.Studies;

public sealed class ValidationTests
{
    private static IReadOnlyList<StudyError> Errors(string yaml) =>
        Assert.Throws<StudyValidationException>(() => StudyText.Load(yaml)).Errors;

    [Fact]
    public void A_mistake_in_the_base_is_reported_once_however_many_trials_share_it()
    {
        var errors = Errors("""
            study: t
            data: {source: gaussian-toy}
            base:
              colour: blue
              schedule: [{loss: bce, epochs: 5, lr: -1}]
            matrix: {seed: [1, 2, 3], model.kind: [dnn, pnn]}
            """);
        Assert.Equal(2, errors.Count);
        Assert.Equal((4, 3), (errors[0].Line, errors[0].Column));
        Assert.StartsWith("unknown key 'colour' in base; valid keys: model, schedule", errors[0].Message);
        Assert.Equal("5:41: lr must be positive, got -1", $"{errors[1].Line}:{errors[1].Column}: {errors[1].Message}");
    }

    [Fact]
    public void A_bdt_is_checked_before_anything_runs()
    {
        var errors = Errors("""
            study: t
            data: {source: gaussian-toy}
            base:
              model: {kind: bdt, trees: 0, depth: 30, hidden: [4]}
              schedule: [{loss: bce, epochs: 5}, {loss: punzi, epochs: 5}]
              device: cuda
            matrix:
              model.background_mass_mode: [resampled]
            """).Select(e => $"{e.Line}:{e.Column}: {e.Message}").ToList();
        Assert.Contains(errors, e => e.StartsWith("4:29: trees must be", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("4:39: depth must be", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("4:51: 'hidden' is not an option of model kind 'bdt'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'resampled'", StringComparison.Ordinal) && e.Contains("fixed", StringComparison.Ordinal));
        var plateau = Errors(StudyText.Header + "\nbase:\n  model: {kind: bdt}\n  schedule: [{loss: bce, epochs: 5, plateau: {factor: 0.5}}]\n");
        Assert.Contains(plateau, e => e.Message.Contains("remove plateau", StringComparison.Ordinal));
        var loss = Errors(StudyText.Header + "\nbase:\n  model: {kind: bdt}\n  schedule: [{loss: punzi, epochs: 5}]\n");
        Assert.Contains(loss, e => e.Message.StartsWith("model kind 'bdt' boosts the log-loss: its schedule must be one bce phase", StringComparison.Ordinal));
        var device = Errors(StudyText.Header + "\nbase:\n  model: {kind: bdt}\n  device: cuda\n  schedule: [{loss: bce, epochs: 5}]\n");
        Assert.Contains(device, e => e.Message.Contains("CPU only", StringComparison.Ordinal) && e.Line == 5);
    }

    [Fact]
    public void Errors_come_sorted_by_position_and_print_as_file_line_column_message()
    {
        var e = Assert.Throws<StudyValidationException>(() => StudyLoader.Parse("""
            study: t
            data: {source: nope}
            base:
              schedule: [{loss: nope, epochs: 0}]
            """, "my.yaml", "."));
        Assert.Equal(3, e.Errors.Count);
        Assert.Equal(e.Errors.OrderBy(x => x.Position), e.Errors);
        Assert.StartsWith("my.yaml:2:16: unknown data source 'nope'", e.Errors[0].ToString());
        Assert.Contains("my.yaml:4:35: epochs must be at least 1, got 0", e.Message);
    }

    [Fact]
    public void A_missing_study_file_is_a_validation_error_naming_the_file()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "no-such-study.yaml");
        var error = Assert.Single(Assert.Throws<StudyValidationException>(() => StudyLoader.Load(path)).Errors);
        Assert.Equal(path, error.File);
        Assert.Contains("cannot read the study file", error.Message);
    }

    [Fact]
    public void Identical_trials_from_different_combinations_are_refused()
    {
        var errors = Errors("""
            study: t
            data: {source: gaussian-toy}
            base: {schedule: [{loss: bce, epochs: 5}]}
            matrix:
              model:
                a: {kind: dnn}
                b: {kind: dnn, hidden: [8, 4]}
            """);
        Assert.Contains("two combinations give the same trial", Assert.Single(errors).Message);
    }

    [Fact]
    public void Matrix_paths_may_set_settings_the_base_leaves_to_their_defaults()
    {
        var trials = StudyText.Expand("""
            study: t
            data: {source: gaussian-toy}
            base: {schedule: [{loss: bce, epochs: 5}]}
            matrix:
              model.conditioning.place: [all, end]
              model.kind: [pnn]
              data.split.train: [0.6]
              evaluation.validation_every: [0, 5]
            """);
        Assert.Equal(4, trials.Count);
        Assert.Equal(["all", "all", "end", "end"], trials.Select(t => t.Spec.Model.Conditioning!.Place));
        Assert.Equal([0, 5, 0, 5], trials.Select(t => t.Spec.Evaluation.ValidationEvery));
    }

    [Fact]
    public void The_method_options_reach_the_spec_through_the_registries()
    {
        var trials = StudyText.Expand("""
            study: t
            data: {source: recoil-toy, options: {version: 2}}
            base:
              model: {kind: pnn, standardize: false, background_mass_mode: resampled-batch}
              schedule: [{loss: bce, epochs: 5, optimizer: radam, weighting: balanced, events: in-windows}]
            matrix:
              model.standardize: [true, false]
            """);
        Assert.Equal([true, false], trials.Select(t => t.Spec.Model.Standardize));
        Assert.All(trials, t => Assert.Equal("resampled-batch", t.Spec.Model.BackgroundMassMode));
        Assert.All(trials, t => Assert.Equal("radam", t.Spec.Schedule[0].Optimizer));
        Assert.All(trials, t => Assert.Equal("balanced", t.Spec.Schedule[0].LossOptions["weighting"]!.ToString()));
        Assert.All(trials, t => Assert.Equal("2", t.Spec.Data.Options["version"]!.ToString()));
    }
}
