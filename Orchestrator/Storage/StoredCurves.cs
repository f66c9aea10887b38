using System.Data.Common;
using System.Text.Json;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Storage;

/// <summary>
/// The score curves of a trial's final evaluation (<see cref="ScoreCurves"/>: ROC, score histograms, significance versus
/// cut), kept as one JSON document per mass in the <c>score_curves</c> table (SQLite migration 5, PostgreSQL migration 3).
/// One place for both backends: the SQL is plain enough for either, with @-parameters both accept. Trials recorded before
/// the table existed have no rows; their results come back with no curves, and reports say which figures are missing.
/// </summary>
public static class StoredCurves
{
    public const string Table = "score_curves";

    /// <summary>The migration's table; IF NOT EXISTS so that it may be ordered among other additive migrations when branches merge.</summary>
    public static string CreateTable(string realType, string integerType) => $"""
        CREATE TABLE IF NOT EXISTS {Table} (
            study_id {integerType} NOT NULL,
            trial_id TEXT NOT NULL,
            mass {realType} NOT NULL,
            split TEXT NOT NULL,
            curves TEXT NOT NULL,
            PRIMARY KEY (study_id, trial_id, mass, split)
        )
        """;

    private const string TestSplit = "test";

    /// <summary>Replaces the trial's curves with <paramref name="curves"/>, inside the caller's transaction (the one that records the result).</summary>
    public static async Task ReplaceAsync(DbTransaction tx, long studyId, string trialId, IReadOnlyList<ScoreCurves> curves, CancellationToken ct)
    {
        await using (var delete = Command(tx, $"DELETE FROM {Table} WHERE study_id = @s AND trial_id = @t", ("@s", studyId), ("@t", trialId)))
            await delete.ExecuteNonQueryAsync(ct);
        foreach (var c in curves)
        {
            await using var insert = Command(tx, $"INSERT INTO {Table} (study_id, trial_id, mass, split, curves) VALUES (@s, @t, @m, @split, @c)",
                ("@s", studyId), ("@t", trialId), ("@m", c.Mass), ("@split", TestSplit), ("@c", JsonSerializer.Serialize(c, SpecJson.Options)));
            await insert.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>The trial's curves in mass order; empty for a trial recorded before they were.</summary>
    public static async Task<IReadOnlyList<ScoreCurves>> LoadAsync(DbConnection connection, DbTransaction? tx, long studyId, string trialId, CancellationToken ct)
    {
        await using var select = connection.CreateCommand();
        select.Transaction = tx;
        select.CommandText = $"SELECT curves FROM {Table} WHERE study_id = @s AND trial_id = @t AND split = @split ORDER BY mass";
        Add(select, ("@s", studyId), ("@t", trialId), ("@split", TestSplit));
        await using var reader = await select.ExecuteReaderAsync(ct);
        var list = new List<ScoreCurves>();
        while (await reader.ReadAsync(ct)) list.Add(JsonSerializer.Deserialize<ScoreCurves>(reader.GetString(0), SpecJson.Options)!);
        return list;
    }

    private static DbCommand Command(DbTransaction tx, string sql, params (string Name, object Value)[] parameters)
    {
        var cmd = tx.Connection!.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        Add(cmd, parameters);
        return cmd;
    }

    private static void Add(DbCommand cmd, params (string Name, object Value)[] parameters)
    {
        foreach (var (name, value) in parameters)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value;
            cmd.Parameters.Add(p);
        }
    }
}
