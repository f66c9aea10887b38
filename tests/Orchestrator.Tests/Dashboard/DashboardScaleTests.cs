using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Studies.Orchestrator.Dashboard;
using Studies.Orchestrator.Storage;

namespace Studies.Orchestrator.Tests.Dashboard;

/// <summary>
/// Every dashboard view reads a bounded amount of a study of 100,000 trials: a page of the trial table, the problems and
/// running trials it lists, aggregates for the counts and the ETA. Checked by what the views send (rows and bytes), not by
/// time; the counts and the ETA are checked against what every row says.
/// </summary>
public sealed class DashboardScaleTests
{
    private const int Trials = 100_000, Completed = 50_000, Running = 1_000, Failed = 500;

    [Fact]
    public async Task Each_view_of_a_study_of_100000_trials_sends_a_bounded_page_with_the_whole_studys_counts_and_eta()
    {
        using var workspace = new DashboardWorkspace();
        long studyId;
        await using (var store = await workspace.OpenAsync())
        {
            var rows = Enumerable.Range(0, Trials).Select(i => new PlannedTrialRow($"t{i:D6}", "{\"seed\": " + i + "}",
                new Dictionary<string, string> { ["seed"] = i.ToString(System.Globalization.CultureInfo.InvariantCulture) })).ToList();
            studyId = (await store.SyncStudyAsync(new StudyDefinition("big", null, "def", "h", "d", new StudySettings()), rows, false)).Id;
        }
        Midway(workspace.Workspace.Database, studyId);

        await using var dashboardStore = workspace.Store();
        var views = new DashboardViews(dashboardStore, readOnly: true);
        // Completed trials took 10..89 s (mean 49.5): 50,500 left (1,000 running, 49,500 queued) at 1,000 at once.
        var eta = Math.Round(49.5 * (Trials - Completed - Failed) / Running);

        var overview = (await views.OverviewAsync(CancellationToken.None))!;
        var summary = overview["studies"]!.AsArray().Single()!;
        Assert.Equal((Trials, Completed, Running, Failed), (summary["total"]!.GetValue<int>(), Count(summary, "completed"), Count(summary, "running"), Count(summary, "failed")));
        Assert.Equal(eta, summary["eta"]!.GetValue<double>());
        Assert.True(Bytes(overview) < 4_000, $"overview: {Bytes(overview)} bytes");

        foreach (var from in new[] { 0, 50_000, Trials - 10 })
        {
            var study = (await views.StudyAsync("big", CancellationToken.None, from))!;
            var table = study["trials"]!.AsArray();
            Assert.InRange(table.Count, 1, DashboardViews.TrialsPerPage);
            Assert.Equal($"t{from:D6}", table[0]!["id"]!.GetValue<string>());
            Assert.Equal(from, study["trialsFrom"]!.GetValue<int>());
            Assert.Equal(Trials, study["total"]!.GetValue<int>());
            Assert.Equal(eta, study["eta"]!.GetValue<double>());
            Assert.Equal(DashboardViews.ProblemsShown, study["failures"]!.AsArray().Count);
            Assert.Equal(Failed, study["failuresTotal"]!.GetValue<int>());
            // 200 rows of ~250 bytes and 50 reasons: far below the 100,000 rows (tens of MB) of every trial.
            Assert.True(Bytes(study) < 200_000, $"study page from {from}: {Bytes(study)} bytes");
        }

        var trial = (await views.TrialAsync("big", "t099999", CancellationToken.None))!;
        Assert.Equal("queued", trial["state"]!.GetValue<string>());
        Assert.Null(await views.TrialAsync("big", "t100000", CancellationToken.None));

        // The report's charts would read every completed trial's result: past the limit the page says to write the report.
        var charts = JsonNode.Parse((await views.ChartsAsync("big", CancellationToken.None))!)!;
        Assert.Empty(charts["charts"]!.AsArray());
        Assert.Contains("studies report big", charts["note"]!.GetValue<string>());
    }

    private static int Count(JsonNode study, string state) => study["counts"]![state]!.GetValue<int>();

    private static int Bytes(JsonNode node) => node.ToJsonString().Length;

    /// <summary>Half the trials completed (10..89 s each), 1,000 running, 500 failed, the rest queued.</summary>
    private static void Midway(string database, long study)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Pooling = false }.ToString());
        connection.Open();
        foreach (var sql in new[]
                 {
                     "UPDATE trials SET state = 'completed', attempts = 1, started_at = 0, finished_at = 60, seconds = 10 + ordinal % 80 WHERE study_id = $s AND ordinal < 50000",
                     "UPDATE trials SET state = 'failed', attempts = 3, error = 'worker exited with code 139 (trial ' || ordinal || ')' WHERE study_id = $s AND ordinal >= 50000 AND ordinal < 50500",
                     "UPDATE trials SET state = 'running', attempts = 1, owner = 'task-' || ordinal, device = 'cpu', started_at = 0, epoch = 3, lease_until = 1e12 WHERE study_id = $s AND ordinal >= 50500 AND ordinal < 51500",
                 })
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = sql;
            cmd.Parameters.AddWithValue("$s", study);
            cmd.ExecuteNonQuery();
        }
    }
}
