using Microsoft.Extensions.Logging.Abstractions;
using Studies.Orchestrator.Cli;
using Studies.Orchestrator.Cluster;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Orchestrator.Tests.EndToEnd;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Tests.Cluster;

/// <summary>
/// How a Slurm run ends, what it submits and what a task runs on, without a cluster: Slurm is a recording fake (its
/// answers as captured from the tests' single-node Slurm), the store an SQLite file.
/// </summary>
public sealed class SlurmRunTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("studies-slurmrun-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    /// <summary>A Slurm whose arrays never run a task (they end at once, or stay active as the test says).</summary>
    private sealed class FakeSlurm(int? maxArraySize, bool active) : ISlurm
    {
        public List<string> Scripts { get; } = [];
        public List<string> Cancelled { get; } = [];
        public Func<Task>? OnSubmit { get; init; }

        public async Task<string> SubmitAsync(string scriptPath, IReadOnlyDictionary<string, string> environment, CancellationToken ct)
        {
            Scripts.Add(await File.ReadAllTextAsync(scriptPath, ct));
            if (OnSubmit is { } hook) await hook();
            return (100 + Scripts.Count).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        public Task<bool> IsActiveAsync(string jobId, CancellationToken ct) => Task.FromResult(active && !Cancelled.Contains(jobId));
        public Task CancelAsync(IReadOnlyList<string> jobIds, CancellationToken ct) { Cancelled.AddRange(jobIds); return Task.CompletedTask; }
        public Task<IReadOnlyList<SlurmTaskState>> TaskStatesAsync(string jobId, CancellationToken ct) => Task.FromResult<IReadOnlyList<SlurmTaskState>>([]);
        public Task<int?> MaxArraySizeAsync(CancellationToken ct) => Task.FromResult(maxArraySize);
    }

    private sealed class QuietObserver : IExecutionObserver;

    private static Study SlurmStudy(string resources = "resources: {executor: slurm, threads_per_trial: 1}") =>
        StudyLoader.Parse(File.ReadAllText(StudiesHome.StudyFile("e2e-run.yaml")).Replace("resources: {threads_per_trial: 1}", resources, StringComparison.Ordinal),
            "s.yaml", Path.GetDirectoryName(StudiesHome.StudyFile("e2e-run.yaml"))!);

    private async Task<(StateCounts Counts, FakeSlurm Slurm, IStudyStorage Store, StudyRow Row)> RunAsync(FakeSlurm slurm, int workers,
        Func<IStudyStorage, StudyRow, FakeSlurm>? make = null)
    {
        var study = SlurmStudy();
        var trials = StudyExpander.Expand(study);
        var store = await SqliteStudyStorage.OpenAsync(Path.Combine(folder, "s.db"));
        var row = await store.SyncStudyAsync(new StudyDefinition(study.Name, null, study.Text, study.DefinitionHash, study.Data.Hash, new StudySettings()),
            trials.Select(t => new PlannedTrialRow(t.TrialId, SpecJson.Serialize(t.Spec), t.Axes)).ToList(), false);
        slurm = make?.Invoke(store, row) ?? slurm;
        var executor = new SlurmTrialExecutor(slurm, new WorkerCommandLine("/usr/bin/dotnet", ["/opt/studies/studies.dll"]), NullLogger<SlurmTrialExecutor>.Instance)
        {
            PollInterval = TimeSpan.FromMilliseconds(10),
            EndStateWait = TimeSpan.Zero,
        };
        var plan = executor.Plan(study, trials, workers);
        var options = new ExecutionOptions { ArtifactsDirectory = Path.Combine(folder, "ckpt"), Store = StoreLocation.Parse("postgresql://alice@db.example/studies", folder), FailFastAfter = 3,
            TrialTimeout = TimeSpan.FromMinutes(2.5) };
        var counts = await executor.RunAsync(store, row, plan, options, new QuietObserver(), CancellationToken.None, CancellationToken.None)
            .WaitAsync(TimeSpan.FromMinutes(1));
        return (counts, slurm, store, row);
    }

    [Fact]
    public async Task Arrays_that_end_without_finishing_a_trial_are_resubmitted_a_bounded_number_of_times_and_the_run_says_why()
    {
        var (counts, slurm, store, _) = await RunAsync(new FakeSlurm(maxArraySize: 3, active: false), workers: 4);
        await using var _s = store;
        Assert.Equal(4, counts.Count(TrialState.Queued));
        Assert.Contains("2 job array(s) in a row ended without finishing a trial", counts.Why);
        // Each round of 4 tasks is split to the site's MaxArraySize of 3: arrays 0-2 and 0-0; the first round and one resubmission.
        Assert.Equal(["0-2", "0-0", "0-2", "0-0"], slurm.Scripts.Select(s => s.Split('\n').Single(l => l.StartsWith("#SBATCH --array=", StringComparison.Ordinal))[16..]));
        // The store is on the task's command line, and so are the run's fail-fast; nothing of it in the environment.
        Assert.All(slurm.Scripts, s => Assert.Contains("--trial-timeout 2.5 --fail-fast 3 --store postgresql://alice@db.example/studies", s));

        var (code, line) = RunVerdict.Judge("e2e-run", "e2e-run.yaml", counts, counts.Why);
        Assert.Equal(ExitCodes.Incomplete, code);
        Assert.Equal("error: study e2e-run did not complete: 4 trial(s) left (4 queued) of 4; " + counts.Why + "; `studies run e2e-run.yaml` resumes", line);
    }

    [Fact]
    public async Task A_cancel_during_a_run_ends_it_cancels_its_arrays_and_submits_nothing_more()
    {
        var (counts, slurm, store, row) = await RunAsync(null!, workers: 2, make: (store, row) => new FakeSlurm(null, active: true)
        {
            // The user cancels the study right after the first array went in.
            OnSubmit = async () => await store.SetCancelledAsync(row.Id),
        });
        await using var _s = store;
        Assert.Single(slurm.Scripts);
        Assert.Equal(["101"], slurm.Cancelled);
        Assert.Contains("cancelled", counts.Why);
        Assert.Equal(4, counts.Count(TrialState.Cancelled));
        Assert.Equal(ExitCodes.Incomplete, RunVerdict.Judge("e2e-run", "e2e-run.yaml", counts, counts.Why).Code);
    }

    [Fact]
    public async Task Fail_fast_counts_the_studys_failures_with_the_same_error_across_tasks()
    {
        await using var store = await SqliteStudyStorage.OpenAsync(Path.Combine(folder, "f.db"));
        var study = await store.SyncStudyAsync(new StudyDefinition("f", null, "def", "h", "d", new StudySettings()),
            Enumerable.Range(0, 4).Select(i => new PlannedTrialRow($"t{i}", "{}", new Dictionary<string, string>())).ToList(), false);
        var follower = new StudyFollower(store, study, new QuietObserver());
        for (var i = 0; i < 3; i++)
        {
            // Three tasks, each with one failure: no task alone reaches 3, the study does.
            var t = (await store.ClaimNextAsync(study.Id, new TrialClaim($"task{i}", "cpu", TimeSpan.FromHours(1))))!;
            await store.RecordFailureAsync(study.Id, t.TrialId, $"task{i}", new TrialFailure(TrialState.Failed, i < 2 ? "CUDA error: no device\nat ..." : "other", "error"));
        }
        await follower.PollAsync(CancellationToken.None);
        Assert.Null(follower.FailFast(3));
        Assert.Contains("fail-fast: 2 trials failed with the same error (CUDA error: no device)", follower.FailFast(2));
        Assert.Equal((1, 3), (follower.Counts.Count(TrialState.Queued), follower.Counts.Count(TrialState.Failed)));
    }

    [Fact]
    public void A_run_ends_0_only_when_every_trial_completed_or_diverged()
    {
        StateCounts Counts(params (TrialState, int)[] states) => new(states.ToDictionary(s => s.Item1, s => s.Item2));
        Assert.Equal((0, null), RunVerdict.Judge("s", "s.yaml", Counts((TrialState.Completed, 3), (TrialState.Diverged, 1)), null));
        var failed = RunVerdict.Judge("s", "s.yaml", Counts((TrialState.Completed, 3), (TrialState.Failed, 2)), null);
        Assert.Equal((ExitCodes.Incomplete, "error: study s did not complete: 2 failed of 5; their errors are in `studies status s`; " +
            "`studies retry s --failed` then `studies run s.yaml` runs them again"), failed);
        var left = RunVerdict.Judge("s", "s.yaml", Counts((TrialState.Completed, 1), (TrialState.Running, 1), (TrialState.Interrupted, 2)), "why");
        Assert.Equal((ExitCodes.Incomplete, "error: study s did not complete: 3 trial(s) left (1 running, 2 interrupted) of 4; why; `studies run s.yaml` resumes"), left);
    }

    [Fact]
    public void A_gpu_task_runs_trials_per_device_on_every_gpu_of_its_gres()
    {
        Assert.Equal([0, 1, 4, 3, 0, 0], new[] { null, "gpu:1", "gpu:a100:4", "gpu:a100:1,gpu:v100:2,mps:100", "mps:100", "" }.Select(SlurmTrialExecutor.GpuCount));
        Assert.Equal(1, SlurmTrialExecutor.GpuCount("gpu"));
        // 4 GPUs x 2 trials each, filled round-robin so that all four are busy before any takes a second trial.
        var slots = ClusterTask.Slots("cuda", gpus: 4, perDevice: 2, threads: 3);
        Assert.Equal(["cuda:0", "cuda:1", "cuda:2", "cuda:3", "cuda:0", "cuda:1", "cuda:2", "cuda:3"], slots.Select(s => s.Device));
        Assert.All(slots, s => Assert.Equal(3, s.Threads));
        Assert.Equal([0, 1, 2, 3, 0, 1, 2, 3], slots.Select(s => s.CudaOrdinal!.Value));
        Assert.Equal(["cpu"], ClusterTask.Slots("cpu", gpus: 0, perDevice: 1, threads: 2).Select(s => s.Device));
    }

    [Fact]
    public void A_gpu_study_asks_for_its_gpus_and_warns_when_gres_asks_for_none()
    {
        var executor = new SlurmTrialExecutor(new FakeSlurm(null, false), new WorkerCommandLine("/usr/bin/dotnet", []), NullLogger<SlurmTrialExecutor>.Instance);
        var cuda = SlurmStudy("resources: {executor: slurm, threads_per_trial: 2, trials_per_device: 3, gres: \"gpu:a100:2\"}");
        var text = cuda.Text.Replace("base:\n", "base:\n  device: cuda\n", StringComparison.Ordinal);
        var study = StudyLoader.Parse(text, "s.yaml", Path.GetDirectoryName(StudiesHome.StudyFile("e2e-run.yaml"))!);
        var trials = StudyExpander.Expand(study);
        Assert.All(trials, t => Assert.Equal("cuda", t.Spec.Device));
        var request = executor.Request(study, trials, 1, "/ckpt");
        var script = SlurmScript.Render(request);
        Assert.Contains("#SBATCH --cpus-per-task=12", script); // 2 GPUs x 3 trials x 2 threads
        Assert.Contains("--slots 3 --threads 2 --device cuda", script);
        Assert.Contains("--gpus 2", script);
        Assert.Null(executor.Plan(study, trials, 1).Notes?.FirstOrDefault(n => n.Contains("gres", StringComparison.Ordinal)));

        var bare = StudyLoader.Parse(text.Replace("gres: \"gpu:a100:2\"", "partition: gpu", StringComparison.Ordinal), "s.yaml",
            Path.GetDirectoryName(StudiesHome.StudyFile("e2e-run.yaml"))!);
        Assert.Contains(executor.Plan(bare, StudyExpander.Expand(bare), 1).Notes!, n => n.Contains("device cuda without resources.gres", StringComparison.Ordinal));
    }

    [Fact]
    public void A_store_with_a_password_reaches_the_task_through_a_file_only_its_owner_reads_never_the_script()
    {
        Assert.Equal(["--store", "postgresql://alice@db/studies"], SlurmTrialExecutor.StoreArguments("postgresql://alice@db/studies", folder));
        var args = SlurmTrialExecutor.StoreArguments("postgresql://alice:s3cret@db/studies", folder);
        Assert.Equal("--store-file", args[0]);
        Assert.Equal("postgresql://alice:s3cret@db/studies", File.ReadAllText(args[1]));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(args[1]));
    }

    [Fact]
    public void The_sites_max_array_size_is_read_from_scontrol()
    {
        Assert.Equal(1001, SlurmCommands.ParseMaxArraySize("MaxArrayCount          = 5\nMaxArraySize            = 1001\nMaxJobCount             = 10000\n"));
        Assert.Null(SlurmCommands.ParseMaxArraySize("MaxJobCount = 10000"));
    }
}
