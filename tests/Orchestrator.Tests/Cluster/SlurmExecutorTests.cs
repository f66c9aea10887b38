using System.Diagnostics;
using Studies.Orchestrator.Cluster;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.PostgreSql;
using Studies.Orchestrator.Tests.EndToEnd;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Cluster;

/// <summary>The Slurm executor's pure parts: the script it submits, where a task says it runs, the study file's keys.</summary>
public sealed class SlurmScriptTests
{
    [Fact]
    public async Task Dry_run_prints_the_sbatch_script_of_one_job_array_with_the_studys_resources()
    {
        using var home = new StudiesHome();
        var study = Path.Combine(home.Root, "cluster.yaml");
        File.WriteAllText(study, File.ReadAllText(StudiesHome.StudyFile("e2e-run.yaml"))
            .Replace("resources: {threads_per_trial: 1}", """
                resources:
                  executor: slurm
                  threads_per_trial: 2
                  partition: gpu
                  gres: "gpu:1"
                  time: "2:00:00"
                  array_parallel: 3
                  sbatch_args: ["--account=atlas", "--qos=long"]
                checkpoints: /shared/ckpt
                """, StringComparison.Ordinal));
        var result = await home.RunAsync(TimeSpan.FromMinutes(3), "run", study, "--dry-run");
        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StdoutLines;
        Assert.Equal("#!/bin/bash", lines[0]);
        foreach (var expected in new[] { "#SBATCH --array=0-2", "#SBATCH --cpus-per-task=2", "#SBATCH --partition=gpu", "#SBATCH --gres=gpu:1",
                     "#SBATCH --time=2:00:00", "#SBATCH --output=/shared/ckpt/e2e-run/slurm/%A_%a.out", "#SBATCH --account=atlas", "#SBATCH --qos=long" })
            Assert.Contains(expected, lines);
        var exec = Assert.Single(lines, l => l.StartsWith("exec ", StringComparison.Ordinal));
        Assert.Contains("cluster-task e2e-run --checkpoints /shared/ckpt/e2e-run --slots 1 --threads 2 --device cpu", exec);
    }

    [Fact]
    public void Slurm_keys_need_the_slurm_executor()
    {
        var text = File.ReadAllText(StudiesHome.StudyFile("e2e-run.yaml")).Replace("resources: {threads_per_trial: 1}", "resources: {threads_per_trial: 1, gres: \"gpu:1\"}", StringComparison.Ordinal);
        var error = Assert.Throws<StudyValidationException>(() => StudyLoader.Parse(text, "s.yaml", Path.GetDirectoryName(StudiesHome.StudyFile("e2e-run.yaml"))!));
        Assert.Contains("resources.gres is a Slurm setting: it needs resources.executor: slurm", error.Message);
    }

    [Fact]
    public void A_task_records_its_job_array_task_and_node()
    {
        var env = new Dictionary<string, string> { ["SLURM_JOB_ID"] = "17", ["SLURM_ARRAY_JOB_ID"] = "15", ["SLURM_ARRAY_TASK_ID"] = "2", ["SLURMD_NODENAME"] = "wn042" };
        var placement = ClusterTask.Placement(n => env.GetValueOrDefault(n));
        Assert.Equal(("17", "15", "2", "wn042", "RUNNING"), (placement["slurm_job_id"], placement["slurm_array_job_id"], placement["slurm_array_task_id"], placement["node"], placement["slurm_state"]));
        Assert.Equal("15_2", placement["job"]);
        Assert.False(placement.ContainsKey("partition"));
    }

    [Fact]
    public void Words_are_quoted_for_bash_only_when_needed()
    {
        Assert.Equal("/usr/bin/dotnet", SlurmScript.Quote("/usr/bin/dotnet"));
        Assert.Equal("'my study'", SlurmScript.Quote("my study"));
        Assert.Equal("'it'\\''s'", SlurmScript.Quote("it's"));
    }
}

