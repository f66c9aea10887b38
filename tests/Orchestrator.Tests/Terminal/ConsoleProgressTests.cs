using Spectre.Console;
using Studies.Orchestrator.Cluster;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Orchestrator.Terminal;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Terminal;

/// <summary>Log lines of trials this process did not start (a cluster task ran them): their time is the recorded one.</summary>
public sealed class ConsoleProgressTests
{
    private static TrialRow Row(string id, TrialState state) => new(
        id, 0, "{}", new Dictionary<string, string> { ["seed"] = "1" }, true, state, 1, 0, null, null, null, null, null, null, null, null, null, null, null, null, null);

    [Fact]
    public async Task A_trial_a_cluster_task_ran_is_logged_with_the_run_time_it_recorded_never_zero()
    {
        var lines = new StringWriter();
        var output = new TerminalOutput(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) }), live: false, lines, TextWriter.Null);
        var progress = new ConsoleProgress(output);
        progress.RunStarting(new RunOverview("s", 3, 0, "slurm"));

        // What the submitting process's follower reads from the store: rows, no start seen here.
        await using var store = await SqliteStudyStorage.OpenAsync(Path.Combine(Directory.CreateTempSubdirectory("studies-progress-").FullName, "s.db"));
        var study = await store.SyncStudyAsync(new StudyDefinition("s", null, "def", "h", "d", new StudySettings()),
            [new PlannedTrialRow("aaaaaaaa1", "{}", new Dictionary<string, string>()), new PlannedTrialRow("bbbbbbbb2", "{}", new Dictionary<string, string>())], false);
        var claimed = (await store.ClaimNextAsync(study.Id, new TrialClaim("task", "cpu", TimeSpan.FromHours(1))))!;
        Assert.True(await store.RecordResultAsync(study.Id, claimed.TrialId, "task", TrialState.Completed, new TrialResult { Outcome = TrialOutcome.Completed }, 12.34, "{}"));
        await new StudyFollower(store, study, progress).PollAsync(CancellationToken.None);
        Assert.Contains("trial 1/3 completed: ", lines.ToString());
        Assert.Contains("(aaaaaaaa) in 12.3 s", lines.ToString());

        // Without a recorded time: the start and end, else no time at all (not "0.0 s").
        progress.TrialFinished(Row("cccccccc3", TrialState.Failed) with { StartedAt = 100, FinishedAt = 107.5 }, TrialState.Failed, "boom", null);
        progress.TrialFinished(Row("dddddddd4", TrialState.Failed), TrialState.Failed, "boom", null);
        var text = lines.ToString();
        Assert.Contains("(cccccccc) in 7.5 s: boom", text);
        Assert.Contains("(dddddddd): boom", text);
        Assert.DoesNotContain("0.0 s", text);
    }
}
