using Microsoft.Data.Sqlite;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Storage;

/// <summary>A store written before trial rows had change marks (SQLite schema 3) opens, migrates and resumes with nothing re-run.</summary>
public sealed class ChangeMarkMigrationTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("studies-migrate-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public async Task A_schema_3_store_is_migrated_its_rows_are_read_by_a_first_poll_and_only_unfinished_trials_are_claimed()
    {
        var path = Path.Combine(dir, "old.db");
        await using (var old = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await old.OpenAsync();
            await using var cmd = old.CreateCommand();
            // The schema as the previous version left it, and a study of three trials: one completed, one interrupted, one queued.
            cmd.CommandText = string.Join("\n", SqliteSchema.Migrations.Take(3)) + """
                PRAGMA user_version = 3;
                INSERT INTO studies(id, name, definition, definition_hash, data_hash, created_at, updated_at) VALUES (1, 'old', 'def', 'h', 'd', 0, 0);
                INSERT INTO trials(study_id, trial_id, ordinal, spec, axes, state, attempts) VALUES
                    (1, 'a', 0, '{}', '{}', 'completed', 1), (1, 'b', 1, '{}', '{}', 'interrupted', 1), (1, 'c', 2, '{}', '{}', 'queued', 0);
                """;
            await cmd.ExecuteNonQueryAsync();
        }
        await using var store = await SqliteStudyStorage.OpenAsync(path);
        var study = (await store.FindStudyAsync("old"))!;
        var first = await store.ListTrialsChangedAsync(study.Id, 0);
        Assert.Equal(["a", "b", "c"], first.Trials.Select(t => t.TrialId).Order());
        Assert.Empty((await store.ListTrialsChangedAsync(study.Id, first.Cursor)).Trials);

        Assert.Equal(1, await store.RequeueAsync(study.Id, failedToo: false));
        var claimed = new List<string>();
        while (await store.ClaimNextAsync(study.Id, new TrialClaim("w", "cpu", TimeSpan.FromHours(1))) is { } t) claimed.Add(t.TrialId);
        Assert.Equal(["b", "c"], claimed);
        Assert.Equal(["b", "c"], (await store.ListTrialsChangedAsync(study.Id, first.Cursor)).Trials.Select(t => t.TrialId).Distinct().Order());
        Assert.Equal(TrialState.Completed, (await store.FindTrialAsync(study.Id, "a"))!.State);
    }
}
