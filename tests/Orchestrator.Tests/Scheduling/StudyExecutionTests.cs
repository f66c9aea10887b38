using Microsoft.Extensions.Logging.Abstractions;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Scheduling;

public sealed class StudyExecutionTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("studies-exec-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    /// <summary>Runs trials in-process according to a script keyed by trial id and attempt.</summary>
    private sealed class ScriptedLauncher(Func<string, int, TrialExit> script) : ITrialLauncher
    {
        private readonly Dictionary<string, int> attempts = new();
        public readonly List<(string Trial, string Device)> Launches = new();

        public async Task<TrialExit> RunAsync(string trialId, string specJson, DeviceSlot slot, string checkpointDirectory, TimeSpan? timeout,
            Action<TrialProgress> progress, CancellationToken stopping, CancellationToken kill)
        {
            int attempt;
            lock (attempts)
            {
                attempt = attempts[trialId] = attempts.GetValueOrDefault(trialId) + 1;
                Launches.Add((trialId, slot.Device));
            }
            progress(new TrialProgress(trialId, slot.Device, 0, 1, 1, new Dictionary<string, double>()));
            await Task.Delay(10, CancellationToken.None);
            return script(trialId, attempt);
        }
    }

    private static TrialExit Completed() => new TrialExit.Finished(new TrialResult
    {
        Outcome = TrialOutcome.Completed,
        Epochs = [new EpochRecord(0, 1, new Dictionary<string, double> { ["loss"] = 0.5 })],
        BestEpoch = 1,
        LastEpoch = 1,
    }, new Dictionary<string, string> { ["host"] = "test" });

    private async Task<(IStudyStorage Store, StudyRow Study)> StudyAsync(int trials)
    {
        var store = await SqliteStudyStorage.OpenAsync(Path.Combine(dir, "s.db"));
        var rows = Enumerable.Range(0, trials).Select(i => new PlannedTrialRow($"t{i}", "{}", new Dictionary<string, string> { ["seed"] = $"{i}" })).ToList();
        return (store, await store.SyncStudyAsync(new StudyDefinition("s", null, "def", "h", "d", new StudySettings()), rows, false));
    }

    private static IReadOnlyList<DeviceSlot> Slots(int slots) =>
        Enumerable.Range(0, slots).Select(i => new DeviceSlot(i, i % 2 == 0 ? "cuda:0" : "cuda:1", 1)).ToList();

    private ExecutionOptions Options(int failFast = 0) => new()
    {
        ArtifactsDirectory = Path.Combine(dir, "artifacts"),
        Retry = new RetryPolicy(2, 0.01),
        FailFastAfter = failFast,
    };

    private static readonly SchedulingOptions Fast = new() { LeaseSeconds = 2, HeartbeatSeconds = 0.2, IdlePollSeconds = 0.05 };

    private static StudyExecution Execution(IStudyStorage store, ITrialLauncher launcher) => new(store, launcher, Fast, NullLogger.Instance);

    [Fact]
    public async Task Every_trial_runs_once_and_a_crashed_one_is_retried_until_it_completes()
    {
        var (store, study) = await StudyAsync(6);
        await using var _ = store;
        var launcher = new ScriptedLauncher((id, attempt) => id == "t2" && attempt < 3 ? new TrialExit.Crashed("killed", "crash") : Completed());
        var counts = await Execution(store, launcher)
            .RunAsync(study, Slots(2), Options(), new NullObserver(), CancellationToken.None, CancellationToken.None);
        Assert.Equal(6, counts.Count(TrialState.Completed));
        Assert.Equal(3, launcher.Launches.Count(l => l.Trial == "t2"));
        Assert.All(launcher.Launches.Where(l => l.Trial != "t2").GroupBy(l => l.Trial), g => Assert.Single(g));
        Assert.Equal(3, (await store.FindTrialAsync(study.Id, "t2"))!.Attempts);
        // Both GPUs were used.
        Assert.Equal(2, launcher.Launches.Select(l => l.Device).Distinct().Count());
    }

    [Fact]
    public async Task Retries_stop_at_the_limit_and_the_trial_is_failed_with_its_reason()
    {
        var (store, study) = await StudyAsync(2);
        await using var _ = store;
        var launcher = new ScriptedLauncher((id, _) => id == "t0" ? new TrialExit.Crashed("the worker was killed by signal 9", "crash") : Completed());
        var counts = await Execution(store, launcher)
            .RunAsync(study, Slots(1), Options(), new NullObserver(), CancellationToken.None, CancellationToken.None);
        Assert.Equal(1, counts.Count(TrialState.Failed));
        Assert.Equal(1, counts.Count(TrialState.Completed));
        Assert.Equal(3, launcher.Launches.Count(l => l.Trial == "t0")); // first attempt + 2 retries
        Assert.Contains("signal 9", (await store.FindTrialAsync(study.Id, "t0"))!.Error);
    }

    [Fact]
    public async Task Deterministic_failures_and_divergence_are_recorded_once_and_the_study_goes_on()
    {
        var (store, study) = await StudyAsync(3);
        await using var _ = store;
        var launcher = new ScriptedLauncher((id, _) => id switch
        {
            "t0" => new TrialExit.Finished(new TrialResult { Outcome = TrialOutcome.Failed, Error = "data file missing" }, new Dictionary<string, string>()),
            "t1" => new TrialExit.Finished(new TrialResult { Outcome = TrialOutcome.Diverged, Error = "loss is NaN at epoch 3 of phase 1 (punzi)" }, new Dictionary<string, string>()),
            _ => Completed(),
        });
        var counts = await Execution(store, launcher)
            .RunAsync(study, Slots(1), Options(), new NullObserver(), CancellationToken.None, CancellationToken.None);
        Assert.Equal(1, counts.Count(TrialState.Failed));
        Assert.Equal(1, counts.Count(TrialState.Diverged));
        Assert.Equal(1, counts.Count(TrialState.Completed));
        Assert.Equal(3, launcher.Launches.Count);
        Assert.Contains("NaN", (await store.FindTrialAsync(study.Id, "t1"))!.Error);
    }

    [Fact]
    public async Task Fail_fast_stops_starting_trials_after_k_identical_errors()
    {
        var (store, study) = await StudyAsync(10);
        await using var _ = store;
        var launcher = new ScriptedLauncher((_, _) =>
            new TrialExit.Finished(new TrialResult { Outcome = TrialOutcome.Failed, Error = "column 'f3' not found" }, new Dictionary<string, string>()));
        var counts = await Execution(store, launcher)
            .RunAsync(study, Slots(1), Options(failFast: 3), new NullObserver(), CancellationToken.None, CancellationToken.None);
        Assert.Equal(3, counts.Count(TrialState.Failed));
        Assert.Equal(7, counts.Count(TrialState.Queued));
    }

    [Fact]
    public async Task A_stop_request_starts_no_new_trial_and_interrupted_ones_resume_on_the_next_run()
    {
        var (store, study) = await StudyAsync(4);
        await using var _ = store;
        using var stop = new CancellationTokenSource();
        var launcher = new ScriptedLauncher((id, attempt) =>
        {
            if (id == "t1" && attempt == 1)
            {
                stop.Cancel();
                return new TrialExit.Interrupted("the orchestrator was stopped");
            }
            return Completed();
        });
        var first = await Execution(store, launcher)
            .RunAsync(study, Slots(1), Options(), new NullObserver(), stop.Token, CancellationToken.None);
        Assert.Equal(1, first.Count(TrialState.Completed));
        Assert.Equal(1, first.Count(TrialState.Interrupted));
        Assert.Equal(2, first.Count(TrialState.Queued));

        var second = await Execution(store, launcher)
            .RunAsync(study, Slots(1), Options(), new NullObserver(), CancellationToken.None, CancellationToken.None);
        Assert.Equal(4, second.Count(TrialState.Completed));
        Assert.Single(launcher.Launches, l => l.Trial == "t0");
    }

    [Fact]
    public async Task A_trial_held_by_a_live_owner_is_left_alone_and_one_whose_lease_expired_resumes_here()
    {
        var (store, study) = await StudyAsync(3);
        await using var _ = store;
        // Another process claimed t0 and keeps renewing its lease; t1's owner died (its lease runs out at once).
        var live = await store.ClaimNextAsync(study.Id, new TrialClaim("other-live", "cpu", TimeSpan.FromSeconds(30)));
        var dead = await store.ClaimNextAsync(study.Id, new TrialClaim("other-dead", "cpu", TimeSpan.FromMilliseconds(1)));
        Assert.Equal(("t0", "t1"), (live!.TrialId, dead!.TrialId));
        using var stopLive = new CancellationTokenSource();
        var liveOwner = Task.Run(async () =>
        {
            // The live owner finishes its trial a little later.
            await Task.Delay(600);
            await store.HeartbeatAsync(study.Id, "t0", "other-live", TimeSpan.FromSeconds(30));
            await store.RecordResultAsync(study.Id, "t0", "other-live", TrialState.Completed, new TrialResult { Outcome = TrialOutcome.Completed }, 1, "{}");
        });
        var launcher = new ScriptedLauncher((_, _) => Completed());
        var counts = await Execution(store, launcher).RunAsync(study, Slots(1), Options(), new NullObserver(), CancellationToken.None, CancellationToken.None);
        await liveOwner;
        Assert.Equal(3, counts.Count(TrialState.Completed));
        // t0 was never launched here; t1 was, as its second attempt.
        Assert.DoesNotContain(launcher.Launches, l => l.Trial == "t0");
        Assert.Single(launcher.Launches, l => l.Trial == "t1");
        Assert.Equal(2, (await store.FindTrialAsync(study.Id, "t1"))!.Attempts);
        Assert.Equal(1, (await store.FindTrialAsync(study.Id, "t0"))!.Attempts);
    }

    [Fact]
    public async Task Epochs_reach_the_store_in_batches_while_a_trial_runs()
    {
        var (store, study) = await StudyAsync(1);
        await using var _ = store;
        var seen = new TaskCompletionSource<int>();
        var launcher = new EpochsLauncher(async () =>
        {
            // Wait for heartbeats to carry the epochs to the store (every 0.2 s; longer on a loaded machine), then look.
            var clock = System.Diagnostics.Stopwatch.StartNew();
            int count;
            while ((count = (await store.LoadEpochsAsync(study.Id, "t0")).Count) < 5 && clock.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(100);
            seen.SetResult(count);
        });
        await Execution(store, launcher).RunAsync(study, Slots(1), Options(), new NullObserver(), CancellationToken.None, CancellationToken.None);
        Assert.Equal(5, await seen.Task);
        // The result replaced the batches: one row per epoch and metric, the result's.
        Assert.Single(await store.LoadEpochsAsync(study.Id, "t0"));
    }

    /// <summary>A device with room for <paramref name="fits"/> trials: a trial that ends while more run on it ran out of memory.</summary>
    private sealed class MemoryBoundLauncher(int fits) : ITrialLauncher
    {
        private int running;
        public int OutOfMemoryCount;
        /// <summary>Per launch, in order: the trial and how many ran on the device when it started (itself included).</summary>
        public readonly List<(string Trial, int Running)> Launches = new();

        public async Task<TrialExit> RunAsync(string trialId, string specJson, DeviceSlot slot, string checkpointDirectory, TimeSpan? timeout,
            Action<TrialProgress> progress, CancellationToken stopping, CancellationToken kill)
        {
            var now = Interlocked.Increment(ref running);
            lock (Launches) Launches.Add((trialId, now));
            // Long enough that the slots' first trials overlap even on a loaded machine.
            await Task.Delay(fits == 0 ? 10 : 300, CancellationToken.None);
            var crowded = Volatile.Read(ref running) > fits;
            Interlocked.Decrement(ref running);
            if (!crowded) return Completed();
            Interlocked.Increment(ref OutOfMemoryCount);
            return new TrialExit.Finished(new TrialResult
            {
                Outcome = TrialOutcome.Failed, ErrorKind = TrialErrorKinds.OutOfMemory, Error = $"out of memory on {slot.Device}: CUDA out of memory",
            }, new Dictionary<string, string>());
        }
    }

    [Fact]
    public async Task Out_of_memory_retries_the_trial_with_fewer_trials_on_the_device()
    {
        var (store, study) = await StudyAsync(16);
        await using var _ = store;
        var launcher = new MemoryBoundLauncher(fits: 2);
        var fourOnOneGpu = Enumerable.Range(0, 4).Select(i => new DeviceSlot(i, "cuda:0", 1)).ToList();
        var counts = await Execution(store, launcher).RunAsync(study, fourOnOneGpu, Options(), new NullObserver(), CancellationToken.None, CancellationToken.None);
        Assert.True(launcher.OutOfMemoryCount > 0, "four trials on a device with room for two never overlapped");
        var trials = await store.ListTrialsAsync(study.Id);
        Assert.True(16 == counts.Count(TrialState.Completed), string.Join("\n", trials.Where(t => t.State != TrialState.Completed).Select(t => $"{t.TrialId}: {t.Error}")));
        // The packing halved (4 -> 2) after the first round: later trials ran two at a time and did not run out of memory again.
        Assert.All(launcher.Launches.TakeLast(8), l => Assert.InRange(l.Running, 1, 2));
        Assert.InRange(launcher.OutOfMemoryCount, 1, 6);
        var attempts = new List<AttemptRow>();
        foreach (var t in trials) attempts.AddRange(await store.ListAttemptsAsync(study.Id, t.TrialId));
        Assert.Equal(launcher.OutOfMemoryCount, attempts.Count(a => a.Outcome == TrialErrorKinds.OutOfMemory));
        Assert.Equal(16 + launcher.OutOfMemoryCount, attempts.Count);
    }

    [Fact]
    public async Task A_trial_out_of_memory_alone_on_its_device_fails_once_with_the_reason()
    {
        var (store, study) = await StudyAsync(1);
        await using var _ = store;
        var launcher = new MemoryBoundLauncher(fits: 0);
        var counts = await Execution(store, launcher).RunAsync(study, Slots(1), Options(), new NullObserver(), CancellationToken.None, CancellationToken.None);
        Assert.Equal(1, counts.Count(TrialState.Failed));
        Assert.Single(launcher.Launches);
        var trial = (await store.FindTrialAsync(study.Id, "t0"))!;
        Assert.Contains("it does not fit", trial.Error);
        Assert.Equal(TrialErrorKinds.OutOfMemory, trial.ErrorKind);
    }

    private sealed class EpochsLauncher(Func<Task> whileRunning) : ITrialLauncher
    {
        public async Task<TrialExit> RunAsync(string trialId, string specJson, DeviceSlot slot, string checkpointDirectory, TimeSpan? timeout,
            Action<TrialProgress> progress, CancellationToken stopping, CancellationToken kill)
        {
            for (var e = 1; e <= 5; e++) progress(new TrialProgress(trialId, slot.Device, 0, e, 5, new Dictionary<string, double> { ["loss"] = 1.0 / e }));
            await whileRunning();
            return Completed();
        }
    }

    private sealed class NullObserver : IExecutionObserver;
}

public sealed class DeviceInventoryTests
{
    [Fact]
    public void Auto_uses_every_gpu_round_robin_and_the_cpu_when_there_is_none()
    {
        var gpus = DeviceInventory.Slots(new ResourceRequest(["auto"], TrialsPerDevice: 2), cudaDeviceCount: 2, cpuCores: 16);
        Assert.Equal(["cuda:0", "cuda:1", "cuda:0", "cuda:1"], gpus.Select(s => s.Device));
        Assert.Equal(1, gpus[1].CudaOrdinal);

        var cpu = DeviceInventory.Slots(new ResourceRequest(["auto"], ThreadsPerTrial: 1), cudaDeviceCount: 0, cpuCores: 2);
        Assert.Equal(["cpu", "cpu"], cpu.Select(s => s.Device));
        Assert.Null(cpu[0].CudaOrdinal);
        Assert.Single(DeviceInventory.Slots(new ResourceRequest(["cpu"], ThreadsPerTrial: 2), 0, 2));
    }

    [Fact]
    public void Unavailable_or_malformed_devices_are_refused()
    {
        Assert.Contains("libtorch sees 1", Assert.Throws<ResourceException>(() => DeviceInventory.Slots(new ResourceRequest(["cuda:1"]), 1, 4)).Message);
        Assert.Contains("cpu, auto or cuda:N", Assert.Throws<ResourceException>(() => DeviceInventory.Slots(new ResourceRequest(["gpu"]), 1, 4)).Message);
    }
}
