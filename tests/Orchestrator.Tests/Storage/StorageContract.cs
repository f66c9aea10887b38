using System.Collections.Concurrent;
using System.Diagnostics;
using Studies.Orchestrator.Storage;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Storage;

/// <summary>
/// The definition of a store backend: every <see cref="IStudyStorage"/> implementation passes exactly these tests
/// (a subclass per backend says how to open one). They check the invariants written on the interface: the state
/// machine, exactly-once claiming by concurrent threads and processes, ownership by lease, atomic results, the queries.
/// </summary>
public abstract class StorageContract : IAsyncLifetime
{
    /// <summary>Creates a new, empty store for one test and returns its location as <c>--store</c> names it.</summary>
    protected abstract Task<string> CreateStoreAsync();

    /// <summary>A new connection (a new <see cref="IStudyStorage"/>) to the test's store.</summary>
    protected abstract Task<IStudyStorage> OpenAsync(StoreAccess access = StoreAccess.ReadWrite);

    /// <summary>The store as <c>--store</c> names it, for claimers in other processes.</summary>
    protected string Location { get; private set; } = "";

    protected IStudyStorage Store { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Location = await CreateStoreAsync();
        Store = await OpenAsync();
    }

    public virtual async Task DisposeAsync() => await Store.DisposeAsync();

    private static readonly TimeSpan Long = TimeSpan.FromMinutes(5);

    protected static PlannedTrialRow Trial(string id) => new(id, $"{{\"id\":\"{id}\"}}", new Dictionary<string, string> { ["seed"] = id });

    protected static TrialResult Result(int epochs) => new()
    {
        Outcome = TrialOutcome.Completed,
        Epochs = Enumerable.Range(1, epochs).Select(e => new EpochRecord(0, e, new Dictionary<string, double> { ["loss"] = 1.0 / e, ["val_loss"] = double.NaN })).ToList(),
        Masses = [new MassMetrics(1.5, true, SplitKind.Test, EpochKind.Best, epochs, new Dictionary<string, double> { ["roc_auc"] = 0.9 })],
        Phases = [new PhaseTiming(0, "bce", epochs, 1.25)],
        BestEpoch = epochs,
        LastEpoch = epochs,
    };

    protected static StudyDefinition Definition(string name = "s", string text = "def", string dataHash = "d") =>
        new(name, $"{name}.yaml", text, "h-" + text, dataHash, new StudySettings { Description = "a study", Compare = ["model.kind"], Headline = "roc_auc", IsSearch = true });

    protected async Task<StudyRow> StudyAsync(int trials, string name = "s") =>
        await Store.SyncStudyAsync(Definition(name), Enumerable.Range(0, trials).Select(i => Trial($"t{i:D3}")).ToList(), force: false);

    private static TrialClaim Claim(string owner, TimeSpan? lease = null) => new(owner, "cpu", lease ?? Long);

    [Fact]
    public async Task A_poll_of_changes_reads_every_row_once_then_only_rows_whose_state_changed()
    {
        var study = await StudyAsync(50);
        var first = await Store.ListTrialsChangedAsync(study.Id, 0);
        Assert.Equal(50, first.Trials.Select(t => t.TrialId).Distinct().Count());
        // Nothing changed: nothing (or only rows of transactions still open) comes back.
        Assert.Empty((await Store.ListTrialsChangedAsync(study.Id, first.Cursor)).Trials);

        var claimed = (await Store.ClaimNextAsync(study.Id, Claim("w")))!;
        // A heartbeat renews a lease and records progress: no change for a poll.
        Assert.True(await Store.HeartbeatAsync(study.Id, claimed.TrialId, "w", Long, 0, 3));
        var second = await Store.ListTrialsChangedAsync(study.Id, first.Cursor);
        Assert.Equal([claimed.TrialId], second.Trials.Select(t => t.TrialId).Distinct());
        Assert.Equal(TrialState.Running, second.Trials[^1].State);

        Assert.True(await Store.RecordResultAsync(study.Id, claimed.TrialId, "w", TrialState.Completed, Result(2), 1, "{}"));
        var third = await Store.ListTrialsChangedAsync(study.Id, second.Cursor);
        Assert.Equal(TrialState.Completed, Assert.Single(third.Trials, t => t.TrialId == claimed.TrialId).State);
        Assert.DoesNotContain(third.Trials, t => t.TrialId != claimed.TrialId);
    }

