using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Studies.Orchestrator.Dashboard;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Reporting;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
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

    private ServiceProvider? services;

    public DashboardWorkspace() => Workspace = new Workspace(Directory.CreateTempSubdirectory("studies-dashboard-").FullName);

    public Workspace Workspace { get; }

    /// <summary>The composition root a command of this workspace would use (<c>--home</c>).</summary>
    public ServiceProvider Services => services ??= StudiesServices.ForCommand(StudiesServices.Configuration(home: Workspace.Root), NullLoggerFactory.Instance);

    public Task<DashboardServer> StartAsync(bool readOnly, IPAddress? address = null) =>
        DashboardServer.StartAsync(Services.GetRequiredService<StudyStores>(), Services.GetRequiredService<IReportPublisher>(), Workspace,
            new DashboardOptions(address ?? IPAddress.Loopback, 0, readOnly));

    public DashboardStore Store() => new(Services.GetRequiredService<StudyStores>(), Services.GetRequiredService<IReportPublisher>(), Workspace);

    public Task<SqliteStudyStorage> OpenAsync() => SqliteStudyStorage.OpenAsync(Workspace.Database);

    public static async Task<DashboardWorkspace> SeededAsync()
    {
        var w = new DashboardWorkspace();
        var study = SyntheticStudies.Create(new SyntheticStudyShape { Name = StudyName, Methods = 4, TrialsPerMethod = 2, ProblemTrialsPerMethod = 1, Masses = 6, Epochs = 12 });
        study = study with { Description = "a synthetic study for the dashboard tests" };
        await using var store = await w.OpenAsync();
        await DashboardBenchmark.RecordAsync(store, study,
            Enumerable.Range(0, QueuedTrials).Select(i => new PlannedTrialRow($"queued-{i}", "{\"seed\": 1}", new Dictionary<string, string> { ["model.kind"] = "dnn" })).ToList());
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
        services?.Dispose();
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(Workspace.Root, recursive: true); } catch (IOException) { }
    }
}
