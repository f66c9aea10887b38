using Microsoft.Extensions.Logging.Abstractions;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Orchestrator.Workers;
using Studies.Trials.Catalog;
using Studies.Trials.Data;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Tests.Components;

/// <summary>
/// Adding a loss is one file (<see cref="BrierLoss"/>) plus one registration line: a study naming it
/// is validated, expanded, scheduled, trained and recorded like any other. The trials run in this
/// process (a worker process would load only the built-in catalog) through the same scheduler and
/// trial runner the worker uses.
/// </summary>
public sealed class AddedLossStudyTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("studies-added-loss-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private const string Study = """
        study: brier-toy
        data: {source: gaussian-toy, options: {masses: [-1, 0, 1], events_per_mass: 300, background_events: 900}}
        base:
          model: {kind: dnn, hidden: [4]}
          schedule:
            - {loss: bce, epochs: 2, optimizer: adam, lr: 0.01, batch: 256}
            - {loss: brier, epochs: 3, optimizer: adam, lr: 0.01, batch: 256, scale: 2}
        matrix:
          seed: [1, 2]
        """;

    /// <summary>Runs each trial in-process with a runner that knows the catalog's losses.</summary>
    private sealed class InProcessLauncher(ITrialRunner runner) : ITrialLauncher
    {
        public Task<TrialExit> RunAsync(string trialId, string specJson, DeviceSlot slot, string checkpointDirectory, TimeSpan? timeout,
            Action<TrialProgress> progress, CancellationToken stopping, CancellationToken kill) => Task.Run<TrialExit>(() =>
        {
            var result = runner.Run(SpecJson.Deserialize<TrialSpec>(specJson), new TrialRunOptions
            {
                CheckpointDirectory = checkpointDirectory,
                OnEpoch = (record, total) => progress(new TrialProgress(trialId, slot.Device, record.Phase, record.Epoch, total, record.Metrics)),
            }, stopping);
            return new TrialExit.Finished(result, new Dictionary<string, string> { ["host"] = "in-process" });
        }, CancellationToken.None);
    }

    private sealed class NullObserver : IExecutionObserver;

    [Fact]
    public void The_built_in_catalog_does_not_know_the_toy_loss()
    {
        var error = Assert.Throws<StudyValidationException>(() => StudyText.Load(Study));
        Assert.Contains(error.Errors, e => e.Line == 7 && e.Message.StartsWith("unknown loss 'brier'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_study_with_a_registered_loss_validates_runs_and_records_every_trial()
    {
        var catalog = ComponentCatalog.BuiltIn.WithLoss(BrierLoss.Entry); // the registration line

        var study = StudyLoader.Parse(Study, "brier.yaml", dir, components: catalog);
        var trials = StudyExpander.Expand(study);
        Assert.Equal(2, trials.Count);
        Assert.All(trials, t => Assert.Equal(2.0, t.Spec.Schedule[1].LossOptions["scale"]!.GetValue<double>()));
        // The option is checked against the entry's schema like a built-in loss's.
        var bad = Assert.Throws<StudyValidationException>(() => StudyLoader.Parse(Study.Replace("scale: 2", "scael: 2"), "brier.yaml", dir, components: catalog));
        Assert.Contains(bad.Errors, e => e.Line == 7 && e.Message.Contains("did you mean 'scale'?"));

        await using var store = await SqliteStudyStorage.OpenAsync(Path.Combine(dir, "studies.db"));
        var row = await store.SyncStudyAsync(new StudyDefinition(study.Name, null, Study, study.DefinitionHash, study.Data.Hash, new StudySettings()),
            trials.Select(t => new PlannedTrialRow(t.TrialId, SpecJson.Serialize(t.Spec), t.Axes)).ToList(), false);
        var runner = new TrialRunner(new TrialDataProvider(catalog.DataSources), new PhaseLossFactory(catalog.Losses), new MassEvaluator());
        var counts = await new StudyExecution(store, new InProcessLauncher(runner), new SchedulingOptions(), NullLogger.Instance).RunAsync(row,
            [new DeviceSlot(0, "cpu", 1)], new ExecutionOptions
            {
                ArtifactsDirectory = Path.Combine(dir, "trials"),
                Retry = new RetryPolicy(0, 0),
            }, new NullObserver(), CancellationToken.None, CancellationToken.None);

        Assert.Equal(2, counts.Count(TrialState.Completed));
        foreach (var trial in await store.ListTrialsAsync(row.Id))
        {
            var result = await store.LoadResultAsync(row.Id, trial);
            Assert.Equal(TrialOutcome.Completed, result.Outcome);
            var brier = result.Epochs.Where(e => e.Phase == 1).Select(e => e.Metrics[MetricNames.Loss]).ToList();
            Assert.Equal(3, brier.Count);
            // scale x mean squared error of a probability: in [0, 2]; BCE of the first phase is not bounded so.
            Assert.All(brier, l => Assert.InRange(l, 0, 2));
            Assert.NotEmpty(result.Masses);
        }
    }
}
