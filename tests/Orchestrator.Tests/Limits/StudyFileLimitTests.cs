using System.Diagnostics;
using System.Text;
using Studies.Orchestrator.Tests.EndToEnd;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Tests.Limits;

/// <summary>
/// Study files a new user (or a hostile one) writes: merge-key overrides are honoured, and every
/// limit is a clear positioned error found quickly, before memory grows.
/// </summary>
public sealed class StudyFileLimitTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("studies-limits-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private const string Tail = "data: {source: gaussian-toy}\nbase: {schedule: [{loss: bce, epochs: 1}]}\n";

    private static StudyError Single(string yaml)
    {
        var error = Assert.Throws<StudyValidationException>(() => StudyText.Load(yaml));
        return Assert.Single(error.Errors);
    }

    /// <summary>Loads under a clock and an allocation meter: the limits must act before work or memory grows.</summary>
    private static StudyValidationException Rejected(string yaml, double maxSeconds = 2, long maxBytes = 200L << 20)
    {
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<StudyValidationException>(() => StudyText.Load(yaml));
        Assert.True(clock.Elapsed.TotalSeconds < maxSeconds, $"took {clock.Elapsed.TotalSeconds:F2} s");
        var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.True(bytes < maxBytes, $"allocated {bytes >> 20} MB");
        return error;
    }

    [Fact]
    public void A_merge_key_is_overridden_by_keys_written_before_or_after_it()
    {
        var trials = StudyText.Expand("""
            study: merge
            x-adam: &adam {optimizer: adam, lr: 5.0e-4, batch: 1024}
            x-net: &net
              kind: pnn
              hidden: [8, 4]
              activation: tanh
            data: {source: gaussian-toy}
            base:
              model:
                hidden: [16]
                <<: *net
              schedule:
                - {<<: *adam, loss: bce, lr: 1.0e-3, epochs: 2}
            """);
        var spec = Assert.Single(trials).Spec;
        Assert.Equal(("pnn", "tanh"), (spec.Model.Kind, spec.Model.Activation));
        Assert.Equal([16], spec.Model.Hidden);
        Assert.Equal((1.0e-3, 1024, "adam"), (spec.Schedule[0].LearningRate, spec.Schedule[0].Batch, spec.Schedule[0].Optimizer));
    }

    [Fact]
    public void A_merge_key_inside_a_matrix_variant_is_overridden_too()
    {
        var trials = StudyText.Expand("""
            study: merge
            x-adam: &adam {optimizer: adam, lr: 5.0e-4, batch: 1024}
            data: {source: gaussian-toy}
            base: {schedule: [{loss: bce, epochs: 1}]}
            matrix:
              schedule:
                fast: [{<<: *adam, loss: bce, epochs: 1, lr: 0.1}]
                slow: [{loss: bce, <<: *adam, epochs: 3}]
            """);
        Assert.Equal([0.1, 5.0e-4], trials.Select(t => t.Spec.Schedule[0].LearningRate));
        Assert.Equal([1, 3], trials.Select(t => t.Spec.Schedule[0].Epochs));
    }

    [Fact]
    public void A_key_written_twice_is_still_a_duplicate_next_to_a_merge()
    {
        var error = Single("x-a: &a {lr: 1}\nstudy: d\n" + "data: {source: gaussian-toy}\nbase: {schedule: [{<<: *a, loss: bce, epochs: 1, epochs: 2}]}\n");
        Assert.Equal((4, 50), (error.Line, error.Column));
        Assert.StartsWith("duplicate key 'epochs'", error.Message);
    }

    [Fact]
    public void A_billion_laughs_file_is_rejected_at_the_alias_that_passes_the_limit()
    {
        var yaml = new StringBuilder("study: bomb\nx-a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (var i = 1; i < 10; i++) yaml.Append($"x-a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))}]\n");
        var error = Assert.Single(Rejected(yaml + Tail).Errors);
        Assert.Equal((6, 7), (error.Line, error.Column)); // a4: 10^5 values
        Assert.Contains($"more than {StudyLimits.MaxExpandedNodes:N0} values", error.Message);
    }

    [Theory]
    [InlineData(10_000)]
    [InlineData(200_000)]
    public void Deep_nesting_is_rejected_at_the_level_past_the_limit(int depth)
    {
        var yaml = "study: deep\ndata: {source: gaussian-toy, options: {masses: " + new string('[', depth) + new string(']', depth) + "}}\n"
            + "base: {schedule: [{loss: bce, epochs: 1}]}\n";
        var error = Assert.Single(Rejected(yaml).Errors);
        // The first '[' (column 48) is at depth 3 (the root is 0, data 1, options 2); depth MaxDepth is refused.
        Assert.Equal((2, 48 + StudyLimits.MaxDepth - 3), (error.Line, error.Column));
        Assert.Contains($"nesting deeper than {StudyLimits.MaxDepth}", error.Message);
    }

    [Fact]
    public void A_long_study_name_is_rejected_at_validation_with_its_length()
    {
        var error = Single($"study: {new string('a', 300)}\n{Tail}");
        Assert.Equal((1, 8), (error.Line, error.Column));
        Assert.Contains($"300 characters; at most {StudyLimits.MaxNameLength}", error.Message);
        Assert.Equal(new string('a', 100), StudyText.Load($"study: {new string('a', 100)}\n{Tail}").Name);
    }

    [Theory]
    [InlineData("epochs: 10000000000", "epochs must be at most 2147483647, got 10000000000")]
    [InlineData("epochs: 99999999999999999999999", "epochs is far too large")]
    [InlineData("epochs: 1, batch: 3000000000", "batch must be at most 2147483647, got 3000000000")]
    [InlineData("epochs: 1, plateau: {patience: 2147483648}", "plateau.patience must be at most 2147483647")]
    public void Whole_numbers_beyond_their_range_are_rejected_not_clamped(string phase, string message)
    {
        var error = Single($"study: big\ndata: {{source: gaussian-toy}}\nbase: {{schedule: [{{loss: bce, {phase}}}]}}\n");
        Assert.Equal(3, error.Line);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Resources_beyond_their_range_are_rejected_not_clamped()
    {
        var error = Single($"study: r\n{Tail}resources: {{threads_per_trial: 5000}}\n");
        Assert.Equal((4, 32), (error.Line, error.Column));
        Assert.Contains("threads_per_trial must be at most 1024, got 5000", error.Message);
    }

    [Fact]
    public void Search_samples_over_the_limit_are_rejected_with_the_number_written()
    {
        var error = Rejected($"study: s\n{Tail}search: {{samples: 1000000, space: {{\"schedule[0].lr\": {{loguniform: [1.0e-3, 1]}}}}}}\n").Errors.Single();
        Assert.Equal((4, 19), (error.Line, error.Column));
        Assert.Contains("search.samples must be at most 100000, got 1000000", error.Message);
    }

    [Fact]
    public void An_expansion_over_the_limit_is_rejected_with_the_true_count_before_expanding()
    {
        var axes = string.Join("\n", Enumerable.Range(0, 25).Select(i => $"  data.options.x{i}: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"));
        var error = Rejected($"study: s\ndata: {{source: csv, options: {{path: x.csv}}}}\nbase: {{schedule: [{{loss: bce, epochs: 1}}]}}\nmatrix:\n{axes}\n").Errors;
        // 10^25 combinations: far past a long, still reported as a count.
        Assert.Contains(error, e => e.Line == 5 && e.Message.Contains("expands to 1E+25 trials; at most 100,000"));

        var paired = Rejected($"study: s\n{Tail}matrix: {{seed: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}}\nsearch: {{samples: 50000, space: {{\"schedule[0].lr\": {{loguniform: [1.0e-3, 1]}}}}}}\n").Errors.Single();
        Assert.Contains("expands to 500,000 trials (10 matrix combinations x 50,000 search samples); at most 100,000", paired.Message);
    }

    [Fact]
    public void An_exclude_that_removes_every_trial_is_rejected()
    {
        var error = Single($"study: e\n{Tail}matrix: {{seed: [1, 2]}}\nexclude:\n  - {{seed: 1}}\n  - {{seed: 2}}\n");
        Assert.Equal((6, 3), (error.Line, error.Column));
        Assert.Contains("remove all 2 matrix combinations; nothing would run", error.Message);
    }

    [Fact]
    public void A_folder_given_as_the_study_file_is_named_as_a_folder()
    {
        var error = Assert.Single(Assert.Throws<StudyValidationException>(() => StudyLoader.Load(dir)).Errors);
        Assert.Equal($"{dir}:1:1: this is a folder, not a study file; give the YAML file inside it (e.g. studies/quickstart.yaml)", error.ToString());
    }

    [Fact]
    public void A_file_over_the_size_limit_is_rejected_without_reading_it()
    {
        var path = Path.Combine(dir, "big.yaml");
        using (var file = File.Create(path)) file.SetLength(StudyLimits.MaxFileBytes + 1);
        var error = Assert.Single(Assert.Throws<StudyValidationException>(() => StudyLoader.Load(path)).Errors);
        Assert.Contains($"at most {StudyLimits.MaxFileBytes:N0}", error.Message);
    }

    [Fact]
    public void A_NUL_byte_in_the_file_or_in_a_value_is_rejected_where_it_is()
    {
        var raw = Single($"study: n\ndata: {{source: gaussian-toy}}\nbase: {{schedule: [{{loss: bce, epochs: 1}}], device: \"cp\0u\"}}\n");
        Assert.Equal((3, 55), (raw.Line, raw.Column));
        Assert.Contains("NUL byte", raw.Message);
        var escaped = Single($"study: n\ndescription: \"a\\0b\"\n{Tail}");
        Assert.Equal((2, 14), (escaped.Line, escaped.Column));
        Assert.Contains("NUL character", escaped.Message);
    }

    [Fact]
    public void A_typo_in_any_components_options_is_found_at_validation_with_a_suggestion()
    {
        var errors = Assert.Throws<StudyValidationException>(() => StudyText.Load("""
            study: t
            data:
              source: recoil-toy
              options: {signal_per_mas: 100, background_events: {mumu: 10, tau_pair: 4}}
            base:
              model: {kind: pnn, conditioning: {methd: affine}}
              schedule: [{loss: punzi, epochs: 1, loss_options: {n_sigm: 2}}]
            """)).Errors.Select(e => e.ToString()).ToList();
        Assert.Equal(
        [
            "inline.yaml:4:13: unknown key 'signal_per_mas', did you mean 'signal_per_mass'?",
            "inline.yaml:4:64: unknown key 'tau_pair', did you mean 'taupair'?",
            "inline.yaml:6:37: unknown key 'methd', did you mean 'method'?",
            "inline.yaml:7:54: unknown option 'n_sigm' of loss 'punzi', did you mean 'n_sigma'?",
        ], errors);
    }

    [Fact]
    public void A_wrong_value_of_a_data_option_is_found_at_validation()
    {
        var error = Single("study: t\ndata: {source: lovasz-toy, options: {case: 3, luminosity: -1}}\nbase: {schedule: [{loss: bce, epochs: 1}]}\n".Replace(", luminosity: -1", ""));
        Assert.Equal((2, 44), (error.Line, error.Column));
        Assert.Contains("data.options.case must be at most 2, got 3", error.Message);
    }

    [Fact]
    public async Task Cuda_on_this_host_ends_run_with_one_line_and_exit_2_and_records_nothing()
    {
        if (Trials.Engine.Torch.CudaDeviceCount() > 0) return; // the check under test needs a host without CUDA; LocalExecutorPlanTests cover the logic
        var path = Path.Combine(dir, "cuda.yaml");
        await File.WriteAllTextAsync(path, "study: c\ndata: {source: gaussian-toy}\nbase: {schedule: [{loss: bce, epochs: 1}], device: cuda}\n");
        // A generous limit: this only guards against a hang, and the runtime and libtorch start slowly on a loaded machine.
        var (result, _) = await Child.RunTimedAsync(["--home", Path.Combine(dir, "home"), "run", path], TimeSpan.FromSeconds(180));
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.StartsWith($"error: {path}: the study asks for device cuda, but libtorch", line);
        Assert.Contains("sees no CUDA device on this host", line);
        Assert.False(File.Exists(Path.Combine(dir, "home", "studies.db")));
    }
}
