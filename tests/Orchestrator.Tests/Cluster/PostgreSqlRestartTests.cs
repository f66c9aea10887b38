using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.PostgreSql;
using Studies.Orchestrator.Tests.EndToEnd;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Cluster;

/// <summary>
/// The shared store goes away mid-study (a restart of PostgreSQL): the run waits, reconnects and completes. Shown on the
/// claim loop alone (an outage shorter than the lease: nothing is stopped), and on <c>studies run</c> itself with real
/// workers (an outage longer than the lease: running trials are stopped by their owner and resume).
/// </summary>
public sealed class PostgreSqlRestartTests(PostgreSqlServer server) : IClassFixture<PostgreSqlServer>
{
    /// <summary>Each trial reports two epochs over half a second and completes.</summary>
    private sealed class SteadyLauncher : ITrialLauncher
    {
        public int Launches;

        public async Task<TrialExit> RunAsync(string trialId, string specJson, DeviceSlot slot, string checkpointDirectory, TimeSpan? timeout,
            Action<TrialProgress> progress, CancellationToken stopping, CancellationToken kill)
        {
            Interlocked.Increment(ref Launches);
            for (var epoch = 1; epoch <= 2; epoch++)
            {
                await Task.Delay(250, CancellationToken.None);
                progress(new TrialProgress(trialId, slot.Device, 0, epoch, 2, new Dictionary<string, double> { ["loss"] = 1.0 / epoch }));
            }
            return new TrialExit.Finished(new TrialResult
            {
                Outcome = TrialOutcome.Completed,
                Epochs = [new EpochRecord(0, 1, new Dictionary<string, double> { ["loss"] = 1 }), new EpochRecord(0, 2, new Dictionary<string, double> { ["loss"] = 0.5 })],
                BestEpoch = 2,
                LastEpoch = 2,
            }, new Dictionary<string, string>());
        }
    }

    private sealed class QuietObserver : IExecutionObserver;