    [Fact]
    public async Task Pages_of_trials_and_the_mean_completed_time_are_read_without_reading_every_row()
    {
        var study = await StudyAsync(25);
        var all = TrialStates.All;
        var pages = new List<string>();
        for (var from = 0; from < 25; from += 10)
        {
            var page = await Store.ListTrialsWhereAsync(study.Id, all, int.MaxValue, 10, CancellationToken.None, from);
            Assert.Equal(25, page.Total);
            pages.AddRange(page.Trials.Select(t => t.TrialId));
        }
        // Every trial once, in study order, pages of at most 10.
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"t{i:D3}"), pages);
        Assert.Empty((await Store.ListTrialsWhereAsync(study.Id, all, int.MaxValue, 10, CancellationToken.None, 30)).Trials);

        Assert.Equal((null, 0), await Store.CompletedSecondsAsync(study.Id));
        // Completed in 2 s and 4 s; a failed trial's time does not count.
        foreach (var seconds in new[] { 2.0, 4.0 })
        {
            var t = (await Store.ClaimNextAsync(study.Id, Claim("w")))!;
            Assert.True(await Store.RecordResultAsync(study.Id, t.TrialId, "w", TrialState.Completed, Result(1), seconds, "{}"));
        }
        var failed = (await Store.ClaimNextAsync(study.Id, Claim("w")))!;
        Assert.True(await Store.RecordResultAsync(study.Id, failed.TrialId, "w", TrialState.Failed, Result(1) with { Outcome = TrialOutcome.Failed }, 100, "{}"));
        var (mean, count) = await Store.CompletedSecondsAsync(study.Id);
        Assert.Equal((3.0, 2), (mean!.Value, count));
    }

    [Fact]
    public async Task A_claim_among_given_trials_takes_the_first_of_them_still_queued_and_none_outside_them()
    {
        // A fused pack's mates: only these, lowest ordinal first, each once; none when all of them are taken.
        var study = await StudyAsync(6);
        var among = Claim("w") with { Among = ["t004", "t001", "t005"] };
        Assert.Equal("t001", (await Store.ClaimNextAsync(study.Id, among))!.TrialId);
        Assert.Equal("t004", (await Store.ClaimNextAsync(study.Id, Claim("w2") with { Among = ["t004"] }))!.TrialId);
        Assert.Equal("t005", (await Store.ClaimNextAsync(study.Id, among))!.TrialId);
        Assert.Null(await Store.ClaimNextAsync(study.Id, among));
        Assert.Null(await Store.ClaimNextAsync(study.Id, Claim("w") with { Among = [] }));
        // Without a list, any queued trial, as before.
        Assert.Equal("t000", (await Store.ClaimNextAsync(study.Id, Claim("w")))!.TrialId);
    }

    [Fact]
    public async Task A_cancelled_study_gives_no_trial_to_claimers_even_when_one_is_queued_again_until_it_is_run_again()
    {
        var study = await StudyAsync(3);
        var running = (await Store.ClaimNextAsync(study.Id, Claim("w")))!;
        Assert.Equal(2, await Store.SetCancelledAsync(study.Id));
        // The running trial crashes after the cancel and its retry queues it: no claimer gets it while the study is cancelled.
        Assert.Equal(TrialState.Queued, await Store.RecordFailureAsync(study.Id, running.TrialId, "w",
            new TrialFailure(TrialState.Failed, "crash", "crash", RequeueAt: 0)));
        Assert.Null(await Store.ClaimNextAsync(study.Id, Claim("w2")));
        // Running the study again lifts the cancel.
        await Store.SyncStudyAsync(Definition(), Enumerable.Range(0, 3).Select(i => Trial($"t{i:D3}")).ToList(), force: false);
        Assert.Equal(running.TrialId, (await Store.ClaimNextAsync(study.Id, Claim("w2")))!.TrialId);
    }

    [Fact]
    public async Task A_study_is_recorded_with_its_trials_queued_and_a_result_round_trips()
    {
        var study = await Store.SyncStudyAsync(Definition(), [Trial("a"), Trial("b")], force: false);
        Assert.Equal(2, (await Store.CountStatesAsync(study.Id)).Count(TrialState.Queued));
        var found = (await Store.FindStudyAsync("s"))!;
        Assert.Equal(("def", "d", "a study", "roc_auc", true), (found.Definition, found.DataHash, found.Settings.Description, found.Settings.Headline, found.Settings.IsSearch));
        Assert.Equal(["model.kind"], found.Settings.Compare);
        Assert.Equal(["s"], (await Store.ListStudiesAsync()).Select(s => s.Name));

        var claimed = await Store.ClaimNextAsync(study.Id, Claim("me"));
        Assert.Equal(("a", TrialState.Running, 1, "me"), (claimed!.TrialId, claimed.State, claimed.Attempts, claimed.Owner));
        Assert.True(await Store.RecordResultAsync(study.Id, "a", "me", TrialState.Completed, Result(3), 2.5, "{\"host\":\"x\"}"));

        var row = (await Store.FindTrialAsync(study.Id, "a"))!;
        Assert.Equal((TrialState.Completed, (string?)null, (int?)3, (double?)2.5), (row.State, row.Owner, row.LastEpoch, row.Seconds));
        var loaded = await Store.LoadResultAsync(study.Id, row);
        Assert.Equal(3, loaded.Epochs.Count);
        Assert.Equal(1.0 / 3, loaded.Epochs[2].Metrics["loss"], 12);
        Assert.True(double.IsNaN(loaded.Epochs[0].Metrics["val_loss"]));
        Assert.Equal(0.9, loaded.Masses.Single().Metrics["roc_auc"]);
        Assert.True(loaded.Masses.Single().Heldout);
        Assert.Equal(1.25, loaded.Phases.Single().Seconds);
        Assert.Equal("ok", await Store.IntegrityCheckAsync());
    }

    private static ScoreCurves Curves(double mass, double scale) => new()
    {
        Mass = mass, Heldout = mass > 1, Epoch = 3, BackgroundEfficiency = [1e-4, 0.01, 1], SignalEfficiency = [double.NaN, 0.25 * scale, 1],
        Edges = [0, 0.5, 1], SignalHistogram = [0.1, 0.8 * scale], BackgroundHistogram = [90, 10], Significance = [3.5, double.NaN],
        WorkingCut = 0.75, WorkingSignalEfficiency = 0.6, WorkingBackgroundEfficiency = 0.02, ZCut = double.PositiveInfinity,
    };

    [Fact]
    public async Task Score_curves_round_trip_with_the_result_and_a_result_without_has_none()
    {
        var study = await StudyAsync(2);
        await Store.ClaimNextAsync(study.Id, Claim("me"));
        var recorded = Result(3) with { Curves = [Curves(0.5, 1), Curves(1.5, 1)] };
        Assert.True(await Store.RecordResultAsync(study.Id, "t000", "me", TrialState.Completed, recorded, 1, "{}"));
        var loaded = await Store.LoadResultAsync(study.Id, (await Store.FindTrialAsync(study.Id, "t000"))!);
        Assert.Equal(2, loaded.Curves.Count);
        foreach (var (a, b) in recorded.Curves.Zip(loaded.Curves))
        {
            // Every field, NaN and infinity included, exactly.
            Assert.Equal((a.Mass, a.Heldout, a.Epoch, a.WorkingCut, a.WorkingSignalEfficiency, a.WorkingBackgroundEfficiency, a.ZCut),
                (b.Mass, b.Heldout, b.Epoch, b.WorkingCut, b.WorkingSignalEfficiency, b.WorkingBackgroundEfficiency, b.ZCut));
            foreach (var (x, y) in new[] { (a.BackgroundEfficiency, b.BackgroundEfficiency), (a.SignalEfficiency, b.SignalEfficiency), (a.Edges, b.Edges),
                         (a.SignalHistogram, b.SignalHistogram), (a.BackgroundHistogram, b.BackgroundHistogram), (a.Significance, b.Significance) })
                Assert.Equal(x, y);
        }

        var other = (await Store.ClaimNextAsync(study.Id, Claim("me")))!;
        Assert.True(await Store.RecordResultAsync(study.Id, other.TrialId, "me", TrialState.Completed, Result(2), 1, "{}"));
        Assert.Empty((await Store.LoadResultAsync(study.Id, (await Store.FindTrialAsync(study.Id, other.TrialId))!)).Curves);
        Assert.Equal(2, (await Store.LoadResultAsync(study.Id, (await Store.FindTrialAsync(study.Id, "t000"))!)).Curves.Count);
        Assert.Equal("ok", await Store.IntegrityCheckAsync());
    }

    [Fact]
    public async Task Epoch_batches_while_running_are_replaced_by_the_result_and_nothing_is_duplicated()
    {
        var study = await StudyAsync(1);
        await Store.ClaimNextAsync(study.Id, Claim("me"));
        var batch = Enumerable.Range(1, 3).Select(e => new EpochRecord(0, e, new Dictionary<string, double> { ["loss"] = 9 })).ToList();
        Assert.True(await Store.RecordEpochsAsync(study.Id, "t000", "me", batch));
        Assert.True(await Store.RecordEpochsAsync(study.Id, "t000", "me", batch)); // a batch sent twice
        Assert.Equal(3, (await Store.LoadEpochsAsync(study.Id, "t000")).Count);
        Assert.True(await Store.RecordResultAsync(study.Id, "t000", "me", TrialState.Completed, Result(2), 1, "{}"));
        var epochs = await Store.LoadEpochsAsync(study.Id, "t000");
        Assert.Equal([1, 2], epochs.Select(e => e.Epoch));
        Assert.Equal(1.0 / 2, epochs[1].Metrics["loss"], 12);
    }

    [Fact]
    public async Task Concurrent_claimers_on_threads_each_take_every_trial_exactly_once()
    {
        var study = await StudyAsync(120);
        var claims = new ConcurrentBag<(string Owner, string Trial)>();
        var stores = new List<IStudyStorage>();
        for (var i = 0; i < 6; i++) stores.Add(await OpenAsync());
        try
        {
            await Task.WhenAll(stores.Select((store, i) => Task.Run(async () =>
            {
                var owner = $"thread-{i}";
                while (await store.ClaimNextAsync(study.Id, Claim(owner)) is { } t)
                {
                    claims.Add((owner, t.TrialId));
                    Assert.True(await store.RecordResultAsync(study.Id, t.TrialId, owner, TrialState.Completed, Result(1), 0.1, "{}"));
                    // A trial takes time: without a pause one thread can win every lock on a loaded machine and the
                    // others would never claim anything, which says nothing about exactly-once.
                    await Task.Delay(2);
                }
            })));
        }
        finally
        {
            foreach (var s in stores) await s.DisposeAsync();
        }
        Assert.Equal(120, claims.Count);
        Assert.Equal(120, claims.Select(c => c.Trial).Distinct().Count());
        Assert.True(claims.Select(c => c.Owner).Distinct().Count() > 1, "only one claimer ever got a trial");
        var trials = await Store.ListTrialsAsync(study.Id);
        Assert.All(trials, t => Assert.Equal((TrialState.Completed, 1), (t.State, t.Attempts)));
    }

    [Fact]
    public async Task Concurrent_claimers_in_separate_processes_each_take_every_trial_exactly_once()
    {
        var study = await StudyAsync(200);
        // The claimers start together: each says it is ready once its store is open, and none claims before the go file
        // exists. Otherwise the first process up (on a loaded machine, seconds before the others) takes every trial.
        var gate = Directory.CreateTempSubdirectory("studies-claimers-").FullName;
        var go = Path.Combine(gate, "go");
        var processes = Enumerable.Range(0, 4).Select(i => StartClaimer(study.Name, $"process-{i}", go)).ToList();
        var clock = Stopwatch.StartNew();
        while (Directory.GetFiles(gate, "ready-*").Length < processes.Count && clock.Elapsed < TimeSpan.FromSeconds(120)
            && processes.All(p => !p.HasExited)) await Task.Delay(50);
        await File.WriteAllTextAsync(go, "");
        var outputs = new List<string[]>();
        foreach (var p in processes)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(120)), "a claimer process did not finish");
            Assert.True(p.ExitCode == 0, await stderr);
            outputs.Add((await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries));
            p.Dispose();
        }
        var all = outputs.SelectMany(o => o).ToList();
        Assert.Equal(200, all.Count);
        Assert.Equal(200, all.Distinct().Count());
        Assert.True(outputs.Count(o => o.Length > 0) > 1, "only one process ever got a trial: " + string.Join(",", outputs.Select(o => o.Length)));
        Assert.All(await Store.ListTrialsAsync(study.Id), t => Assert.Equal((TrialState.Completed, 1), (t.State, t.Attempts)));
        Directory.Delete(gate, recursive: true);
    }

    private Process StartClaimer(string study, string owner, string go)
    {
        // tests/Orchestrator.Tests/bin/<Configuration>/net10.0 -> tests/StoreClaimer/bin/<Configuration>/net10.0
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var configuration = output.Parent!.Name;
        var dll = Path.Combine(output.Parent.Parent!.Parent!.Parent!.FullName, "StoreClaimer", "bin", configuration, output.Name, "StoreClaimer.dll");
        Assert.True(File.Exists(dll), $"the claimer is not built: {dll}");
        var start = new ProcessStartInfo(Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { dll, Location, study, owner, go }) start.ArgumentList.Add(a);
        start.Environment.Remove("STUDIES_STORE");
        return Process.Start(start)!;
    }

    [Fact]
    public async Task Only_the_owner_renews_a_lease_and_an_expired_lease_is_reclaimed_and_fenced()
    {
        var study = await StudyAsync(2);
        var live = (await Store.ClaimNextAsync(study.Id, Claim("live")))!;
        // Long enough for the checks below on a loaded machine (each runs a transaction), short enough to wait out.
        var dying = (await Store.ClaimNextAsync(study.Id, Claim("dying", TimeSpan.FromMilliseconds(1500))))!;
        Assert.True(await Store.HeartbeatAsync(study.Id, live.TrialId, "live", Long, phase: 0, epoch: 4));
        Assert.False(await Store.HeartbeatAsync(study.Id, live.TrialId, "intruder", Long));
        Assert.False(await Store.RecordResultAsync(study.Id, live.TrialId, "intruder", TrialState.Completed, Result(1), 1, "{}"));
        Assert.Null(await Store.RecordFailureAsync(study.Id, live.TrialId, "intruder", new TrialFailure(TrialState.Failed, "x", "crash")));
        Assert.Equal(4, (await Store.FindTrialAsync(study.Id, live.TrialId))!.Epoch);

        Assert.Equal(0, await Store.ReclaimExpiredAsync(study.Id)); // both leases still good
        await Task.Delay(1700);
        Assert.True((await Store.FindTrialAsync(study.Id, dying.TrialId))!.LeaseExpired(StoreClock.Now()));
        Assert.Equal(1, await Store.ReclaimExpiredAsync(study.Id));
        var reclaimed = (await Store.FindTrialAsync(study.Id, dying.TrialId))!;
        Assert.Equal((TrialState.Interrupted, "lease-expired", (string?)null), (reclaimed.State, reclaimed.ErrorKind, reclaimed.Owner));
        Assert.Equal(TrialState.Running, (await Store.FindTrialAsync(study.Id, live.TrialId))!.State);

        // The old owner comes back to life: everything it says about the trial is refused.
        Assert.False(await Store.HeartbeatAsync(study.Id, dying.TrialId, "dying", Long));
        Assert.False(await Store.RecordEpochsAsync(study.Id, dying.TrialId, "dying", [new EpochRecord(0, 1, new Dictionary<string, double> { ["loss"] = 1 })]));
        Assert.False(await Store.RecordResultAsync(study.Id, dying.TrialId, "dying", TrialState.Completed, Result(1), 1, "{}"));

        Assert.Equal(1, await Store.RequeueAsync(study.Id, failedToo: false));
        var again = (await Store.ClaimNextAsync(study.Id, Claim("next")))!;
        Assert.Equal((dying.TrialId, 2), (again.TrialId, again.Attempts));
        Assert.False(await Store.RecordResultAsync(study.Id, dying.TrialId, "dying", TrialState.Completed, Result(1), 1, "{}"));
        Assert.True(await Store.RecordResultAsync(study.Id, dying.TrialId, "next", TrialState.Completed, Result(1), 1, "{}"));
        var attempts = await Store.ListAttemptsAsync(study.Id, dying.TrialId);
        Assert.Equal([(1, "dying", (string?)"lease-expired"), (2, "next", "completed")], attempts.Select(a => (a.Attempt, a.Owner, a.Outcome)));
    }

    [Fact]
    public async Task Retries_wait_for_their_backoff_deterministic_failures_end_the_trial_and_retry_keeps_counting_attempts()
    {
        var study = await StudyAsync(2);
        var a = (await Store.ClaimNextAsync(study.Id, Claim("me")))!;
        Assert.Equal(TrialState.Queued, await Store.RecordFailureAsync(study.Id, a.TrialId, "me",
            new TrialFailure(TrialState.Failed, "worker killed", "crash", StoreClock.Now() + 60)));
        var b = (await Store.ClaimNextAsync(study.Id, Claim("me")))!;
        Assert.Equal("t001", b.TrialId);
        Assert.Equal(TrialState.Failed, await Store.RecordFailureAsync(study.Id, b.TrialId, "me", new TrialFailure(TrialState.Failed, "missing file", "error")));
        Assert.Null(await Store.ClaimNextAsync(study.Id, Claim("me"))); // a is backing off, b failed for good
        Assert.True((await Store.NextQueuedTimeAsync(study.Id))!.Value > StoreClock.Now() + 50);
        Assert.Equal("missing file", (await Store.FindTrialAsync(study.Id, "t001"))!.Error);

        Assert.Equal(1, await Store.RequeueAsync(study.Id, failedToo: true));
        var retried = (await Store.ClaimNextAsync(study.Id, Claim("me")))!;
        // Attempts keep counting (two starts); the retry budget starts over (one attempt since the retry).
        Assert.Equal(("t001", 2, 1), (retried.TrialId, retried.Attempts, retried.AttemptsSinceRetry));
    }

    [Fact]
    public async Task Cancelling_stops_queued_and_interrupted_trials_only_and_syncing_again_queues_them()
    {
        var study = await StudyAsync(3);
        var running = (await Store.ClaimNextAsync(study.Id, Claim("me")))!;
        var interrupted = (await Store.ClaimNextAsync(study.Id, Claim("me")))!;
        await Store.RecordFailureAsync(study.Id, interrupted.TrialId, "me", new TrialFailure(TrialState.Interrupted, "stopped", "interrupted"));
        Assert.Equal(2, await Store.SetCancelledAsync(study.Id));
        var counts = await Store.CountStatesAsync(study.Id);
        Assert.Equal((2, 1), (counts.Count(TrialState.Cancelled), counts.Count(TrialState.Running)));
        Assert.True((await Store.FindStudyAsync("s"))!.Cancelled);
        Assert.Null(await Store.ClaimNextAsync(study.Id, Claim("me")));
        Assert.True(await Store.RecordResultAsync(study.Id, running.TrialId, "me", TrialState.Completed, Result(1), 1, "{}"));

        await StudyAsync(3);
        counts = await Store.CountStatesAsync(study.Id);
        Assert.Equal((2, 1), (counts.Count(TrialState.Queued), counts.Count(TrialState.Completed)));
        Assert.False((await Store.FindStudyAsync("s"))!.Cancelled);
    }

    [Fact]
    public async Task An_edited_study_keeps_old_records_and_a_changed_data_definition_needs_force()
    {
        var study = await Store.SyncStudyAsync(Definition(text: "v1"), [Trial("a"), Trial("b")], false);
        await Store.ClaimNextAsync(study.Id, Claim("me"));
        await Store.RecordResultAsync(study.Id, "a", "me", TrialState.Completed, Result(2), 1, "{}");

        await Store.SyncStudyAsync(Definition(text: "v2"), [Trial("c"), Trial("b")], false);
        var trials = await Store.ListTrialsAsync(study.Id);
        Assert.Equal(["c", "b", "a"], trials.Select(t => t.TrialId)); // current definition first, by ordinal
        Assert.False(trials.Single(t => t.TrialId == "a").InDefinition);
        Assert.Equal(TrialState.Completed, trials.Single(t => t.TrialId == "a").State);
        Assert.Equal(2, (await Store.CountStatesAsync(study.Id)).Total); // only the current definition counts
        Assert.Equal("v2", (await Store.FindStudyAsync("s"))!.Definition);

        var error = await Assert.ThrowsAsync<StoreException>(() => Store.SyncStudyAsync(Definition(text: "v3", dataHash: "other"), [Trial("b")], false));
        Assert.Contains("different data definition", error.Message);
        await Store.SyncStudyAsync(Definition(text: "v3", dataHash: "other"), [Trial("b")], true);
    }

    [Fact]
    public async Task Placement_is_recorded_per_attempt()
    {
        var study = await StudyAsync(1);
        var t = (await Store.ClaimNextAsync(study.Id, new TrialClaim("me", "cuda:0", Long, new Dictionary<string, string> { ["host"] = "node7", ["job"] = "42_3" })))!;
        Assert.Equal("node7", t.Placement!["host"]);
        Assert.True(await Store.SetPlacementAsync(study.Id, t.TrialId, "me", new Dictionary<string, string> { ["slurm_state"] = "RUNNING" }));
        Assert.False(await Store.SetPlacementAsync(study.Id, t.TrialId, "other", new Dictionary<string, string> { ["slurm_state"] = "X" }));
        var attempt = Assert.Single(await Store.ListAttemptsAsync(study.Id, t.TrialId));
        Assert.Equal(("cuda:0", "42_3", "RUNNING"), (attempt.Device, attempt.Placement["job"], attempt.Placement["slurm_state"]));
    }

    [Fact]
    public async Task An_ended_attempt_is_annotated_with_how_the_cluster_ended_it()
    {
        var study = await StudyAsync(1);
        var t = (await Store.ClaimNextAsync(study.Id, new TrialClaim("me", "cpu", TimeSpan.FromMilliseconds(1), new Dictionary<string, string> { ["job"] = "42_3", ["slurm_state"] = "RUNNING" })))!;
        await Task.Delay(20);
        Assert.Equal(1, await Store.ReclaimExpiredAsync(study.Id));
        // Annotated after the fact, by a process that never owned the trial.
        Assert.True(await Store.AnnotateAttemptAsync(study.Id, t.TrialId, 1, new Dictionary<string, string> { ["slurm_state"] = "TIMEOUT" }));
        Assert.False(await Store.AnnotateAttemptAsync(study.Id, t.TrialId, 2, new Dictionary<string, string> { ["slurm_state"] = "X" }));
        var attempt = Assert.Single(await Store.ListAttemptsAsync(study.Id, t.TrialId));
        Assert.Equal(("42_3", "TIMEOUT", "lease-expired"), (attempt.Placement["job"], attempt.Placement["slurm_state"], attempt.Outcome));
        Assert.Equal("TIMEOUT", (await Store.FindTrialAsync(study.Id, t.TrialId))!.Placement!["slurm_state"]);

        // A later attempt's annotation leaves the earlier one as it was, and the trial shows its latest attempt.
        await Store.RequeueAsync(study.Id, failedToo: false);
        await Store.ClaimNextAsync(study.Id, new TrialClaim("me", "cpu", Long, new Dictionary<string, string> { ["job"] = "43_0", ["slurm_state"] = "RUNNING" }));
        Assert.True(await Store.AnnotateAttemptAsync(study.Id, t.TrialId, 2, new Dictionary<string, string> { ["slurm_state"] = "CANCELLED" }));
        Assert.Equal(["TIMEOUT", "CANCELLED"], (await Store.ListAttemptsAsync(study.Id, t.TrialId)).Select(a => a.Placement["slurm_state"]));
        Assert.Equal(("43_0", "CANCELLED"), ((await Store.FindTrialAsync(study.Id, t.TrialId))!.Placement!["job"], (await Store.FindTrialAsync(study.Id, t.TrialId))!.Placement!["slurm_state"]));
    }

    [Fact]
    public async Task Cluster_jobs_are_recorded_once_per_study_in_submission_order()
    {
        var study = await StudyAsync(1);
        var other = await StudyAsync(1, "other");
        await Store.RecordJobAsync(study.Id, new ClusterJob("slurm", "42", 100));
        await Store.RecordJobAsync(study.Id, new ClusterJob("slurm", "7", 200));
        await Store.RecordJobAsync(study.Id, new ClusterJob("slurm", "42", 300)); // recorded again: still once
        await Store.RecordJobAsync(other.Id, new ClusterJob("slurm", "9", 150));
        Assert.Equal([("42", 100.0), ("7", 200.0)], (await Store.ListJobsAsync(study.Id)).Select(j => (j.JobId, j.SubmittedAt)));
        Assert.Equal(["9"], (await Store.ListJobsAsync(other.Id)).Select(j => j.JobId));
    }

    [Fact]
    public async Task A_store_opened_read_only_answers_queries_and_refuses_every_write()
    {
        var study = await StudyAsync(2);
        await using var reader = await OpenAsync(StoreAccess.ReadOnly);
        Assert.True(reader.IsReadOnly);
        Assert.Equal(2, (await reader.CountStatesAsync(study.Id)).Count(TrialState.Queued));
        await Assert.ThrowsAsync<StoreException>(() => reader.ClaimNextAsync(study.Id, Claim("me")));
        await Assert.ThrowsAsync<StoreException>(() => reader.SetCancelledAsync(study.Id));
        Assert.Equal(2, (await Store.CountStatesAsync(study.Id)).Count(TrialState.Queued));
    }

    [Fact]
    public async Task A_reader_sees_what_a_writer_in_another_connection_committed()
    {
        var study = await StudyAsync(3);
        await using var reader = await OpenAsync(StoreAccess.ReadOnly);
        Assert.Equal(0, (await reader.CountStatesAsync(study.Id)).Count(TrialState.Completed));
        var t = (await Store.ClaimNextAsync(study.Id, Claim("me")))!;
        await Store.RecordResultAsync(study.Id, t.TrialId, "me", TrialState.Completed, Result(1), 1, "{}");
        Assert.Equal(1, (await reader.CountStatesAsync(study.Id)).Count(TrialState.Completed));
    }
}