/// <summary>
/// Studies through a real single-node Slurm (started by the tests) with a real PostgreSQL store: the job array's tasks
/// claim every trial exactly once and the results are those of a local run.
/// </summary>
public sealed class SlurmExecutorTests(SlurmCluster slurm, PostgreSqlServer postgres) : IClassFixture<SlurmCluster>, IClassFixture<PostgreSqlServer>
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(8);

    private Task<(int Exit, string Stdout, string Stderr)> StudiesAsync(string home, params string[] args) => StudiesAsync(home, new Dictionary<string, string>(), args);

    private async Task<(int Exit, string Stdout, string Stderr)> StudiesAsync(string home, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = slurm.Command(dotnet, [StudiesHome.StudiesDll, .. args, "--home", home]);
        foreach (var (k, v) in environment) start.Environment[k] = v;
        start.Environment["STUDIES_Scheduling__LeaseSeconds"] = "10";
        start.Environment["STUDIES_Scheduling__HeartbeatSeconds"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Long);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"studies {string.Join(' ', args)} did not finish in {Long}: {slurm.Client("squeue")}\n{await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task A_study_runs_through_a_slurm_job_array_and_records_what_a_local_run_records()
    {
        using var clusterHome = new StudiesHome();
        using var localHome = new StudiesHome();
        var location = postgres.ViaSocket(await postgres.CreateDatabaseAsync());
        var study = StudiesHome.StudyFile("e2e-run.yaml");

        // A site that exports nothing to its jobs (SBATCH_EXPORT=NONE): the tasks still get the store, from their command line.
        var cluster = await StudiesAsync(clusterHome.Root, new Dictionary<string, string> { ["SBATCH_EXPORT"] = "NONE" },
            "run", study, "--executor", "slurm", "--store", location);
        Assert.True(cluster.Exit == 0, $"{cluster.Stdout}\n{cluster.Stderr}");
        var local = await localHome.RunAsync(Long, "run", study);
        Assert.True(local.ExitCode == 0, local.ToString());

        await using var shared = await PostgreSqlStudyStorage.OpenAsync(location, StoreAccess.ReadOnly);
        await using var embedded = await localHome.OpenStoreAsync();
        var (clusterRows, localRows) = (await Rows(shared), await Rows(embedded));
        Assert.Equal(localRows.Select(r => r.Trial), clusterRows.Select(r => r.Trial));
        Assert.All(clusterRows, r => Assert.Equal((TrialState.Completed, 1), (r.State, r.Attempts)));
        Assert.Equal(localRows.Select(r => r.Metrics), clusterRows.Select(r => r.Metrics));

        // Each attempt says where it ran: the job array's tasks on the node.
        var row = (await shared.FindStudyAsync("e2e-run"))!;
        var attempts = await shared.ListAttemptsAsync(row.Id, clusterRows[0].Trial);
        var placement = Assert.Single(attempts).Placement;
        Assert.Equal("node1", placement["node"]);
        var job = Assert.Single(await shared.ListJobsAsync(row.Id));
        Assert.Equal(job.JobId, placement["slurm_array_job_id"]);
        Assert.Equal("ok", await shared.IntegrityCheckAsync());

        // Status reads the shared store like any other.
        var status = await StudiesAsync(clusterHome.Root, "status", "e2e-run", "--store", location);
        Assert.True(status.Exit == 0, status.Stderr);
        Assert.Contains("completed", status.Stdout);
    }

    [Fact]
    public async Task Two_runs_of_one_study_against_one_store_at_once_train_every_trial_exactly_once()
    {
        using var home = new StudiesHome();
        var location = postgres.ViaSocket(await postgres.CreateDatabaseAsync());
        var study = StudiesHome.StudyFile("e2e-run.yaml");
        var runs = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => StudiesAsync(home.Root, "run", study, "--executor", "slurm", "--store", location, "--workers", "2")));
        Assert.All(runs, r => Assert.True(r.Exit == 0, $"{r.Stdout}\n{r.Stderr}"));
        await using var shared = await PostgreSqlStudyStorage.OpenAsync(location, StoreAccess.ReadOnly);
        var rows = await Rows(shared);
        Assert.Equal(4, rows.Count);
        Assert.All(rows, r => Assert.Equal((TrialState.Completed, 1), (r.State, r.Attempts)));
        var row = (await shared.FindStudyAsync("e2e-run"))!;
        foreach (var r in rows) Assert.Single(await shared.ListAttemptsAsync(row.Id, r.Trial));
    }

    [Fact]
    public async Task An_adaptive_search_runs_through_slurm_array_tasks_proposing_every_number_once_and_no_point_twice()
    {
        using var home = new StudiesHome();
        var location = postgres.ViaSocket(await postgres.CreateDatabaseAsync());
        // TPE + ASHA: the array's tasks propose from the shared store (SearchDriver.FromRecord), the submitting run counts
        // the proposals still to make as work left.
        var result = await StudiesAsync(home.Root, "run", StudiesHome.StudyFile("e2e-search.yaml"), "--executor", "slurm", "--store", location, "--workers", "2");
        Assert.True(result.Exit == 0, $"{result.Stdout}\n{result.Stderr}");

        await using var shared = await PostgreSqlStudyStorage.OpenAsync(location, StoreAccess.ReadOnly);
        var row = (await shared.FindStudyAsync("e2e-search"))!;
        var proposals = await shared.ListProposalsAsync(row.Id);
        Assert.Equal(Enumerable.Range(0, 12), proposals.Select(p => p.Proposal.Number).Order());
        Assert.All(proposals, p => Assert.Single(p.TrialIds));
        var points = proposals.Select(p => string.Join(",", p.Proposal.Point.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value:R}"))).ToList();
        Assert.Equal(points.Count, points.Distinct().Count());
        var trials = await shared.ListTrialsAsync(row.Id);
        Assert.Equal(12, trials.Count);
        Assert.All(trials, t => Assert.True(t.State is TrialState.Completed or TrialState.Pruned, $"{t.TrialId} {t.State} {t.Error}"));
        Assert.All(trials.Where(t => t.State == TrialState.Pruned), t => Assert.StartsWith("pruned at epoch ", t.Error));
        // The tasks ran them: each attempt names its array job.
        foreach (var t in trials)
            Assert.All(await shared.ListAttemptsAsync(row.Id, t.TrialId), a => Assert.True(a.Placement.ContainsKey("slurm_array_job_id"), string.Join(",", a.Placement.Keys)));
        Assert.Equal("ok", await shared.IntegrityCheckAsync());
    }

    [Fact]
    public async Task A_scancelled_array_task_leaves_its_trial_to_another_task_which_resumes_it()
    {
        using var home = new StudiesHome();
        var location = postgres.ViaSocket(await postgres.CreateDatabaseAsync());
        // Longer trials, so that one is surely mid-way when its task is cancelled (about 30 ms an epoch on a quiet machine:
        // 60 epochs could finish before the scancel reached the task).
        var study = Path.Combine(home.Root, "e2e-run.yaml");
        File.WriteAllText(study, File.ReadAllText(StudiesHome.StudyFile("e2e-run.yaml"))
            .Replace("- {loss: bce, epochs: 4,", "- {loss: bce, epochs: 400,", StringComparison.Ordinal));
        // Opened (and its tables created) before the run starts, to watch it.
        await using var shared = await PostgreSqlStudyStorage.OpenAsync(location);
        var run = StudiesAsync(home.Root, "run", study, "--executor", "slurm", "--store", location, "--workers", "2");

        var clock = Stopwatch.StartNew();
        TrialRow? victim = null;
        while (victim is null)
        {
            Assert.True(clock.Elapsed < Long, "no trial reached its third epoch");
            if (run.IsCompleted) Assert.Fail("the run ended before a task could be cancelled: " + (await run).Stderr);
            if (await shared.FindStudyAsync("e2e-run") is { } found)
                victim = (await shared.ListTrialsAsync(found.Id)).FirstOrDefault(t => t.State == TrialState.Running && t.Epoch >= 3 && t.Placement?.ContainsKey("job") == true);
            await Task.Delay(200);
        }
        slurm.Client("scancel", victim.Placement!["job"]);

        var result = await run;
        Assert.True(result.Exit == 0, $"{result.Stdout}\n{result.Stderr}");
        var row = (await shared.FindStudyAsync("e2e-run"))!;
        var trial = (await shared.FindTrialAsync(row.Id, victim.TrialId))!;
        Assert.Equal((TrialState.Completed, 2), (trial.State, trial.Attempts));
        var attempts = await shared.ListAttemptsAsync(row.Id, victim.TrialId);
        Assert.Equal(victim.Placement["job"], attempts[0].Placement["job"]);
        Assert.Contains(attempts[0].Outcome, new[] { "interrupted", "lease-expired" });
        Assert.NotEqual(attempts[0].Placement["job"], attempts[1].Placement["job"]);
        // How Slurm ended the first attempt's task is recorded with the attempt, and `status` shows it.
        Assert.Equal(("CANCELLED", "node1"), (attempts[0].Placement["slurm_state"], attempts[0].Placement["node"]));
        var status = await StudiesAsync(home.Root, "status", "e2e-run", "--store", location);
        Assert.True(status.Exit == 0, status.Stderr);
        Assert.Contains("attempts stopped on the cluster", status.Stdout);
        Assert.Contains(status.Stdout.Split('\n'), l => l.Contains(victim.TrialId, StringComparison.Ordinal) && l.Contains(victim.Placement["job"], StringComparison.Ordinal)
            && l.Contains("CANCELLED", StringComparison.Ordinal));
        // Resumed, not restarted, and nothing twice: the result holds each of the 400 epochs once, each mass row once.
        var rows = await Rows(shared);
        Assert.All(rows, r => Assert.Equal(TrialState.Completed, r.State));
        var resumed = await shared.LoadResultAsync(row.Id, trial);
        Assert.Equal(Enumerable.Range(1, 400), resumed.Epochs.Select(e => e.Epoch));
        Assert.Equal(resumed.Masses.Count, resumed.Masses.Select(m => (m.Mass, m.Split, m.EpochKind)).Distinct().Count());
        Assert.Equal("ok", await shared.IntegrityCheckAsync());
    }

    [Fact]
    public async Task A_study_whose_time_limit_leaves_no_time_for_a_trial_exits_non_zero_saying_how_many_trials_are_left()
    {
        using var home = new StudiesHome();
        var location = postgres.ViaSocket(await postgres.CreateDatabaseAsync());
        // Slurm's shortest limit, one minute, is inside the 60 s warning window from the start: a task claims nothing. (The
        // real limit, not a wait for it: a task that claimed would only be stopped by it, as the scancel test shows.)
        var study = Path.Combine(home.Root, "e2e-run.yaml");
        File.WriteAllText(study, File.ReadAllText(StudiesHome.StudyFile("e2e-run.yaml"))
            .Replace("resources: {threads_per_trial: 1}", "resources: {executor: slurm, threads_per_trial: 1, time: \"1\"}", StringComparison.Ordinal));
        var result = await StudiesAsync(home.Root, "run", study, "--store", location, "--workers", "2");
        Assert.True(result.Exit == 6, $"{result.Exit}\n{result.Stdout}\n{result.Stderr}");
        var line = Assert.Single(result.Stderr.Split('\n'), l => l.StartsWith("error: study e2e-run did not complete", StringComparison.Ordinal));
        Assert.Contains("4 trial(s) left (4 queued) of 4", line);
        Assert.Contains($"{SlurmTrialExecutor.MaxBarrenArrays} job array(s) in a row ended without finishing a trial", line);
        await using var shared = await PostgreSqlStudyStorage.OpenAsync(location, StoreAccess.ReadOnly);
        var row = (await shared.FindStudyAsync("e2e-run"))!;
        Assert.Equal(SlurmTrialExecutor.MaxBarrenArrays, (await shared.ListJobsAsync(row.Id)).Count);
        Assert.All(await shared.ListTrialsAsync(row.Id), t => Assert.Equal((TrialState.Queued, 0), (t.State, t.Attempts)));
    }

    [Fact]
    public async Task A_cancel_during_a_run_is_not_undone_by_the_run_which_ends_non_zero_and_submits_nothing_more()
    {
        using var home = new StudiesHome();
        var location = postgres.ViaSocket(await postgres.CreateDatabaseAsync());
        await using var shared = await PostgreSqlStudyStorage.OpenAsync(location);
        var run = await RunUntilATrialTrainsAsync(home, location, shared, bceEpochs: 800); // long enough on a quiet machine (about 30 ms an epoch): 60 finished before the cancel
        var cancel = await StudiesAsync(home.Root, "cancel", "e2e-run", "--store", location);
        Assert.True(cancel.Exit == 0, cancel.Stderr);
        var cancelledAt = StoreClock.Now();

        var result = await run;
        Assert.True(result.Exit == 6, $"{result.Exit}\n{result.Stdout}\n{result.Stderr}");
        Assert.Contains(result.Stderr.Split('\n'), l => l.StartsWith("error: study e2e-run did not complete", StringComparison.Ordinal) && l.Contains("cancelled", StringComparison.Ordinal));
        var row = (await shared.FindStudyAsync("e2e-run"))!;
        Assert.True(row.Cancelled);
        // No new array, nothing queued again, no attempt started after the cancel; the interrupted trials stay so.
        Assert.Single(await shared.ListJobsAsync(row.Id));
        var trials = await shared.ListTrialsAsync(row.Id);
        Assert.DoesNotContain(trials, t => t.State is TrialState.Queued or TrialState.Running);
        Assert.Contains(trials, t => t.State is TrialState.Cancelled or TrialState.Interrupted);
        foreach (var t in trials)
            Assert.All(await shared.ListAttemptsAsync(row.Id, t.TrialId), a => Assert.True(a.StartedAt < cancelledAt, $"attempt {a.Attempt} of {t.TrialId} started after the cancel"));
        // No task of the study is left pending or running (one may still be completing its exit).
        Assert.Equal("", slurm.Client("squeue", "-h", "-t", "PENDING,RUNNING").Trim());
    }

    [Fact]
    public async Task An_outage_of_the_store_longer_than_the_lease_loses_no_result_and_never_lets_two_workers_train_one_trial()
    {
        using var home = new StudiesHome();
        var location = postgres.ViaSocket(await postgres.CreateDatabaseAsync());
        await using var shared = await PostgreSqlStudyStorage.OpenAsync(location);
        var run = await RunUntilATrialTrainsAsync(home, location, shared, bceEpochs: 500); // trials still running at the outage on a quiet machine (about 30 ms an epoch)
        // Longer than the 10 s lease of these tests: owners stop their workers (by their own clock, at 8 s), trials that
        // finish meanwhile keep their results for when the store is back.
        var atOutage = (await shared.ListTrialsAsync((await shared.FindStudyAsync("e2e-run"))!.Id))
            .Where(t => t.State == TrialState.Running).Select(t => (t.TrialId, t.Attempts)).ToList();
        postgres.Stop();
        await Task.Delay(TimeSpan.FromSeconds(14));
        await postgres.StartAsync();

        var result = await run;
        Assert.True(result.Exit == 0, $"{result.Exit}\n{result.Stdout}\n{result.Stderr}");
        var row = (await shared.FindStudyAsync("e2e-run"))!;
        var trials = await shared.ListTrialsAsync(row.Id);
        Assert.All(trials, t => Assert.Equal(TrialState.Completed, t.State));
        foreach (var t in trials)
        {
            var attempts = await shared.ListAttemptsAsync(row.Id, t.TrialId);
            // One attempt at a time: each ended before the next started, and only the last one completed.
            foreach (var (a, b) in attempts.Zip(attempts.Skip(1))) Assert.True(a.EndedAt <= b.StartedAt, $"{t.TrialId}: attempts {a.Attempt} and {b.Attempt} overlap");
            Assert.Equal("completed", attempts[^1].Outcome);
            Assert.All(attempts.SkipLast(1), a => Assert.NotEqual("completed", a.Outcome));
            // The folder lock never found another worker in the trial's folder.
            Assert.DoesNotContain(attempts, a => a.Outcome == "folder-held");
            var recorded = await shared.LoadResultAsync(row.Id, t);
            Assert.Equal(Enumerable.Range(1, t.LastEpoch!.Value), recorded.Epochs.Select(e => e.Epoch));
        }
        // Each attempt running at the outage either finished during it, its result recorded once the store was back (not
        // taken over by another task: "lease-expired"), or was stopped by its owner before its lease ran out ("lease-lost").
        Assert.NotEmpty(atOutage);
        foreach (var (trial, number) in atOutage)
        {
            var attempt = (await shared.ListAttemptsAsync(row.Id, trial)).Single(a => a.Attempt == number);
            Assert.Contains(attempt.Outcome, new[] { "completed", "lease-lost" });
        }
        // No finished result was turned away: every task log is free of "not recorded here".
        var logs = Directory.GetFiles(home.Root, "*.out", SearchOption.AllDirectories);
        Assert.NotEmpty(logs);
        Assert.All(logs, l => Assert.DoesNotContain("not recorded here", File.ReadAllText(l), StringComparison.Ordinal));
        Assert.Equal("ok", await shared.IntegrityCheckAsync());
    }

    /// <summary>
    /// Starts `studies run` of the end-to-end study, its bce trials made <paramref name="bceEpochs"/> long, on a job array of
    /// two tasks; returns once a trial trains (its second epoch recorded), with the run still going.
    /// </summary>
    private async Task<Task<(int Exit, string Stdout, string Stderr)>> RunUntilATrialTrainsAsync(StudiesHome home, string location, IStudyStorage shared, int bceEpochs)
    {
        var study = Path.Combine(home.Root, "e2e-run.yaml");
        File.WriteAllText(study, File.ReadAllText(StudiesHome.StudyFile("e2e-run.yaml"))
            .Replace("- {loss: bce, epochs: 4,", $"- {{loss: bce, epochs: {bceEpochs},", StringComparison.Ordinal));
        var run = StudiesAsync(home.Root, "run", study, "--executor", "slurm", "--store", location, "--workers", "2");
        var clock = Stopwatch.StartNew();
        while (true)
        {
            Assert.True(clock.Elapsed < Long, "no trial reached its second epoch");
            if (run.IsCompleted) Assert.Fail("the run ended before a trial trained: " + (await run).Stderr + TaskLogs(home.Root));
            if (await shared.FindStudyAsync("e2e-run") is { } found && (await shared.ListTrialsAsync(found.Id)).Any(t => t.State == TrialState.Running && t.Epoch >= 2)) return run;
            await Task.Delay(200);
        }
    }

    /// <summary>The array tasks' logs, for a failure's message.</summary>
    private static string TaskLogs(string root) =>
        string.Concat(Directory.GetFiles(root, "*.out", SearchOption.AllDirectories).Select(f => $"\n--- {f}\n{File.ReadAllText(f)}"));

    private sealed record Row(string Trial, TrialState State, int Attempts, string Metrics);

    /// <summary>Per trial: its state and attempts, and its metric names with their counts (epochs, masses, phases).</summary>
    private static async Task<List<Row>> Rows(IStudyStorage store)
    {
        var study = (await store.FindStudyAsync("e2e-run"))!;
        var rows = new List<Row>();
        foreach (var t in await store.ListTrialsAsync(study.Id))
        {
            var result = await store.LoadResultAsync(study.Id, t);
            var names = result.Epochs.SelectMany(e => e.Metrics.Keys.Select(k => "epoch:" + k))
                .Concat(result.Masses.SelectMany(m => m.Metrics.Keys.Select(k => $"mass:{m.Split}:{m.EpochKind}:{k}")))
                .Concat(result.Phases.Select(p => "phase:" + p.Loss))
                .GroupBy(n => n).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key}={g.Count()}");
            rows.Add(new Row(t.TrialId, t.State, t.Attempts, string.Join(",", names)));
        }
        return rows;
    }
}