    [Fact]
    public async Task A_restart_of_the_server_mid_study_makes_the_run_wait_and_complete_every_trial_once()
    {
        var location = await server.CreateDatabaseAsync();
        await using var store = await PostgreSqlStudyStorage.OpenAsync(location);
        var rows = Enumerable.Range(0, 16).Select(i => new PlannedTrialRow($"t{i:D2}", "{}", new Dictionary<string, string> { ["seed"] = $"{i}" })).ToList();
        var study = await store.SyncStudyAsync(new StudyDefinition("restart", null, "def", "h", "d", new StudySettings()), rows, false);
        var launcher = new SteadyLauncher();
        // A lease far longer than the outage: the run's own trials must not be taken from it meanwhile.
        var scheduling = new SchedulingOptions { LeaseSeconds = 120, HeartbeatSeconds = 0.2, IdlePollSeconds = 0.1 };
        var execution = new StudyExecution(store, launcher, scheduling, NullLogger.Instance);
        var options = new ExecutionOptions { ArtifactsDirectory = Path.Combine(Path.GetTempPath(), "studies-restart-" + Guid.NewGuid().ToString("N")) };
        var slots = new[] { new DeviceSlot(0, "cpu", 1), new DeviceSlot(1, "cpu", 1) };
        var run = execution.RunAsync(study, slots, options, new QuietObserver(), CancellationToken.None, CancellationToken.None);

        // Some trials done, some running: then the server goes away for a few seconds.
        var clock = Stopwatch.StartNew();
        await using (var watcher = await PostgreSqlStudyStorage.OpenAsync(location, StoreAccess.ReadOnly))
        {
            while ((await watcher.CountStatesAsync(study.Id)).Count(TrialState.Completed) < 3)
            {
                Assert.False(run.IsCompleted, "the run ended before the restart");
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), "no trial completed in 3 minutes");
                await Task.Delay(100);
            }
        }
        server.Stop();
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.False(run.IsCompleted, "the run ended while the store was down");
        await server.StartAsync();

        var counts = await run.WaitAsync(TimeSpan.FromMinutes(5));
        Assert.Equal(16, counts.Count(TrialState.Completed));
        Assert.Equal(16, launcher.Launches); // nothing ran twice
        var trials = await store.ListTrialsAsync(study.Id);
        Assert.All(trials, t => Assert.Equal((TrialState.Completed, 1), (t.State, t.Attempts)));
        foreach (var t in trials) Assert.Equal([1, 2], (await store.LoadEpochsAsync(study.Id, t.TrialId)).Select(e => e.Epoch));
        Assert.Equal("ok", await store.IntegrityCheckAsync());
    }

    [Fact]
    public async Task Studies_run_waits_through_a_restart_of_its_store_and_completes_every_trial_once()
    {
        using var home = new StudiesHome();
        var location = await server.CreateDatabaseAsync();
        // Longer trials than the end-to-end study's, so that trials are mid-way when the server goes away.
        var study = Path.Combine(home.Root, "e2e-run.yaml");
        File.WriteAllText(study, File.ReadAllText(StudiesHome.StudyFile("e2e-run.yaml"))
            .Replace("- {loss: bce, epochs: 4,", "- {loss: bce, epochs: 12,", StringComparison.Ordinal));
        await using var store = await PostgreSqlStudyStorage.OpenAsync(location);
        using var run = home.Start("run", study, "--store", location, "--workers", "2");

        // One trial done and another running: then the server stops for longer than a lease (3 s in these tests).
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Assert.False(run.HasExited, "the run ended before the restart:\n" + run.Stderr);
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), "no trial completed in 3 minutes");
            if (await store.FindStudyAsync("e2e-run") is { } found)
            {
                var counts = await store.CountStatesAsync(found.Id);
                if (counts.Count(TrialState.Completed) >= 1 && counts.Count(TrialState.Running) >= 1) break;
            }
            await Task.Delay(100);
        }
        server.Stop();
        await Task.Delay(TimeSpan.FromSeconds(5));
        Assert.False(run.HasExited, "the run ended while the store was down:\n" + run.Stderr);
        await server.StartAsync();

        var result = await run.WaitAsync(TimeSpan.FromMinutes(4));
        Assert.True(result.ExitCode == 0, result.ToString());
        // One line when the store stops answering, one when it is back; not one per waiting operation.
        var output = result.Stdout + result.Stderr;
        Assert.Equal(1, Count(output, "does not answer"));
        Assert.Equal(1, Count(output, "answers again"));

        var row = (await store.FindStudyAsync("e2e-run"))!;
        var trials = await store.ListTrialsAsync(row.Id);
        Assert.Equal(4, trials.Count);
        foreach (var t in trials)
        {
            // A trial mid-way through the outage (longer than the lease) is stopped by its own owner before its lease runs
            // out, and resumes from its checkpoint once the store is back: a second attempt, never a second worker at once.
            Assert.Equal(TrialState.Completed, t.State);
            var attempts = await store.ListAttemptsAsync(row.Id, t.TrialId);
            Assert.Equal(t.Attempts, attempts.Count);
            Assert.InRange(t.Attempts, 1, 2);
            Assert.All(attempts.SkipLast(1), a => Assert.Equal("lease-lost", a.Outcome));
            var recorded = await store.LoadResultAsync(row.Id, t);
            Assert.Equal(Enumerable.Range(1, t.LastEpoch!.Value), recorded.Epochs.Select(e => e.Epoch));
            Assert.Equal(5 * 2 * 2, recorded.Masses.Select(m => (m.Mass, m.Split, m.EpochKind)).Distinct().Count());
            Assert.Equal(recorded.Masses.Count, recorded.Masses.Select(m => (m.Mass, m.Split, m.EpochKind)).Distinct().Count());
        }
        Assert.Equal([4, 4, 12, 12], trials.Select(t => t.LastEpoch!.Value).Order());
        Assert.Equal("ok", await store.IntegrityCheckAsync());
    }

    private static int Count(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;
}
