using Microsoft.Data.Sqlite;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Storage;

/// <summary>A store written before score curves were kept (SQLite schema 4) migrates; its trials load whole, with no curves.</summary>
public sealed class ScoreCurveMigrationTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("studies-migrate-curves-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public async Task A_schema_4_store_gains_the_score_curves_table_and_its_completed_trial_loads_with_its_metrics_and_no_curves()
    {
        var path = Path.Combine(dir, "old.db");
        await using (var old = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await old.OpenAsync();
            await using var cmd = old.CreateCommand();
            cmd.CommandText = string.Join("\n", SqliteSchema.Migrations.Take(4)) + """
                PRAGMA user_version = 4;
                INSERT INTO studies(id, name, definition, definition_hash, data_hash, created_at, updated_at) VALUES (1, 'old', 'def', 'h', 'd', 0, 0);
                INSERT INTO trials(study_id, trial_id, ordinal, spec, axes, state, attempts, best_epoch, last_epoch) VALUES (1, 'a', 0, '{}', '{}', 'completed', 1, 2, 2);
                INSERT INTO mass_metrics VALUES (1, 'a', 1.5, 1, 'test', 'best', 2, 'roc_auc', 0.875);
                """;
            await cmd.ExecuteNonQueryAsync();
        }
        await using var store = await SqliteStudyStorage.OpenAsync(path);
        Assert.True(SqliteSchema.Migrations.Length >= 5);
        var study = (await store.FindStudyAsync("old"))!;
        var loaded = await store.LoadResultAsync(study.Id, (await store.FindTrialAsync(study.Id, "a"))!);
        Assert.Equal(0.875, loaded.Masses.Single().Metrics[MetricNames.RocAuc]);
        Assert.Empty(loaded.Curves);
        Assert.Equal("ok", await store.IntegrityCheckAsync());
    }
}
