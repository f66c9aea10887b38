using Microsoft.Data.Sqlite;
using Studies.Orchestrator.Storage;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Storage;

public sealed class StudyStoreTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("studies-store-").FullName;
    private string DbPath => Path.Combine(dir, "studies.db");

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static PlannedTrialRow Trial(string id, string seed) =>
        new(id, $"{{\"seed\":{seed}}}", new Dictionary<string, string> { ["seed"] = seed });

    private static TrialResult Result(int epochs) => new()
    {
        Outcome = TrialOutcome.Completed,
        Epochs = Enumerable.Range(1, epochs).Select(e => new EpochRecord(0, e, new Dictionary<string, double> { ["loss"] = 1.0 / e, ["val_loss"] = double.NaN })).ToList(),
        Masses = [new MassMetrics(1.5, true, SplitKind.Test, EpochKind.Best, epochs, new Dictionary<string, double> { ["roc_auc"] = 0.9 })],
        Phases = [new PhaseTiming(0, "bce", epochs, 1.25)],
        BestEpoch = epochs,
        LastEpoch = epochs,
    };

    [Fact]
    public async Task A_study_is_recorded_with_its_trials_queued_and_a_result_round_trips()
    {
        await using var store = await StudyStore.OpenAsync(DbPath);
        var study = await store.SyncStudyAsync("s", "s.yaml", "def", "h1", "d1", "{}", [Trial("a", "1"), Trial("b", "2")], force: false);
        Assert.Equal(2, (await store.CountStatesAsync(study.Id)).Count(TrialState.Queued));

        var claimed = await store.ClaimNextAsync(study.Id, "me", "cpu");
        Assert.Equal("a", claimed!.TrialId);
        Assert.Equal(TrialState.Running, claimed.State);
        Assert.Equal(1, claimed.Attempts);
        await store.RecordResultAsync(study.Id, "a", TrialState.Completed, Result(3), 2.5, "{}");

        var row = await store.FindTrialAsync(study.Id, "a");
        Assert.Equal(TrialState.Completed, row!.State);
        var loaded = await store.LoadResultAsync(study.Id, row);
        Assert.Equal(3, loaded.Epochs.Count);
        Assert.Equal(1.0 / 3, loaded.Epochs[2].Metrics["loss"], 12);
        Assert.True(double.IsNaN(loaded.Epochs[0].Metrics["val_loss"]));
        Assert.Equal(0.9, loaded.Masses.Single().Metrics["roc_auc"]);
        Assert.True(loaded.Masses.Single().Heldout);
        Assert.Equal("ok", await store.IntegrityCheckAsync());
    }

    [Fact]
    public async Task Recording_a_result_twice_replaces_rows_instead_of_duplicating_them()
    {
        await using var store = await StudyStore.OpenAsync(DbPath);
        var study = await store.SyncStudyAsync("s", null, "def", "h", "d", "{}", [Trial("a", "1")], false);
        await store.ClaimNextAsync(study.Id, "me", "cpu");
        await store.RecordResultAsync(study.Id, "a", TrialState.Completed, Result(4), 1, "{}");
        await store.RecordResultAsync(study.Id, "a", TrialState.Completed, Result(4), 1, "{}");
        await using var reader = new SqliteConnection($"Data Source={DbPath}");
        await reader.OpenAsync();
        await using var cmd = reader.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM epochs";
        Assert.Equal(8L, (long)(await cmd.ExecuteScalarAsync())!); // 4 epochs x 2 metrics
    }

    [Fact]
    public async Task Two_owners_never_claim_the_same_trial()
    {
        await using var first = await StudyStore.OpenAsync(DbPath);
        var study = await first.SyncStudyAsync("s", null, "def", "h", "d", "{}",
            Enumerable.Range(0, 40).Select(i => Trial($"t{i}", i.ToString())).ToList(), false);
        await using var second = await StudyStore.OpenAsync(DbPath);
        var claims = new System.Collections.Concurrent.ConcurrentBag<string>();
        async Task Claim(StudyStore store, string owner)
        {
            while (await store.ClaimNextAsync(study.Id, owner, "cpu") is { } t) claims.Add(t.TrialId);
        }
        await Task.WhenAll(Task.Run(() => Claim(first, "one")), Task.Run(() => Claim(second, "two")));
        Assert.Equal(40, claims.Count);
        Assert.Equal(40, claims.Distinct().Count());
    }

    [Fact]
    public async Task Trials_left_running_by_a_dead_process_are_reconciled_and_resume()
    {
        await using var store = await StudyStore.OpenAsync(DbPath);
        var study = await store.SyncStudyAsync("s", null, "def", "h", "d", "{}", [Trial("a", "1"), Trial("b", "2")], false);
        await store.ClaimNextAsync(study.Id, "dead", "cpu");
        await store.ClaimNextAsync(study.Id, "alive", "cpu");
        Assert.Equal(1, await store.ReconcileAsync(study.Id, owner => owner == "alive"));
        Assert.Equal(TrialState.Interrupted, (await store.FindTrialAsync(study.Id, "a"))!.State);
        Assert.Equal(TrialState.Running, (await store.FindTrialAsync(study.Id, "b"))!.State);
        Assert.Equal(1, await store.RequeueAsync(study.Id, failedToo: false));
        Assert.Equal("a", (await store.ClaimNextAsync(study.Id, "new", "cpu"))!.TrialId);
    }

    [Fact]
    public async Task Infrastructure_failures_are_retried_with_backoff_and_deterministic_ones_are_not()
    {
        await using var store = await StudyStore.OpenAsync(DbPath);
        var study = await store.SyncStudyAsync("s", null, "def", "h", "d", "{}", [Trial("a", "1"), Trial("b", "2")], false);
        await store.ClaimNextAsync(study.Id, "me", "cpu");
        Assert.Equal(TrialState.Queued, await store.RecordFailureAsync(study.Id, "a", TrialState.Failed, "worker killed", "crash", true, 1, 60));
        var a = (await store.FindTrialAsync(study.Id, "a"))!;
        Assert.True(a.NotBefore > StudyStore.Now() + 50, "the retry waits for its back-off");
        Assert.Equal("b", (await store.ClaimNextAsync(study.Id, "me", "cpu"))!.TrialId);
        Assert.Equal(TrialState.Failed, await store.RecordFailureAsync(study.Id, "b", TrialState.Failed, "missing file", "error", false, 5, 1));
        Assert.Null(await store.ClaimNextAsync(study.Id, "me", "cpu")); // a is backing off, b failed for good
    }

    [Fact]
    public async Task An_edited_study_keeps_old_records_and_a_changed_data_definition_needs_force()
    {
        await using var store = await StudyStore.OpenAsync(DbPath);
        var study = await store.SyncStudyAsync("s", null, "v1", "h1", "data1", "{}", [Trial("a", "1"), Trial("b", "2")], false);
        await store.ClaimNextAsync(study.Id, "me", "cpu");
        await store.RecordResultAsync(study.Id, "a", TrialState.Completed, Result(2), 1, "{}");

        await store.SyncStudyAsync("s", null, "v2", "h2", "data1", "{}", [Trial("b", "2"), Trial("c", "3")], false);
        var trials = await store.ListTrialsAsync(study.Id);
        Assert.False(trials.Single(t => t.TrialId == "a").InDefinition);
        Assert.Equal(TrialState.Completed, trials.Single(t => t.TrialId == "a").State);
        Assert.True(trials.Single(t => t.TrialId == "c").InDefinition);

        var error = await Assert.ThrowsAsync<StoreException>(() =>
            store.SyncStudyAsync("s", null, "v3", "h3", "data2", "{}", [Trial("b", "2")], false));
        Assert.Contains("different data definition", error.Message);
        await store.SyncStudyAsync("s", null, "v3", "h3", "data2", "{}", [Trial("b", "2")], true);
    }

    [Fact]
    public async Task A_reader_can_read_while_a_write_transaction_is_open()
    {
        await using var store = await StudyStore.OpenAsync(DbPath);
        var study = await store.SyncStudyAsync("s", null, "def", "h", "d", "{}", [Trial("a", "1")], false);
        await using var writer = new SqliteConnection($"Data Source={DbPath}");
        await writer.OpenAsync();
        await using var tx = writer.BeginTransaction(deferred: false);
        await using (var cmd = writer.CreateCommand())
        {
            cmd.Transaction = tx;
            cmd.CommandText = "UPDATE studies SET updated_at = 0";
            await cmd.ExecuteNonQueryAsync();
        }
        // WAL: the store reads the last committed state without waiting for the writer.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Single(await store.ListTrialsAsync(study.Id));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2));
        tx.Rollback();
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_gives_a_clear_error()
    {
        await File.WriteAllTextAsync(DbPath, "this is not sqlite, just text that is long enough to look like a header........");
        var error = await Assert.ThrowsAsync<StoreException>(() => StudyStore.OpenAsync(DbPath));
        Assert.Contains(DbPath, error.Message);
        Assert.Contains("not a valid SQLite database", error.Message);
    }
}
