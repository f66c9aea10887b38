using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Scheduling;

/// <summary>
/// Runs the queued trials of one study on a set of slots until none is left, claiming each from the store under a lease
/// that a heartbeat loop renews, and recording every outcome. Several executions (other processes, other hosts) may
/// work on one study at once: each trial is claimed by exactly one. A failing trial never stops the study (unless
/// fail-fast is asked for); a crashed worker's trial is retried with back-off; Ctrl+C stops starting trials, asks running
/// ones to checkpoint and records them interrupted, to be resumed by the next run. An execution ends when no trial is
/// queued and none is running anywhere, so that trials another owner leaves behind (its lease expired) are picked up.
/// </summary>
public sealed class StudyExecution(IStudyStorage store, ITrialLauncher launcher, SchedulingOptions scheduling, ILogger logger)
{
    /// <summary>This process as the owner of the leases it takes.</summary>
    public string Owner { get; init; } = OwnerIdentity.Current;

    /// <summary>Where this execution runs, recorded with each attempt (a cluster executor adds its job id and node).</summary>
    public IReadOnlyDictionary<string, string> Placement { get; init; } = new Dictionary<string, string>
    {
        ["host"] = Environment.MachineName,
        ["pid"] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>A trial this execution holds: its progress for the next beat, and the way to stop it if the lease is lost.</summary>
    private sealed class Lease(TrialRow trial, string device, int packing, CancellationToken kill) : IDisposable
    {
        private readonly CancellationTokenSource lost = CancellationTokenSource.CreateLinkedTokenSource(kill);
        private readonly Lock gate = new();
        private bool ended;

        public TrialRow Trial { get; } = trial;
        public string Device { get; } = device;
        /// <summary>Trials its device could run at once when it started.</summary>
        public int Packing { get; } = packing;
        public readonly ConcurrentQueue<EpochRecord> PendingEpochs = new();
        public volatile TrialProgress? Latest;
        public CancellationToken LostToken => lost.Token;

        /// <summary>The trial's run is over (being recorded): a beat that finds it no longer running is no news.</summary>
        public bool Ended { get { lock (gate) return ended; } }

        public void End() { lock (gate) ended = true; }

        /// <summary>Stops the trial's worker; false when it had already ended or was stopped.</summary>
        public bool Stop()
        {
            lock (gate)
            {
                if (ended || lost.IsCancellationRequested) return false;
                lost.Cancel();
                return true;
            }
        }

        public void Dispose()
        {
            lock (gate)
            {
                ended = true;
                lost.Dispose();
            }
        }
    }

    private readonly ConcurrentDictionary<string, Lease> leases = new();

    public async Task<StateCounts> RunAsync(StudyRow study, IReadOnlyList<DeviceSlot> slots, ExecutionOptions options, IExecutionObserver observer,
        CancellationToken stopping, CancellationToken kill)
    {
        await RecoverAsync(study, CancellationToken.None);

        var failures = new Dictionary<string, int>();
        var packing = new DevicePacking(slots);
        using var failFast = new CancellationTokenSource();
        using var noMoreStarts = CancellationTokenSource.CreateLinkedTokenSource(stopping, failFast.Token);
        using var done = new CancellationTokenSource();
        var heartbeat = Task.Run(() => HeartbeatLoopAsync(study, done.Token), CancellationToken.None);

        async Task SlotLoop(DeviceSlot slot)
        {
            while (!noMoreStarts.IsCancellationRequested)
            {
                if (!packing.Admits(slot))
                {
                    logger.LogWarning("slot {Slot} takes no more trials: {Device} runs at most {Limit} at once after running out of memory",
                        slot, slot.Device, packing.Limit(slot.Device));
                    return;
                }
                var trial = await store.ClaimNextAsync(study.Id, new TrialClaim(Owner, slot.Device, scheduling.Lease, Placement), CancellationToken.None);
                if (trial is null)
                {
                    if (!await WaitForWorkAsync(study, noMoreStarts.Token)) return;
                    continue;
                }
                var lease = new Lease(trial, slot.Device, packing.Limit(slot.Device), kill);
                leases[trial.TrialId] = lease;
                try
                {
                    await RunOneAsync(study, lease, slot, options, observer, failures, packing, failFast, stopping);
                }
                finally
                {
                    leases.TryRemove(trial.TrialId, out _);
                    lease.Dispose();
                }
            }
        }

        try
        {
            await Task.WhenAll(slots.Select(s => Task.Run(() => SlotLoop(s), CancellationToken.None)));
        }
        finally
        {
            await done.CancelAsync();
            await heartbeat;
            await launcher.ReleaseWorkersAsync();
        }
        return await store.CountStatesAsync(study.Id, CancellationToken.None);
    }

    /// <summary>Trials whose owner died (lease expired) become interrupted, and interrupted trials are queued to resume.</summary>
    private async Task RecoverAsync(StudyRow study, CancellationToken ct)
    {
        var reclaimed = await store.ReclaimExpiredAsync(study.Id, ct);
        if (reclaimed > 0) logger.LogWarning("{Count} trial(s) of {Study} were left running by an owner that stopped renewing its lease; they resume", reclaimed, study.Name);
        await store.RequeueAsync(study.Id, failedToo: false, ct);
    }

    /// <summary>
    /// Nothing is claimable now. Waits while back-offs run out or other owners' trials run (they may crash and come back);
    /// false when there is nothing left to wait for: no queued trial and none running, here or anywhere.
    /// </summary>
    private async Task<bool> WaitForWorkAsync(StudyRow study, CancellationToken noMoreStarts)
    {
        var next = await store.NextQueuedTimeAsync(study.Id, CancellationToken.None);
        // While this execution still runs trials, one of them may crash and be queued for a retry: keep waiting.
        if (next is null && leases.IsEmpty)
        {
            var running = (await store.CountStatesAsync(study.Id, CancellationToken.None)).Count(TrialState.Running);
            if (running == 0) return false;
            // Trials of another owner: if it dies, its leases expire and the trials come back to the queue.
            if (await store.ReclaimExpiredAsync(study.Id, CancellationToken.None) > 0)
            {
                logger.LogWarning("trials of {Study} left by an owner that stopped renewing its lease resume here", study.Name);
                await store.RequeueAsync(study.Id, failedToo: false, CancellationToken.None);
                return true;
            }
        }
        var wait = next is { } n ? Math.Clamp(n - StoreClock.Now(), 0.05, scheduling.IdlePollSeconds)
            : leases.IsEmpty ? scheduling.IdlePollSeconds : Math.Min(0.25, scheduling.IdlePollSeconds);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(wait), noMoreStarts);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Renews the leases of the trials this execution runs and writes their epochs in batches, one beat at a time.</summary>
    private async Task HeartbeatLoopAsync(StudyRow study, CancellationToken done)
    {
        using var timer = new PeriodicTimer(scheduling.Heartbeat);
        try
        {
            while (await timer.WaitForNextTickAsync(done))
            {
                foreach (var lease in leases.Values) await BeatAsync(study, lease);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task BeatAsync(StudyRow study, Lease lease)
    {
        try
        {
            var p = lease.Latest;
            var owned = await store.HeartbeatAsync(study.Id, lease.Trial.TrialId, Owner, scheduling.Lease, p?.Phase, p?.Epoch, CancellationToken.None);
            var batch = new List<EpochRecord>();
            while (lease.PendingEpochs.TryDequeue(out var e)) batch.Add(e);
            if (owned && batch.Count > 0) owned = await store.RecordEpochsAsync(study.Id, lease.Trial.TrialId, Owner, batch, CancellationToken.None);
            if (!owned && !lease.Ended && lease.Stop())
            {
                logger.LogError("trial {Trial}: its lease was taken over by another owner (this process missed its heartbeats); it is stopped here",
                    lease.Trial.TrialId);
            }
        }
        catch (StoreException e)
        {
            // A busy or briefly unreachable store: the lease is still good for a while; the next beat tries again.
            logger.LogWarning("heartbeat of trial {Trial} failed: {Error}", lease.Trial.TrialId, e.Message);
        }
    }

    private async Task RunOneAsync(StudyRow study, Lease lease, DeviceSlot slot, ExecutionOptions options, IExecutionObserver observer,
        Dictionary<string, int> failures, DevicePacking packing, CancellationTokenSource failFast, CancellationToken stopping)
    {
        var trial = lease.Trial;
        observer.TrialStarted(trial, slot);
        var directory = Path.Combine(options.ArtifactsDirectory, trial.TrialId);
        await store.SetArtifactAsync(study.Id, trial.TrialId, "directory", directory, CancellationToken.None);
        var clock = Stopwatch.StartNew();

        void Progress(TrialProgress p)
        {
            observer.TrialProgress(p);
            // Epoch 0: news from before the first epoch (a worker's start), nothing to record.
            if (p.Epoch == 0) return;
            lease.Latest = p;
            // The epoch's seconds are for progress only: the recorded curves keep the metrics the trial computed.
            var metrics = p.Metrics.ContainsKey(WorkerMessage.EpochSecondsKey)
                ? p.Metrics.Where(m => m.Key != WorkerMessage.EpochSecondsKey).ToDictionary(m => m.Key, m => m.Value)
                : p.Metrics;
            lease.PendingEpochs.Enqueue(new EpochRecord(p.Phase, p.Epoch, metrics));
        }

        TrialExit exit;
        try
        {
            exit = await launcher.RunAsync(trial.TrialId, trial.SpecJson, slot, directory, options.TrialTimeout, Progress, stopping, lease.LostToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            exit = new TrialExit.Crashed($"the trial could not be launched: {e.Message}", "launch");
        }
        lease.End();

        TrialState state;
        string? error;
        bool recorded;
        TrialResult? recordedResult = null;
        switch (exit)
        {
            case TrialExit.Finished { Result: var finished, Provenance: var provenance }:
                var result = finished;
                state = result.Outcome switch
                {
                    TrialOutcome.Completed => TrialState.Completed,
                    TrialOutcome.Diverged => TrialState.Diverged,
                    TrialOutcome.Cancelled => TrialState.Interrupted,
                    _ => TrialState.Failed,
                };
                error = result.Error;
                if (state == TrialState.Failed && result.ErrorKind == TrialErrorKinds.OutOfMemory)
                {
                    var retriesLeft = options.Retry.MaxRetries - trial.AttemptsSinceRetry + 1;
                    var repacked = packing.AfterOutOfMemory(slot.Device, lease.Packing, leases.Values.Count(l => l.Device == slot.Device), retriesLeft);
                    logger.LogWarning("trial {Trial} on {Slot}: {Reason}", trial.TrialId, slot, repacked.Reason);
                    error = $"{error}; {repacked.Reason}";
                    if (repacked.Retry)
                    {
                        var requeued = await store.RecordFailureAsync(study.Id, trial.TrialId, Owner,
                            new TrialFailure(TrialState.Failed, error, TrialErrorKinds.OutOfMemory, RequeueAt: StoreClock.Now()), CancellationToken.None);
                        recorded = requeued is not null;
                        state = requeued ?? TrialState.Failed;
                        break;
                    }
                    result = result with { Error = error };
                }
                if (state == TrialState.Interrupted)
                {
                    recorded = await store.RecordFailureAsync(study.Id, trial.TrialId, Owner,
                        new TrialFailure(state, error ?? "interrupted", "interrupted"), CancellationToken.None) is not null;
                }
                else
                {
                    var merged = options.Provenance.Concat(provenance).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);
                    recorded = await store.RecordResultAsync(study.Id, trial.TrialId, Owner, state, result, clock.Elapsed.TotalSeconds,
                        JsonSerializer.Serialize(merged), CancellationToken.None);
                    recordedResult = result;
                }
                break;
            case TrialExit.Crashed { Reason: var reason, Kind: var kind }:
                logger.LogWarning("trial {Trial} on {Slot}: {Reason}", trial.TrialId, slot, reason);
                var decision = options.Retry.Decide(trial, TrialState.Failed, reason, kind, retryable: true, StoreClock.Now());
                var newState = await store.RecordFailureAsync(study.Id, trial.TrialId, Owner, decision, CancellationToken.None);
                recorded = newState is not null;
                state = newState ?? TrialState.Failed;
                error = reason;
                break;
            case TrialExit.Interrupted { Reason: var reason }:
                state = TrialState.Interrupted;
                error = reason;
                recorded = await store.RecordFailureAsync(study.Id, trial.TrialId, Owner, new TrialFailure(state, reason, "interrupted"),
                    CancellationToken.None) is not null;
                break;
            default:
                throw new InvalidOperationException($"unknown trial exit {exit}");
        }
        if (!recorded)
        {
            // Another owner reclaimed the trial after this process missed its heartbeats: its record stands, ours is dropped.
            logger.LogWarning("trial {Trial}: not recorded here ({State}), another owner holds it now", trial.TrialId, state.Name());
            return;
        }
        observer.TrialFinished(trial, state, error, recordedResult);

        if (options.FailFastAfter > 0 && state == TrialState.Failed && error is not null)
        {
            var key = error.Split('\n')[0];
            lock (failures)
            {
                failures[key] = failures.GetValueOrDefault(key) + 1;
                if (failures[key] >= options.FailFastAfter)
                {
                    logger.LogError("fail-fast: {Count} trials failed with the same error ({Error}); no new trials are started", failures[key], key);
                    failFast.Cancel();
                }
            }
        }
    }
}
