using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Search;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Orchestrator.Studies;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Search;

/// <summary>
/// An adaptive search run through <see cref="StudyExecution"/> and the store, with an in-process launcher whose trials
/// report a validation curve that depends on their learning rate (best near 3e-3): proposals recorded once each, pruned
/// trials recorded as pruned with their epoch and reason and stopped early, one slot reproducible, two orchestrators on
/// one study proposing no number and no point twice.
/// </summary>
public sealed class SearchRunTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("studies-search-run-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private const int Epochs = 27;

    private static string StudyText(string sampler = "tpe", int samples = 14, string pruner = "{kind: asha, min_epochs: 1, reduction: 3}") => $$$"""
        study: search-run
        data:
          source: gaussian-toy
          options: {masses: [-1.5, -0.5, 0.5, 1.5], events_per_mass: 200}
          holdout: every-second
        base:
          model: {kind: pnn, hidden: [4], activation: tanh}
          schedule:
            - {loss: bce, epochs: {{{Epochs}}}, optimizer: adam, lr: 1.0e-2, batch: 64, keep_best: roc_auc}
          evaluation: {validation_every: 1}
        search:
          sampler: {{{sampler}}}
          samples: {{{samples}}}
          seed: 11
          pruner: {{{pruner}}}
          objective: roc_auc
          space:
            schedule[0].lr: {loguniform: [1.0e-4, 1.0e-1]}
            model.hidden: {choice: {small: [4], large: [8, 8]}}
        """;

    private Study Load(string text) => StudyLoader.Parse(text, "search-run.yaml", dir);

    /// <summary>Trials whose validation AUC rises to a plateau set by how far log10(lr) is from log10(3e-3); stops when asked.</summary>
    private sealed class CurveLauncher : ITrialLauncher
    {
        public int EpochsRun;
        public readonly List<string> Launched = [];

        public async Task<TrialExit> RunAsync(string trialId, string specJson, DeviceSlot slot, string checkpointDirectory, TimeSpan? timeout,
            Action<TrialProgress> progress, CancellationToken stopping, CancellationToken kill)
        {
            lock (Launched) Launched.Add(trialId);
            var phase = JsonNode.Parse(specJson)!["schedule"]![0]!;
            var lr = (phase["learning_rate"] ?? phase["lr"])!.GetValue<double>();
            var plateau = 0.95 - 0.1 * Math.Abs(Math.Log10(lr) - Math.Log10(3e-3));
            var epochs = new List<EpochRecord>();
            for (var epoch = 1; epoch <= Epochs; epoch++)
            {
                if (stopping.IsCancellationRequested)
                    return new TrialExit.Finished(new TrialResult { Outcome = TrialOutcome.Cancelled, Epochs = epochs, LastEpoch = epoch - 1 }, new Dictionary<string, string>());
                var auc = plateau - 0.3 / epoch;
                var metrics = new Dictionary<string, double> { ["loss"] = 1 - auc, [MetricNames.RocAuc] = auc };
                epochs.Add(new EpochRecord(0, epoch, metrics));
                Interlocked.Increment(ref EpochsRun);
                progress(new TrialProgress(trialId, slot.Device, 0, epoch, Epochs, metrics));
                await Task.Delay(15, CancellationToken.None);
            }
            return new TrialExit.Finished(new TrialResult { Outcome = TrialOutcome.Completed, Epochs = epochs, BestEpoch = Epochs, LastEpoch = Epochs },
                new Dictionary<string, string>());
        }
    }

    private sealed class NullObserver : IExecutionObserver;

    private static readonly SchedulingOptions Fast = new() { LeaseSeconds = 5, HeartbeatSeconds = 0.05, IdlePollSeconds = 0.05 };

    private async Task<(IStudyStorage Store, StudyRow Row)> OpenAsync(Study study, string file)
    {
        var store = await SqliteStudyStorage.OpenAsync(Path.Combine(dir, file));
        var row = await store.SyncStudyAsync(new StudyDefinition(study.Name, null, study.Text, study.DefinitionHash, study.Data.Hash,
            new StudySettings { IsSearch = true }), [], false);
        return (store, row);
    }

    private Task<StateCounts> RunAsync(Study study, IStudyStorage store, StudyRow row, ITrialLauncher launcher, int slots) =>
        new StudyExecution(store, launcher, Fast, NullLogger.Instance) { Search = SearchDriver.For(study, NullLogger.Instance) }
            .RunAsync(row, Enumerable.Range(0, slots).Select(i => new DeviceSlot(i, "cpu", 1)).ToList(),
                new ExecutionOptions { ArtifactsDirectory = Path.Combine(dir, "artifacts"), Retry = new RetryPolicy(1, 0.01) },
                new NullObserver(), CancellationToken.None, CancellationToken.None);

    [Fact]
    public async Task Every_proposal_is_recorded_once_before_it_runs_and_pruned_trials_stop_early_with_their_reason()
    {
        var study = Load(StudyText());
        Assert.True(study.Search!.Adaptive);
        Assert.Empty(StudyExpander.Recorded(study));
        var (store, row) = await OpenAsync(study, "a.db");
        await using var _ = store;
        var launcher = new CurveLauncher();
        var counts = await RunAsync(study, store, row, launcher, slots: 2);

        var proposals = await store.ListProposalsAsync(row.Id);
        Assert.Equal(Enumerable.Range(0, 14), proposals.Select(p => p.Proposal.Number));
        Assert.All(proposals, p => Assert.Single(p.TrialIds));
        Assert.Equal(14, proposals.Select(p => p.TrialIds[0]).Distinct().Count());
        // Every recorded trial ran exactly once, and nothing is left queued or running.
        var all = await store.ListTrialsAsync(row.Id);
        Assert.True(proposals.Select(p => p.TrialIds[0]).Order().SequenceEqual(launcher.Launched.Order()),
            string.Join("\n", all.Select(t => $"{t.TrialId} {t.State} attempts {t.Attempts} {t.Error}")) + "\nlaunched: " + string.Join(" ", launcher.Launched));
        Assert.Equal(0, counts.Left);
        var trials = (await store.ListTrialsAsync(row.Id)).ToList();
        var pruned = trials.Where(t => t.State == TrialState.Pruned).ToList();
        Assert.NotEmpty(pruned);
        Assert.All(pruned, t => Assert.Matches(@"^pruned at epoch \d+: value .* at rung \d", t.Error));
        Assert.Equal(14, pruned.Count + counts.Count(TrialState.Completed));
        // Pruning saved epochs: fewer than every trial running to its end.
        Assert.True(launcher.EpochsRun < 14 * Epochs, $"{launcher.EpochsRun} epochs of {14 * Epochs}");
        // A pruned trial keeps the curve it had (no metric row lost).
        Assert.NotEmpty(await store.LoadEpochsAsync(row.Id, pruned[0].TrialId));
    }

    [Fact]
    public async Task With_one_slot_the_proposals_are_a_function_of_the_study_alone()
    {
        var study = Load(StudyText(samples: 12));
        var points = new List<string>();
        foreach (var file in new[] { "one.db", "two.db" })
        {
            var (store, row) = await OpenAsync(study, file);
            await using var _ = store;
            await RunAsync(study, store, row, new CurveLauncher(), slots: 1);
            points.Add(string.Join("\n", (await store.ListProposalsAsync(row.Id)).Select(p =>
                string.Join(",", p.Proposal.Point.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value:R}")))));
        }
        Assert.Equal(12, points[0].Split('\n').Length);
        Assert.Equal(points[0], points[1]);
    }

    [Fact]
    public async Task Two_orchestrators_on_one_study_propose_no_number_and_no_point_twice()
    {
        var study = Load(StudyText(samples: 16, pruner: "none"));
        var (first, row) = await OpenAsync(study, "shared.db");
        await using var _ = first;
        await using var second = await SqliteStudyStorage.OpenAsync(Path.Combine(dir, "shared.db"));
        var launchers = new[] { new CurveLauncher(), new CurveLauncher() };
        await Task.WhenAll(RunAsync(study, first, row, launchers[0], slots: 1), RunAsync(study, second, row, launchers[1], slots: 1));

        var proposals = await first.ListProposalsAsync(row.Id);
        Assert.Equal(Enumerable.Range(0, 16), proposals.Select(p => p.Proposal.Number));
        var points = proposals.Select(p => string.Join(",", p.Proposal.Point.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value:R}"))).ToList();
        Assert.Equal(16, points.Distinct().Count());
        // Both took part, and no trial ran twice.
        Assert.All(launchers, l => Assert.NotEmpty(l.Launched));
        var launched = launchers.SelectMany(l => l.Launched).ToList();
        Assert.Equal(launched.Count, launched.Distinct().Count());
        Assert.Equal(16, (await first.CountStatesAsync(row.Id)).Count(TrialState.Completed));
    }

    [Fact]
    public async Task A_proposal_applies_its_point_to_every_matrix_combination_and_skips_inactive_conditional_parameters()
    {
        var study = Load(StudyText().Replace("""
            model.hidden: {choice: {small: [4], large: [8, 8]}}
        """, """
            model.hidden: {choice: {small: [4], large: [8, 8]}}
            schedule[0].batch: {choice: [32, 128], when: {model.hidden: [large]}}
        """) + "\nmatrix:\n  seed: [1, 2, 3]\n");
        var small = StudyExpander.ForPoint(study, new Dictionary<string, double> { ["schedule[0].lr"] = 0.002, ["model.hidden"] = 0 });
        Assert.Equal(3, small.Count);
        Assert.Equal([1UL, 2UL, 3UL], small.Select(t => t.Spec.Seed));
        Assert.All(small, t => Assert.Equal(64, t.Spec.Schedule[0].Batch));
        Assert.All(small, t => Assert.Equal("-", t.Axes["schedule[0].batch"]));
        var large = StudyExpander.ForPoint(study, new Dictionary<string, double> { ["schedule[0].lr"] = 0.002, ["model.hidden"] = 1, ["schedule[0].batch"] = 1 });
        Assert.All(large, t => Assert.Equal(128, t.Spec.Schedule[0].Batch));
        Assert.All(large, t => Assert.Equal([8, 8], t.Spec.Model.Hidden));
        Assert.All(large, t => Assert.Equal(0.002, t.Spec.Schedule[0].LearningRate));
        // The sampler sees the condition.
        var when = SearchDriver.SpaceOf(study.Search!).Dimensions[2].When!;
        Assert.Equal("model.hidden", when.Parameter);
        Assert.Equal([1], when.Values);
    }

    [Theory]
    [InlineData("sampler: annealing", "search.sampler")]
    [InlineData("pruner: {kind: asha, eta: 3}", "'eta' is not an option of pruner 'asha'")]
    [InlineData("objectives: [roc_auc, sigma_min_best_cut]\n  pruner: median", "pruner 'median' judges one objective")]
    [InlineData("objective: roc_auc\n  objectives: [roc_auc]", "both 'objective' and 'objectives'")]
    public void A_wrong_search_section_is_refused_with_its_line(string replacement, string expected)
    {
        // The replacement's keys take the place of the sampler, pruner and objective lines they name.
        var text = StudyText();
        if (replacement.Contains("objective", StringComparison.Ordinal)) text = text.Replace("  objective: roc_auc\n", "");
        if (replacement.Contains("pruner", StringComparison.Ordinal)) text = text.Replace("  pruner: {kind: asha, min_epochs: 1, reduction: 3}\n", "");
        text = text.Replace("  sampler: tpe\n", "  " + replacement + "\n");
        var error = Assert.Throws<StudyValidationException>(() => Load(text));
        Assert.Contains(expected, error.Message);
    }
}
