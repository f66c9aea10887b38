using System.Diagnostics;
using Studies.Orchestrator.Storage;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary>
/// Several orchestrators on one workspace, through the real <c>studies</c> program: two runs of one study, a run beside
/// a server, two servers, and readers while a run writes. Ownership is by lease, so each trial trains exactly once.
/// </summary>
public sealed class ConcurrentOrchestratorTests : IDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);

    private readonly StudiesHome home = new();

    public void Dispose() => home.Dispose();

    private async Task AssertEveryTrialTrainedOnceAsync(string studyName, int count)
    {
        await using var store = await home.OpenStoreAsync();
        var study = (await store.FindStudyAsync(studyName))!;
        var trials = (await store.ListTrialsAsync(study.Id)).Where(t => t.InDefinition).ToList();
        Assert.Equal(count, trials.Count);
        var described = string.Join("\n", trials.Select(t => $"{t.TrialId} {t.State} attempts={t.Attempts} owner={t.Owner} error={t.Error}"));
        Assert.True(trials.All(t => t.State == TrialState.Completed && t.Attempts == 1), described);
        foreach (var t in trials)
        {
            await RecordChecks.AssertCompletedOnceAsync(home, store, study.Id, t);
            Assert.Single(await store.ListAttemptsAsync(study.Id, t.TrialId));
        }
        Assert.Equal("ok", await store.IntegrityCheckAsync());
    }

    [Fact]
    public async Task Two_runs_of_one_study_started_apart_train_every_trial_once_and_both_finish()
    {
        var file = StudiesHome.StudyFile("e2e-kill.yaml");
        using var first = home.Start("run", file);
        Assert.True((await home.WaitForWorkersAsync(1, CommandTimeout)).Count >= 1, first.Stderr);
        // Start the second when the first has trials running (the issue's "8 s apart", scaled to these short trials).
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(first.HasExited, "the first run ended before the second started: the study is too short for this test");
        using var second = home.Start("run", file);
        var a = await first.WaitAsync(RunTimeout);
        var b = await second.WaitAsync(RunTimeout);
        Assert.True(a.ExitCode == 0, a.ToString());
        Assert.True(b.ExitCode == 0, b.ToString());
        // The second took part: it trained trials of its own (two owners among the attempts).
        Assert.True(home.Scalar("SELECT COUNT(DISTINCT owner) FROM attempts") >= 2, b.ToString());
        Assert.StartsWith("report: ", b.StdoutLines[^1]);
        await AssertEveryTrialTrainedOnceAsync("e2e-kill", 8);
        Assert.Empty(await home.WaitForNoWorkersAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_run_beside_a_server_on_the_same_study_trains_every_trial_once()
    {
        using var serve = home.Start("serve");
        Assert.True(await serve.WaitForOutputAsync("watching", CommandTimeout), serve.ToString());
        var submit = await home.RunAsync(CommandTimeout, "submit", StudiesHome.StudyFile("e2e-kill.yaml"));
        Assert.True(submit.ExitCode == 0, submit.ToString());
        Assert.True((await home.WaitForWorkersAsync(1, CommandTimeout)).Count >= 1, serve.Stderr);
        var run = await home.RunAsync(RunTimeout, "run", StudiesHome.StudyFile("e2e-kill.yaml"));
        Assert.True(run.ExitCode == 0, run.ToString());
        // The server finishes its copy of the study too (it waited for the run's trials as the run waited for its).
        var clock = Stopwatch.StartNew();
        while (!Directory.EnumerateFiles(Path.Combine(home.Root, "queue", "done"), "*.yaml").Any() && clock.Elapsed < RunTimeout) await Task.Delay(200);
        Assert.True(Directory.EnumerateFiles(Path.Combine(home.Root, "queue", "done"), "*.yaml").Any(), serve.ToString());
        serve.Signal(StudiesProcess.SigTerm);
        await serve.WaitAsync(CommandTimeout);
        await AssertEveryTrialTrainedOnceAsync("e2e-kill", 8);
    }

    [Fact]
    public async Task A_second_server_on_a_served_workspace_refuses_with_one_line()
    {
        using var serve = home.Start("serve");
        Assert.True(await serve.WaitForOutputAsync("watching", CommandTimeout), serve.ToString());
        var second = await home.RunAsync(CommandTimeout, "serve");
        Assert.Equal(1, second.ExitCode);
        Assert.Contains("already served by", second.Stderr);
        Assert.Contains($"pid {serve.Pid}", second.Stderr);
        Assert.DoesNotContain("   at ", second.Stderr);
        serve.Signal(StudiesProcess.SigTerm);
        await serve.WaitAsync(CommandTimeout);
    }

    [Fact]
    public async Task Status_and_report_from_another_process_read_current_numbers_while_a_run_writes()
    {
        using var run = home.Start("run", StudiesHome.StudyFile("e2e-kill.yaml"));
        Assert.True((await home.WaitForWorkersAsync(1, CommandTimeout)).Count >= 1, run.Stderr);
        var finishedSeen = new List<int>();
        var reads = 0;
        while (!run.HasExited && reads < 6)
        {
            var status = await home.RunAsync(CommandTimeout, "status", "e2e-kill");
            Assert.True(status.ExitCode == 0, status.ToString());
            var match = System.Text.RegularExpressions.Regex.Match(status.Stdout, @"(\d+)/8 finished");
            Assert.True(match.Success, status.Stdout);
            finishedSeen.Add(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            var report = await home.RunAsync(CommandTimeout, "report", "e2e-kill", "--out", Path.Combine(home.Root, $"report-{reads}"));
            Assert.True(report.ExitCode == 0, report.ToString());
            reads++;
        }
        var done = await run.WaitAsync(RunTimeout);
        Assert.True(done.ExitCode == 0, done.ToString());
        Assert.True(reads >= 2, $"only {reads} reads happened while the run wrote");
        // The numbers are current: they never go down, and they are below the end count while the run is going.
        Assert.Equal(finishedSeen.Order(), finishedSeen);
        Assert.True(finishedSeen[0] < 8, string.Join(",", finishedSeen));
        var final = await home.RunAsync(CommandTimeout, "status", "e2e-kill");
        Assert.Contains("8/8 finished", final.Stdout);
    }
}
