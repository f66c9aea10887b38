using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Storage;
using Studies.Reports;

namespace Studies.Orchestrator.Tests.Dashboard;

/// <summary>
/// A temporary workspace with one recorded study (synthetic results from Reports): four methods of
/// two completed trials and one failed, diverged or interrupted trial each, plus queued trials.
/// </summary>
internal sealed class DashboardWorkspace : IDisposable
{
    public const string StudyName = "dash";
    public const int QueuedTrials = 3;

    public DashboardWorkspace() => Workspace = new Workspace(Directory.CreateTempSubdirectory("studies-dashboard-").FullName);

    public Workspace Workspace { get; }

    public static async Task<DashboardWorkspace> SeededAsync()
    {
        var w = new DashboardWorkspace();
        var study = SyntheticStudies.Create(new SyntheticStudyShape { Name = StudyName, Methods = 4, TrialsPerMethod = 2, ProblemTrialsPerMethod = 1, Masses = 6, Epochs = 12 });
        await using var store = await StudyStore.OpenAsync(w.Workspace.Database);
        var settings = new JsonObject
        {
            ["report"] = new JsonObject { ["compare"] = new JsonArray("model.kind"), ["headline"] = study.Headline },
            ["description"] = "a synthetic study for the dashboard tests",
        };
        var planned = study.Trials.Select(t => new PlannedTrialRow(t.TrialId, "{\"seed\": 1}", t.Axes))
            .Concat(Enumerable.Range(0, QueuedTrials).Select(i => new PlannedTrialRow($"queued-{i}", "{}", new Dictionary<string, string> { ["model.kind"] = "dnn" })))
            .ToList();
        var row = await store.SyncStudyAsync(StudyName, null, "study: dash\n", "hash", "data", settings.ToJsonString(), planned, force: false);
        foreach (var t in study.Trials)
        {
            if (t.Result is { } result) await store.RecordResultAsync(row.Id, t.TrialId, t.State, result, t.Seconds, "{}");
            else await store.RecordFailureAsync(row.Id, t.TrialId, t.State, t.Error ?? t.State, t.State, retryable: false, 0, 0);
        }
        return w;
    }

    /// <summary>Every row of every table of the database, hashed: equal hashes mean nothing was written.</summary>
    public string ContentHash()
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Workspace.Database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        var text = new StringBuilder();
        var tables = new List<string>();
        using (var list = connection.CreateCommand())
        {
            list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
            using var reader = list.ExecuteReader();
            while (reader.Read()) tables.Add(reader.GetString(0));
        }
        foreach (var table in tables)
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = $"SELECT * FROM {table} ORDER BY 1, 2";
            using var reader = cmd.ExecuteReader();
            text.Append(table).Append('\n');
            while (reader.Read())
            {
                for (var i = 0; i < reader.FieldCount; i++) text.Append(reader.IsDBNull(i) ? "NULL" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).Append('|');
                text.Append('\n');
            }
        }
        using (var version = connection.CreateCommand())
        {
            version.CommandText = "PRAGMA user_version";
            text.Append("version ").Append(version.ExecuteScalar());
        }
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(Workspace.Root, recursive: true); } catch (IOException) { }
    }
}
