using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary>
/// The store file against concurrent creators, damage, truncation and other programs' databases, through the real
/// <c>studies</c> program: one line, exit 4, and not a byte of the file changed.
/// </summary>
public sealed class StoreSafetyTests : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);
    private readonly StudiesHome home = new();

    public void Dispose() => home.Dispose();

    [Fact]
    public async Task Eight_simultaneous_runs_on_a_new_workspace_all_finish_and_train_every_trial_once()
    {
        var file = Path.Combine(home.Root, "tiny.yaml");
        File.WriteAllText(file, """
            study: race
            data:
              source: gaussian-toy
              options: {masses: [-1, 1], events_per_mass: 200}
            base:
              model: {kind: dnn, hidden: [4], activation: tanh}
              schedule:
                - {loss: bce, epochs: 2, optimizer: adam, lr: 1.0e-2, batch: 64}
            matrix:
              seed: [1, 2, 3]
            resources: {cpu_workers: 1, threads_per_trial: 1}
            """);
        Assert.False(File.Exists(home.Database));
        // Started together, before any of them has created the database.
        var runs = Enumerable.Range(0, 8).Select(_ => home.Start("run", file)).ToList();
        var results = await Task.WhenAll(runs.Select(r => r.WaitAsync(TimeSpan.FromSeconds(300))));
        foreach (var r in results) Assert.True(r.ExitCode == 0, r.ToString());

        await using var store = await home.OpenStoreAsync();
        var study = (await store.FindStudyAsync("race"))!;
        var trials = await store.ListTrialsAsync(study.Id);
        Assert.Equal(3, trials.Count);
        foreach (var t in trials)
        {
            Assert.True(t.State == TrialState.Completed && t.Attempts == 1, $"{t.TrialId} {t.State} attempts={t.Attempts}");
            Assert.Single(await store.ListAttemptsAsync(study.Id, t.TrialId));
        }
        Assert.Equal(1, home.Scalar("SELECT COUNT(*) FROM studies"));
        Assert.Equal("ok", await store.IntegrityCheckAsync());
        // No half-built database was left beside it.
        Assert.Empty(Directory.GetFiles(home.Root, "studies.db.new-*"));
    }

    /// <summary>A store of a few hundred KB written through the store itself, then closed (its WAL folded in).</summary>
    private async Task<string> RecordedStoreAsync()
    {
        await using (var store = await SqliteStudyStorage.OpenAsync(home.Database))
        {
            var trials = Enumerable.Range(0, 400)
                .Select(i => new PlannedTrialRow($"t{i:D5}", "{\"spec\":\"" + new string('x', 600) + "\"}", new Dictionary<string, string> { ["seed"] = $"{i}" }))
                .ToList();
            await store.SyncStudyAsync(new StudyDefinition("damaged", null, "study: damaged", "h", "d", new StudySettings()), trials, force: false);
        }
        Assert.False(File.Exists(home.Database + "-wal") && new FileInfo(home.Database + "-wal").Length > 0);
        return home.Database;
    }

    private static (byte[] Bytes, DateTime Written) Snapshot(string path) => (File.ReadAllBytes(path), File.GetLastWriteTimeUtc(path));

    private static void AssertUntouched((byte[] Bytes, DateTime Written) before, string path)
    {
        Assert.Equal(before.Written, File.GetLastWriteTimeUtc(path));
        Assert.True(before.Bytes.AsSpan().SequenceEqual(File.ReadAllBytes(path)), $"{path} was changed");
    }

    private static void AssertOneLine(CliResult r, int code, string expected)
    {
        Assert.True(r.ExitCode == code, r.ToString());
        Assert.True(r.StderrLines.Count == 1, r.ToString());
        Assert.Contains(expected, r.StderrLines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public async Task Random_bytes_in_the_middle_of_the_store_stop_run_list_and_status_with_one_line_and_nothing_written()
    {
        var path = await RecordedStoreAsync();
        var length = new FileInfo(path).Length;
        Assert.True(length > 200_000, $"{length} bytes");
        using (var f = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            f.Position = length / 2 / 4096 * 4096;
            f.Write(RandomNumberGenerator.GetBytes(8192));
        }
        var before = Snapshot(path);
        AssertOneLine(await home.RunAsync(CommandTimeout, "run", StudiesHome.StudyFile("e2e-run.yaml")), 4, "damaged");
        AssertUntouched(before, path);
        AssertOneLine(await home.RunAsync(CommandTimeout, "list"), 4, "damaged");
        AssertOneLine(await home.RunAsync(CommandTimeout, "status", "damaged"), 4, "damaged");
        var check = await home.RunAsync(CommandTimeout, "check-store");
        Assert.True(check.ExitCode == 4, check.ToString());
        Assert.True(check.StderrLines[0].Contains("is damaged"), check.ToString());
        Assert.InRange(check.StderrLines.Count, 1, 21);
        Assert.DoesNotContain("   at ", check.Stderr);
        AssertUntouched(before, path);
    }

    [Fact]
    public async Task Check_store_says_ok_for_a_sound_store()
    {
        await RecordedStoreAsync();
        var r = await home.RunAsync(CommandTimeout, "check-store");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.StartsWith("ok: ", r.StdoutLines[^1]);
        Assert.Contains("1 study", r.Stdout);
    }

    [Fact]
    public async Task Another_programs_sqlite_database_is_refused_and_never_given_the_schema()
    {
        var foreign = Path.Combine(home.Root, "theirs.db");
        using (var c = new SqliteConnection($"Data Source={foreign};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "CREATE TABLE events (id INTEGER PRIMARY KEY, energy REAL); INSERT INTO events(energy) VALUES (1.5), (2.5);";
            cmd.ExecuteNonQuery();
        }
        var before = Snapshot(foreign);
        var run = await home.RunAsync(CommandTimeout, "run", StudiesHome.StudyFile("e2e-run.yaml"), "--store", $"sqlite:{foreign}");
        AssertOneLine(run, 4, "another program");
        AssertUntouched(before, foreign);
        AssertOneLine(await home.RunAsync(CommandTimeout, "list", "--store", $"sqlite:{foreign}"), 4, "another program");
        AssertUntouched(before, foreign);
        Assert.False(File.Exists(foreign + "-wal"));
        // The same through the API a worker or benchmark uses.
        var e = await Assert.ThrowsAsync<StoreException>(() => SqliteStudyStorage.OpenAsync(foreign));
        Assert.Contains("another program", e.Message);
        AssertUntouched(before, foreign);
    }

    [Theory]
    [InlineData(50, "shorter than an SQLite header")]
    [InlineData(5000, "not a whole number")]
    [InlineData(4096 * 3, "truncated")]
    public async Task A_truncated_store_is_called_truncated_with_nothing_written(int keep, string expected)
    {
        var path = await RecordedStoreAsync();
        using (var f = new FileStream(path, FileMode.Open, FileAccess.Write)) f.SetLength(keep);
        var before = Snapshot(path);
        var run = await home.RunAsync(CommandTimeout, "run", StudiesHome.StudyFile("e2e-run.yaml"));
        AssertOneLine(run, 4, expected);
        Assert.DoesNotContain("older version", run.Stderr);
        Assert.Contains("backup", run.Stderr);
        AssertOneLine(await home.RunAsync(CommandTimeout, "list"), 4, expected);
        AssertUntouched(before, path);
    }

    [Fact]
    public async Task A_text_file_named_as_the_store_is_not_an_sqlite_database()
    {
        Directory.CreateDirectory(home.Root);
        File.WriteAllText(home.Database, "root:*:20228:0:99999:7:::\n");
        var before = Snapshot(home.Database);
        var run = await home.RunAsync(CommandTimeout, "run", StudiesHome.StudyFile("e2e-run.yaml"));
        AssertOneLine(run, 4, "not a valid SQLite database");
        Assert.DoesNotContain("root:", run.Stderr);
        AssertUntouched(before, home.Database);
    }
}
