using System.Diagnostics;
using System.Text.Json.Nodes;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary>
/// The orchestrator's guarantees, proven on the real <c>studies</c> program run as child
/// processes (<c>dotnet studies.dll ... --home TEMP</c>): a run records and reports everything and
/// a second run repeats nothing; kill -9 of the orchestrator at any point loses and duplicates
/// nothing and leaves no worker behind; a killed worker is retried; a diverging trial is recorded
/// as such without stopping the study; SIGTERM stops cleanly and the next run resumes; a malformed
/// file is refused with positions. Studies are tiny, so each test takes seconds.
/// </summary>
public sealed class StudiesCommandTests : IDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);

    private readonly StudiesHome home = new();

    public void Dispose() => home.Dispose();

    private static string Study(string file) => StudiesHome.StudyFile(file);

    private async Task<(IStudyStorage Store, StudyRow Study, IReadOnlyList<TrialRow> Trials)> OpenAsync(string name)
    {
        var store = await home.OpenStoreAsync();
        var study = await store.FindStudyAsync(name);
        Assert.NotNull(study);
        return (store, study, (await store.ListTrialsAsync(study.Id)).Where(t => t.InDefinition).ToList());
    }

    private static string Describe(IEnumerable<TrialRow> trials) =>
        string.Join("\n", trials.Select(t => $"{t.TrialId} {t.State} attempts={t.Attempts} error={t.Error}"));

    /// <summary>The README's main job, as shipped: studies/quickstart.yaml from the repository.</summary>
    [Fact]
    public async Task The_quickstart_study_runs_to_the_end_and_prints_its_report_path_last()
    {
        string? quickstart = null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null && quickstart is null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "studies", "quickstart.yaml");
            if (File.Exists(Path.Combine(dir.FullName, "Studies.sln")) && File.Exists(candidate)) quickstart = candidate;
        }
        Assert.NotNull(quickstart);
        var run = await home.RunAsync(TimeSpan.FromMinutes(5), "run", quickstart);
        Assert.True(run.ExitCode == 0, run.ToString());
        var last = run.StdoutLines[^1];
        Assert.StartsWith("report: ", last);
        Assert.True(File.Exists(last["report: ".Length..]), run.ToString());
        var (store, study, trials) = await OpenAsync("quickstart");
        await using (store)
        {
            Assert.Equal(12, trials.Count);
            Assert.All(trials, t => Assert.Equal(TrialState.Completed, t.State));
            // Every trial kept its score curves: one per mass (0.5 to 8.5 GeV).
            foreach (var t in trials) Assert.Equal(9, (await store.LoadResultAsync(study.Id, t)).Curves.Count);
        }

        // Issue 28: the paper output of the quickstart opens in real readers and its LaTeX compiles with the figures in it.
        var report = await home.RunAsync(CommandTimeout, "report", "quickstart", "--figures", "png,pdf,svg", "--latex");
        Assert.True(report.ExitCode == 0, report.ToString());
        var folder = Path.GetDirectoryName(last["report: ".Length..])!;
        var figures = Directory.GetFiles(Path.Combine(folder, "figures"));
        foreach (var prefix in new[] { "roc_m", "significance_vs_cut_m", "classifier_output_", "sigma_min_best_cut_vs_mass" })
            Assert.True(figures.Count(f => Path.GetFileName(f).StartsWith(prefix, StringComparison.Ordinal)) >= 3, $"no {prefix}* figure in {string.Join(", ", figures)}");
        foreach (var png in figures.Where(f => f.EndsWith(".png", StringComparison.Ordinal)))
            Assert.Contains("PNG image data", global::Studies.Reports.Tests.PaperFiles.Run("file", png).Output);
        foreach (var pdf in figures.Where(f => f.EndsWith(".pdf", StringComparison.Ordinal)))
            Assert.Equal(0, global::Studies.Reports.Tests.PaperFiles.Run("pdfinfo", pdf).ExitCode);
        global::Studies.Reports.Tests.PaperFiles.AssertCompiles(Path.Combine(folder, "latex", "report.tex"));
        // The report written again links them.
        Assert.Contains("<img src=\"figures/roc_m", File.ReadAllText(Path.Combine(folder, "report.html")));
        Assert.Contains("](figures/classifier_output_", File.ReadAllText(Path.Combine(folder, "report.md")));
    }

    [Fact]
    public async Task Run_reports_exports_match_the_database_and_a_second_run_repeats_nothing()
    {
        var run = await home.RunAsync(RunTimeout, "run", Study("e2e-run.yaml"), "--workers", "2");
        Assert.True(run.ExitCode == 0, run.ToString());
        var last = run.StdoutLines[^1];
        Assert.StartsWith("report: ", last);
        Assert.True(File.Exists(last["report: ".Length..]), $"the report {last} does not exist\n{run}");

        var (store, study, trials) = await OpenAsync("e2e-run");
        await using (store)
        {
            Assert.Equal(4, trials.Count);
            foreach (var t in trials) await RecordChecks.AssertCompletedOnceAsync(home, store, study.Id, t);

            var outDir = Path.Combine(home.Root, "export");
            var export = await home.RunAsync(CommandTimeout, "export", "e2e-run", "--out", outDir);
            Assert.True(export.ExitCode == 0, export.ToString());

            var trialsCsv = File.ReadAllLines(Path.Combine(outDir, "trials.csv"));
            Assert.Equal("trial_id,state,attempts,seconds,study,method,schedule,model.kind", trialsCsv[0]);
            Assert.Equal(trials.Count, trialsCsv.Length - 1);
            Assert.Equal(trials.Select(t => t.TrialId).Order(), trialsCsv.Skip(1).Select(l => l.Split(',')[0]).Order());
            Assert.All(trialsCsv.Skip(1), l => Assert.Equal("completed,1", string.Join(',', l.Split(',')[1..3])));

            var epochsCsv = File.ReadAllLines(Path.Combine(outDir, "epochs.csv"));
            Assert.Equal("trial_id,phase,epoch,metric,value,study,method", epochsCsv[0]);
            Assert.Equal(home.Scalar("SELECT COUNT(*) FROM epochs WHERE study_id = $s", ("$s", study.Id)), epochsCsv.Length - 1);

            var massCsv = File.ReadAllLines(Path.Combine(outDir, "mass_metrics.csv"));
            Assert.Equal("trial_id,mass,heldout,split,epoch_kind,metric,value,study,method", massCsv[0]);
            Assert.Equal(home.Scalar("SELECT COUNT(*) FROM mass_metrics WHERE study_id = $s", ("$s", study.Id)), massCsv.Length - 1);
            // Commas inside quotes (the method label "bce, dnn") do not split fields.
            var fields = massCsv.Skip(1).Select(l => System.Text.RegularExpressions.Regex.Split(l, ",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)")).ToList();
            Assert.All(fields, f => Assert.Equal(9, f.Length));
            Assert.Equal(["false", "true"], fields.Select(f => f[2]).Distinct().Order());
            Assert.Equal(["test", "validation"], fields.Select(f => f[3]).Distinct().Order());
            Assert.Equal(["best", "last"], fields.Select(f => f[4]).Distinct().Order());
            // Held-out rows are exactly the masses the database marks held out.
            Assert.Equal(home.Scalar("SELECT COUNT(*) FROM mass_metrics WHERE study_id = $s AND heldout = 1", ("$s", study.Id)),
                fields.Count(f => f[2] == "true"));

            var status = await home.RunAsync(CommandTimeout, "status", "e2e-run");
            Assert.True(status.ExitCode == 0, status.ToString());
            Assert.Contains("e2e-run", status.Stdout);
            Assert.Contains("4/4 finished", status.Stdout);
            var list = await home.RunAsync(CommandTimeout, "list");
            Assert.True(list.ExitCode == 0, list.ToString());
            Assert.Contains("e2e-run", list.Stdout);

            // The same file again: every trial was completed, so nothing is claimed or rerun.
            var again = await home.RunAsync(RunTimeout, "run", Study("e2e-run.yaml"), "--workers", "2");
            Assert.True(again.ExitCode == 0, again.ToString());
            Assert.StartsWith("report: ", again.StdoutLines[^1]);
            // Neither a live row nor a log line of a trial run now ("start ..." live, "trial k/n ..." in log mode).
            Assert.DoesNotContain(again.StdoutLines, l => l.StartsWith("start ", StringComparison.Ordinal) || System.Text.RegularExpressions.Regex.IsMatch(l, @"^trial \d+/\d+ "));
            var after = (await store.ListTrialsAsync(study.Id)).Where(t => t.InDefinition).ToList();
            Assert.Equal(trials.Select(t => (t.TrialId, t.State, t.Attempts, t.StartedAt, t.FinishedAt)),
                after.Select(t => (t.TrialId, t.State, t.Attempts, t.StartedAt, t.FinishedAt)));
        }
    }

    [Fact]
    public async Task Killing_the_orchestrator_at_random_points_loses_nothing_duplicates_nothing_and_leaves_no_worker()
    {
        var random = new Random(1234);
        var file = Study("e2e-kill.yaml");
        var killedWhileWorking = 0;
        for (var round = 0; round < 4; round++)
        {
            using var run = home.Start("run", file);
            var delay = TimeSpan.FromSeconds(1 + 3 * random.NextDouble());
            await Task.Delay(delay);
            Assert.False(run.HasExited, $"round {round}: the run ended before it was killed after {delay.TotalSeconds:F1} s\n{run.Stdout}\n{run.Stderr}");
            if (home.WorkerPids().Count > 0) killedWhileWorking++;
            run.KillHard();
            await run.WaitAsync(CommandTimeout);
            // The workers see their standard input close and exit on their own.
            var orphans = await home.WaitForNoWorkersAsync(TimeSpan.FromSeconds(10));
            Assert.True(orphans.Count == 0, $"round {round}: worker(s) {string.Join(", ", orphans)} outlived their orchestrator by 10 s");
        }
        Assert.True(killedWhileWorking >= 2, $"only {killedWhileWorking} of 4 kills happened while workers ran");

        var last = await home.RunAsync(RunTimeout, "run", file);
        Assert.True(last.ExitCode == 0, last.ToString());

        var (store, study, trials) = await OpenAsync("e2e-kill");
        await using (store)
        {
            Assert.Equal(8, trials.Count);
            Assert.True(trials.All(t => t.State == TrialState.Completed), Describe(trials));
            foreach (var t in trials) await RecordChecks.AssertCompletedOnceAsync(home, store, study.Id, t);
            // Some trial was running when its orchestrator died, was found orphaned, and ran again (resuming).
            Assert.True(trials.Any(t => t.Attempts > 1), Describe(trials));
            Assert.Equal("ok", await store.IntegrityCheckAsync());
        }
        Assert.Empty(home.WorkerPids());
    }

    [Fact]
    public async Task A_study_of_bdt_trials_killed_midway_resumes_without_rerunning_or_duplicating_anything()
    {
        var file = Study("e2e-kill-bdt.yaml");
        using (var run = home.Start("run", file))
        {
            // Kill once some trial has completed and others have not.
            var clock = Stopwatch.StartNew();
            long completed = 0;
            while (clock.Elapsed < RunTimeout && !run.HasExited)
            {
                completed = File.Exists(home.Database) ? TryCount("SELECT COUNT(*) FROM trials WHERE state = 'completed'") : 0;
                if (completed > 0) break;
                await Task.Delay(200);
            }
            Assert.False(run.HasExited, $"the run ended before it was killed\n{run.Stdout}\n{run.Stderr}");
            run.KillHard();
            await run.WaitAsync(CommandTimeout);
        }
        Assert.Empty(await home.WaitForNoWorkersAsync(TimeSpan.FromSeconds(10)));
        List<TrialRow> before;
        var (first, _, firstTrials) = await OpenAsync("e2e-kill-bdt");
        await using (first) before = firstTrials.Where(t => t.State == TrialState.Completed).ToList();
        Assert.InRange(before.Count, 1, 5);

        var resumed = await home.RunAsync(RunTimeout, "run", file);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        // Completed trials are not started again.
        Assert.DoesNotContain(resumed.StdoutLines, l => before.Any(t => l.StartsWith($"start {t.TrialId}", StringComparison.Ordinal)));
        var (store, study, trials) = await OpenAsync("e2e-kill-bdt");
        await using (store)
        {
            Assert.Equal(6, trials.Count);
            foreach (var t in trials) await RecordChecks.AssertCompletedOnceAsync(home, store, study.Id, t);
            foreach (var t in before)
            {
                var now = trials.Single(x => x.TrialId == t.TrialId);
                Assert.Equal((t.Attempts, t.StartedAt, t.FinishedAt), (now.Attempts, now.StartedAt, now.FinishedAt));
            }
        }
    }

    /// <summary>A count from the store while another process writes it (0 while the schema is not there yet).</summary>
    private long TryCount(string sql)
    {
        try
        {
            return home.Scalar(sql);
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return 0;
        }
    }

    [Fact]
    public async Task A_worker_killed_mid_trial_is_retried_and_the_trial_completes()
    {
        using var run = home.Start("run", Study("e2e-crash.yaml"));
        var workers = await home.WaitForWorkersAsync(1, CommandTimeout);
        Assert.True(workers.Count == 1, $"{workers.Count} workers\n{run.Stdout}\n{run.Stderr}");
        // Kill it once it has trained (and checkpointed) a few epochs, so the retry has something to resume.
        Assert.True(await WaitForCheckpointAsync("e2e-crash", minEpochs: 5), $"no checkpoint appeared\n{run.Stdout}\n{run.Stderr}");
        using (var worker = Process.GetProcessById(workers[0])) worker.Kill();

        var result = await run.WaitAsync(RunTimeout);
        Assert.True(result.ExitCode == 0, result.ToString());
        var (store, study, trials) = await OpenAsync("e2e-crash");
        await using (store)
        {
            var trial = Assert.Single(trials);
            Assert.True(trial.State == TrialState.Completed && trial.Attempts == 2, Describe(trials) + "\n" + result);
            await RecordChecks.AssertCompletedOnceAsync(home, store, study.Id, trial);
        }
    }

    [Fact]
    public async Task A_diverging_trial_is_recorded_with_epoch_and_phase_not_retried_and_the_others_complete()
    {
        var run = await home.RunAsync(RunTimeout, "run", Study("e2e-diverge.yaml"));
        Assert.True(run.ExitCode == 0, run.ToString());
        var (store, study, trials) = await OpenAsync("e2e-diverge");
        await using (store)
        {
            Assert.Equal(3, trials.Count);
            var diverged = Assert.Single(trials, t => t.State == TrialState.Diverged);
            Assert.Equal("1.0e38", diverged.Axes["schedule[0].lr"]);
            Assert.Equal(1, diverged.Attempts);
            Assert.Matches(@"(NaN|infinite) at epoch \d+ of phase 1\b", diverged.Error);
            foreach (var t in trials.Where(t => t != diverged))
            {
                Assert.Equal(1, t.Attempts);
                await RecordChecks.AssertCompletedOnceAsync(home, store, study.Id, t);
            }
        }
    }

    /// <summary>Runs the study file again and checks that every trial ends completed, recorded exactly once.</summary>
    private async Task RunAgainToCompletionAsync(IStudyStorage store, StudyRow study, string file)
    {
        var resumed = await home.RunAsync(RunTimeout, "run", file);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        var after = (await store.ListTrialsAsync(study.Id)).Where(t => t.InDefinition).ToList();
        Assert.True(after.All(t => t.State == TrialState.Completed), Describe(after));
        foreach (var t in after) await RecordChecks.AssertCompletedOnceAsync(home, store, study.Id, t);
    }

    [Fact]
    public async Task A_second_interrupt_stops_at_once_and_the_next_run_still_completes_everything()
    {
        var file = Study("e2e-stop.yaml");
        using (var run = home.Start("run", file))
        {
            Assert.True((await home.WaitForWorkersAsync(2, CommandTimeout)).Count == 2, $"two workers did not start\n{run.Stdout}\n{run.Stderr}");
            var signalled = Stopwatch.StartNew();
            run.Signal(StudiesProcess.SigTerm);
            var first = Stopwatch.StartNew();
            while (!run.Stderr.Contains("press Ctrl+C again", StringComparison.Ordinal) && first.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(20);
            Assert.True(run.Stderr.Contains("press Ctrl+C again", StringComparison.Ordinal), run.Stderr);
            run.Signal(StudiesProcess.SigTerm);
            var stopped = await run.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(signalled.Elapsed < TimeSpan.FromSeconds(5), $"took {signalled.Elapsed.TotalSeconds:F1} s to stop\n{stopped}");
            Assert.True(stopped.ExitCode == 130, stopped.ToString());
            Assert.Contains("stopping now", stopped.Stderr);
        }
        Assert.Empty(await home.WaitForNoWorkersAsync(TimeSpan.FromSeconds(5)));

        var (store, study, trials) = await OpenAsync("e2e-stop");
        await using (store)
        {
            Assert.DoesNotContain(trials, t => t.State == TrialState.Running);
            await RunAgainToCompletionAsync(store, study, file);
        }
    }

    [Fact]
    public async Task Sigterm_stops_the_run_cleanly_and_the_next_run_resumes_the_interrupted_trials()
    {
        var file = Study("e2e-stop.yaml");
        using (var run = home.Start("run", file))
        {
            Assert.True((await home.WaitForWorkersAsync(2, CommandTimeout)).Count == 2, $"two workers did not start\n{run.Stdout}\n{run.Stderr}");
            Assert.True(await WaitForCheckpointAsync("e2e-stop", minEpochs: 3, trials: 2), $"no checkpoints appeared\n{run.Stdout}\n{run.Stderr}");
            var signalled = Stopwatch.StartNew();
            run.Signal(StudiesProcess.SigTerm);
            var stopped = await run.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(signalled.Elapsed < TimeSpan.FromSeconds(10), $"took {signalled.Elapsed.TotalSeconds:F1} s to stop\n{stopped}");
            Assert.True(stopped.ExitCode == 130, stopped.ToString());
            Assert.Contains("again to resume", stopped.Stderr);
        }
        Assert.Empty(await home.WaitForNoWorkersAsync(TimeSpan.FromSeconds(5)));

        var (store, study, trials) = await OpenAsync("e2e-stop");
        await using (store)
        {
            Assert.DoesNotContain(trials, t => t.State == TrialState.Running);
            Assert.All(trials, t => Assert.Contains(t.State, new[] { TrialState.Interrupted, TrialState.Completed, TrialState.Queued }));
            var interrupted = trials.Where(t => t.State == TrialState.Interrupted).ToList();
            Assert.True(interrupted.Count >= 1, Describe(trials));
            // They checkpointed on the way out: the next run resumes from there.
            foreach (var t in interrupted)
                Assert.True(CheckpointEpochs("e2e-stop", t.TrialId) >= 3, $"{t.TrialId}: checkpoint at epoch {CheckpointEpochs("e2e-stop", t.TrialId)}");

            await RunAgainToCompletionAsync(store, study, file);
        }
    }

    [Fact]
    public async Task A_malformed_study_exits_2_and_names_every_problem_by_file_line_and_column()
    {
        var file = Study("e2e-bad.yaml");
        var run = await home.RunAsync(CommandTimeout, "run", file);
        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Equal(2, run.StderrLines.Count);
        Assert.Equal($"{file}:11:7: unknown key 'lerning_rate', did you mean 'lr'?", run.StderrLines[0]);
        Assert.StartsWith($"{file}:13:21: unknown model kind 'cnn'", run.StderrLines[1]);
        Assert.False(File.Exists(home.Database), "a malformed study must not be recorded");
    }

    /// <summary>Epochs done according to a trial's checkpoint file (0 when it has none yet).</summary>
    private int CheckpointEpochs(string study, string trialId)
    {
        var path = Path.Combine(home.Root, study, "trials", trialId, "checkpoint.json");
        try
        {
            return File.Exists(path) ? JsonNode.Parse(File.ReadAllText(path))?["global_epoch"]?.GetValue<int>() ?? 0 : 0;
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException)
        {
            return 0; // being replaced right now
        }
    }

    /// <summary>Waits until <paramref name="trials"/> trials of the study have checkpointed at least <paramref name="minEpochs"/> epochs.</summary>
    private async Task<bool> WaitForCheckpointAsync(string study, int minEpochs, int trials = 1)
    {
        var folder = Path.Combine(home.Root, study, "trials");
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < CommandTimeout)
        {
            var ready = Directory.Exists(folder)
                ? Directory.EnumerateDirectories(folder).Count(d => CheckpointEpochs(study, Path.GetFileName(d)) >= minEpochs)
                : 0;
            if (ready >= trials) return true;
            await Task.Delay(50);
        }
        return false;
    }
}
