using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Studies.Orchestrator.Storage;
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

    /// <summary>Cancelled when this execution must claim no more trials (a cluster task inside its time limit's warning window).</summary>
    public CancellationToken StopClaiming { get; init; }

    /// <summary>
    /// Leave as soon as nothing is queued, rather than wait for other owners' running trials in case they come back: what a
    /// cluster task does, since the submitting process reclaims a dead owner's trials and submits tasks for them.
    /// </summary>
    public bool LeaveWhenNothingQueued { get; init; }

    /// <summary>
    /// Longest wait between looks at the store while idle: each idle look doubles the wait from
    /// <see cref="SchedulingOptions.IdlePollSeconds"/> up to this (null: no growth), so that many idle cluster tasks cost
    /// the database little.
    /// </summary>
    public TimeSpan? MaxIdlePoll { get; init; }

    /// <summary>The study's search: proposes trials when none is claimable and judges running ones after validation epochs; null: none.</summary>
    public SearchDriver? Search { get; init; }

    /// <summary>A trial this execution holds: its progress for the next beat, and the way to stop it if the lease is lost.</summary>
    private sealed class Lease(TrialRow trial, string device, int packing, CancellationToken kill, CancellationToken stopping) : IDisposable
    {
        private readonly CancellationTokenSource lost = CancellationTokenSource.CreateLinkedTokenSource(kill);
        private readonly CancellationTokenSource pruned = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        private readonly CancellationTokenSource prunedOnly = new();
        /// <summary>The trial's objective values by validation epoch, for the pruner.</summary>
        public readonly List<(int Step, double[] Values)> Curve = [];
        /// <summary>When it was claimed (<see cref="Environment.TickCount64"/>): the pruner reads the study afresh after it.</summary>
        public long ClaimedAt { get; } = Environment.TickCount64;
        /// <summary>The pruner's decisions on this trial, one validation epoch after the other.</summary>
        public Task Judged = Task.CompletedTask;
        /// <summary>Why the pruner stopped it (the worker was asked to stop); null while it may go on.</summary>
        public volatile string? PrunedBecause;
        /// <summary>Cancelled when the orchestrator stops or the pruner stops this trial: the worker checkpoints and exits.</summary>
        public CancellationToken StopToken => pruned.Token;
        /// <summary>Cancelled when the pruner stops this trial (alone: a member of a fused pack leaves it, the pack goes on).</summary>
        public CancellationToken PruneToken => prunedOnly.Token;

        /// <summary>Asks the worker to stop because the pruner said so; false when it had already ended.</summary>
        public bool Prune(string reason)
        {
            lock (gate)
            {
                if (ended || PrunedBecause is not null) return false;
                PrunedBecause = reason;
                prunedOnly.Cancel();
                pruned.Cancel();
                return true;
            }
        }
        private readonly Lock gate = new();
        private bool ended;

        public TrialRow Trial { get; } = trial;
        public string Device { get; } = device;
        /// <summary>When the last renewal that the store granted was sent (Stopwatch ticks): the lease runs from no earlier.</summary>
        public long RenewedAt = System.Diagnostics.Stopwatch.GetTimestamp();
        /// <summary>A heartbeat of this lease is on its way (a store that does not answer keeps it there).</summary>
        public int Beating;
        /// <summary>Its worker was stopped because the lease could not be renewed in time: the trial goes back to the queue.</summary>
        public volatile bool Expiring;
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
                pruned.Dispose();
                prunedOnly.Dispose();
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
        var packs = new PackPlanner(store, options.Fuse);
        var busySlots = 0;
        using var forming = new SemaphoreSlim(1, 1);
        using var failFast = new CancellationTokenSource();
        using var noMoreStarts = CancellationTokenSource.CreateLinkedTokenSource(stopping, failFast.Token, StopClaiming);
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
                var sent = System.Diagnostics.Stopwatch.GetTimestamp();
                IReadOnlyList<TrialRow> claimed;
                // One slot claims at a time, a fused pack's mates included, and slots that have their work already do not count
                // as idle: fuse: auto sizes a pack so that the trials left still feed the other idle slots.
                await forming.WaitAsync(CancellationToken.None);
                try
                {
                    var claim = new TrialClaim(Owner, slot.Device, scheduling.Lease, Placement);
                    claimed = await store.ClaimNextAsync(study.Id, claim, CancellationToken.None) is { } first
                        ? await packs.ClaimMatesAsync(study, first, claim, slots.Count - busySlots, CancellationToken.None)
                        : [];
                    if (claimed.Count > 0) Interlocked.Increment(ref busySlots);
                }
                finally
                {
                    forming.Release();
                }
                if (claimed.Count == 0)
                {
                    // Nothing to claim: an adaptive search proposes the next point (recorded with its trials before they run).
                    if (Search is { } search && !await IsCancelledAsync(study, CancellationToken.None)
                        && await search.ProposeAsync(store, study, CancellationToken.None)) continue;
                    if (!await WaitForWorkAsync(study, noMoreStarts.Token)) return;
                    continue;
                }
                idleLooks = 0;
                var held = claimed.Select(t => new Lease(t, slot.Device, packing.Limit(slot.Device), kill, stopping) { RenewedAt = sent }).ToList();
                foreach (var lease in held) leases[lease.Trial.TrialId] = lease;
                try
                {
                    if (held.Count == 1) await RunOneAsync(study, held[0], slot, options, observer, failures, packing, failFast, stopping);
                    else await RunPackAsync(study, held, slot, options, observer, failures, packing, failFast, stopping);
                }
                finally
                {
                    Interlocked.Decrement(ref busySlots);
                    foreach (var lease in held)
                    {
                        leases.TryRemove(lease.Trial.TrialId, out _);
                        lease.Dispose();
                    }
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
        var counts = await store.CountStatesAsync(study.Id, CancellationToken.None);
        // Why trials are left, for the run's last line: the reasons this execution stopped claiming.
        if (failFast.IsCancellationRequested) return counts with { Why = "fail-fast stopped starting trials after failures with the same error (see `studies status`)" };
        if (counts.Count(TrialState.Cancelled) > 0 && await IsCancelledAsync(study, CancellationToken.None)) return counts with { Why = "the study was cancelled (`studies cancel`)" };
        return counts;
    }

    /// <summary>Trials whose owner died (lease expired) become interrupted, and interrupted trials are queued to resume.</summary>
    private async Task RecoverAsync(StudyRow study, CancellationToken ct)
    {
        var reclaimed = await store.ReclaimExpiredAsync(study.Id, ct);
        if (reclaimed > 0) logger.LogWarning("{Count} trial(s) of {Study} were left running by an owner that stopped renewing its lease; they resume", reclaimed, study.Name);
        // A cancelled study stays so until the user runs it again: its interrupted trials are not queued behind their back.
        if (!await IsCancelledAsync(study, ct)) await store.RequeueAsync(study.Id, failedToo: false, ct);
    }

    private async Task<bool> IsCancelledAsync(StudyRow study, CancellationToken ct) => (await store.FindStudyAsync(study.Name, ct))?.Cancelled ?? false;

    /// <summary>Idle looks at the store in a row, for the growing wait of <see cref="MaxIdlePoll"/>.</summary>
    private int idleLooks;

    /// <summary>
    /// Nothing is claimable now. Waits while back-offs run out or other owners' trials run (they may crash and come back);
    /// false when there is nothing left to wait for: no queued trial and none running, here or anywhere.
    /// </summary>
    private async Task<bool> WaitForWorkAsync(StudyRow study, CancellationToken noMoreStarts)
    {
        if (await IsCancelledAsync(study, CancellationToken.None)) return false;
        var next = await store.NextQueuedTimeAsync(study.Id, CancellationToken.None);
        if (next is null && leases.IsEmpty && LeaveWhenNothingQueued) return false;
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
        var poll = scheduling.IdlePollSeconds;
        if (MaxIdlePoll is { } most && leases.IsEmpty)
            poll = Math.Min(most.TotalSeconds, poll * Math.Pow(2, Math.Min(20, Interlocked.Increment(ref idleLooks) - 1)));
        var wait = next is { } n ? Math.Clamp(n - StoreClock.Now(), 0.05, poll)
            : leases.IsEmpty ? poll : Math.Min(0.25, scheduling.IdlePollSeconds);
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
    /// <remarks>
    /// A beat that cannot reach the store waits there (the store retries), so beats run beside the loop, one per lease at a
    /// time, and the loop itself only watches deadlines: an owner whose lease was last granted longer ago than
    /// <see cref="LocalDeadline"/> stops its trial's worker, by its own clock, before the store's clock lets anyone else
    /// claim the trial. Two workers therefore never train one trial in one folder, whatever the outage.
    /// </remarks>
    private async Task HeartbeatLoopAsync(StudyRow study, CancellationToken done)
    {
        var deadline = LocalDeadline(scheduling);
        var watch = TimeSpan.FromSeconds(Math.Clamp(scheduling.HeartbeatSeconds / 4, 0.05, 1));
        var beats = new List<Task>();
        var lastBeat = System.Diagnostics.Stopwatch.GetTimestamp();
        using var timer = new PeriodicTimer(watch);
        try
        {
            while (await timer.WaitForNextTickAsync(done))
            {
                foreach (var lease in leases.Values)
                {
                    if (System.Diagnostics.Stopwatch.GetElapsedTime(Interlocked.Read(ref lease.RenewedAt)) > deadline && !lease.Ended
                        && (lease.Expiring = true) && lease.Stop())
                    {
                        logger.LogError("trial {Trial}: its lease could not be renewed for {Seconds:0} s (the store does not answer); its worker is stopped " +
                            "before the lease runs out, so that no other owner trains it at the same time; it resumes from its checkpoint", lease.Trial.TrialId,
                            deadline.TotalSeconds);
                    }
                }
                if (System.Diagnostics.Stopwatch.GetElapsedTime(lastBeat) < scheduling.Heartbeat) continue;
                lastBeat = System.Diagnostics.Stopwatch.GetTimestamp();
                beats.RemoveAll(b => b.IsCompleted);
                foreach (var lease in leases.Values)
                {
                    if (Interlocked.CompareExchange(ref lease.Beating, 1, 0) == 0) beats.Add(Task.Run(() => BeatAsync(study, lease), CancellationToken.None));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(beats);
    }

    /// <summary>
    /// How long after the send of its last granted renewal an owner gives up its trial: the lease less a margin (a fifth of
    /// the lease, at least a heartbeat), so that the worker is gone before the lease has run out by the store's clock.
    /// </summary>
    public static TimeSpan LocalDeadline(SchedulingOptions scheduling) =>
        scheduling.Lease - TimeSpan.FromSeconds(Math.Max(scheduling.LeaseSeconds / 5, Math.Min(scheduling.HeartbeatSeconds, scheduling.LeaseSeconds / 2)));

    private async Task BeatAsync(StudyRow study, Lease lease)
    {
        try
        {
            var p = lease.Latest;
            var sent = System.Diagnostics.Stopwatch.GetTimestamp();
            var owned = await store.HeartbeatAsync(study.Id, lease.Trial.TrialId, Owner, scheduling.Lease, p?.Phase, p?.Epoch, CancellationToken.None);
            if (owned) Interlocked.Exchange(ref lease.RenewedAt, sent);
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
        finally
        {
            Interlocked.Exchange(ref lease.Beating, 0);
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

        var exit = await LaunchAsync(lease, slot, directory, options, p => RecordProgress(study, lease, observer, p), lease.StopToken);
        lease.End();
        await RecordExitAsync(study, lease, slot, exit, clock.Elapsed.TotalSeconds, options, observer, failures, packing, failFast, stopping);
    }

    /// <summary>
    /// Runs a fused pack: its members' folders, progress and pruning are each their own trial's, and so is each member's
    /// record, as if it had run alone; a member's recorded seconds are its share of the pack's time (the pack's own time and
    /// size are in its provenance). A member whose folder another worker holds runs nowhere this time, as alone.
    /// </summary>
    private async Task RunPackAsync(StudyRow study, IReadOnlyList<Lease> pack, DeviceSlot slot, ExecutionOptions options, IExecutionObserver observer,
        Dictionary<string, int> failures, DevicePacking packing, CancellationTokenSource failFast, CancellationToken stopping)
    {
        var locks = new List<IDisposable>();
        var members = new List<(Lease Lease, PackLaunch Launch)>();
        var exits = new Dictionary<Lease, TrialExit>();
        var clock = Stopwatch.StartNew();
        try
        {
            foreach (var lease in pack)
            {
                observer.TrialStarted(lease.Trial, slot);
                var directory = Path.Combine(options.ArtifactsDirectory, lease.Trial.TrialId);
                await store.SetArtifactAsync(study.Id, lease.Trial.TrialId, "directory", directory, CancellationToken.None);
                if (TrialFolderLock.TryTake(directory) is not { } folderLock)
                {
                    exits[lease] = FolderHeld(directory);
                    continue;
                }
                locks.Add(folderLock);
                members.Add((lease, new PackLaunch(lease.Trial.TrialId, lease.Trial.SpecJson, directory, p => RecordProgress(study, lease, observer, p), lease.PruneToken)));
            }
            // Any member's lease lost stops the pack's worker (two owners never train one trial); the others come back.
            using var lost = new CancellationTokenSource();
            var registrations = members.Select(m => m.Lease.LostToken.Register(lost.Cancel)).ToList();
            // A pack takes longer than one of its members: the per-trial timeout is scaled by its size.
            var timeout = options.TrialTimeout * members.Count;
            IReadOnlyList<TrialExit> launched;
            try
            {
                launched = members.Count == 0 ? [] : await launcher.RunPackAsync(members.Select(m => m.Launch).ToList(), Search?.Monitor ?? [], slot, timeout, stopping, lost.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                launched = members.Select(_ => (TrialExit)new TrialExit.Crashed($"the pack could not be launched: {e.Message}", "launch")).ToList();
            }
            finally
            {
                foreach (var r in registrations) r.Dispose();
            }
            for (var i = 0; i < members.Count; i++)
            {
                var lease = members[i].Lease;
                exits[lease] = launched[i] is TrialExit.Interrupted && lost.IsCancellationRequested && !lease.LostToken.IsCancellationRequested
                    ? new TrialExit.Crashed("its fused pack was stopped: another member's lease could not be renewed", "pack-stopped")
                    : launched[i];
            }
        }
        finally
        {
            foreach (var l in locks) l.Dispose();
        }
        var share = clock.Elapsed.TotalSeconds / pack.Count;
        foreach (var lease in pack)
        {
            lease.End();
            await RecordExitAsync(study, lease, slot, exits[lease], share, options, observer, failures, packing, failFast, stopping);
        }
    }

    private static TrialExit.Crashed FolderHeld(string directory) =>
        // The lease says this owner holds the trial, yet a worker elsewhere still writes its folder: never two at once.
        new($"its folder {directory} is still held by another worker ({TrialFolderLock.Name}); not started here", "folder-held");

    /// <summary>Records how a trial's run ended: its result, a retry after a crash, an interruption, or the pruner's stop.</summary>
    private async Task RecordExitAsync(StudyRow study, Lease lease, DeviceSlot slot, TrialExit exit, double seconds, ExecutionOptions options,
        IExecutionObserver observer, Dictionary<string, int> failures, DevicePacking packing, CancellationTokenSource failFast, CancellationToken stopping)
    {
        var trial = lease.Trial;
        // A pack member that left on the pruner's word has its final state already (its checkpoint says it stopped), even
        // when the orchestrator stops at the same time.
        var left = exit is TrialExit.Finished { Result.ErrorKind: PackLaunch.LeftErrorKind };
        if (lease.PrunedBecause is { } why && (!stopping.IsCancellationRequested || left) && exit is not TrialExit.Finished { Result.Outcome: TrialOutcome.Completed })
        {
            await RecordPrunedAsync(study, lease, why, observer);
            return;
        }

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
                    recorded = await store.RecordResultAsync(study.Id, trial.TrialId, Owner, state, result, seconds,
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
            case TrialExit.Interrupted when lease.Expiring:
                // Stopped by this owner for want of a renewed lease (the store did not answer): nothing is wrong with the
                // trial, and it goes straight back to the queue (recorded once the store answers, if still this owner's).
                error = "its lease could not be renewed (the store did not answer); stopped, it resumes from its checkpoint";
                var back = await store.RecordFailureAsync(study.Id, trial.TrialId, Owner,
                    new TrialFailure(TrialState.Interrupted, error, "lease-lost", RequeueAt: StoreClock.Now()), CancellationToken.None);
                recorded = back is not null;
                state = back ?? TrialState.Interrupted;
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
        if (options.FailFastAfter > 0 && state == TrialState.Failed && error is not null) CountFailure(error, options, failures, failFast);
    }

    /// <summary>Records a trial the pruner stopped: its epochs so far, then the state pruned with the epoch and the rule's reason.</summary>
    private async Task RecordPrunedAsync(StudyRow study, Lease lease, string why, IExecutionObserver observer)
    {
        var trial = lease.Trial;
        var batch = new List<EpochRecord>();
        while (lease.PendingEpochs.TryDequeue(out var e)) batch.Add(e);
        if (batch.Count > 0) await store.RecordEpochsAsync(study.Id, trial.TrialId, Owner, batch, CancellationToken.None);
        var reason = why;
        if (await store.RecordFailureAsync(study.Id, trial.TrialId, Owner, new TrialFailure(TrialState.Pruned, reason, "pruned"), CancellationToken.None) is null)
        {
            logger.LogWarning("trial {Trial}: not recorded here (pruned), another owner holds it now", trial.TrialId);
            return;
        }
        logger.LogInformation("trial {Trial}: {Reason}", trial.TrialId, reason);
        observer.TrialFinished(trial, TrialState.Pruned, reason, null);
    }

    /// <summary>
    /// After a validation epoch that measured the search's objectives, asks the pruner (beside the worker, one decision at
    /// a time per trial) and stops the trial if it says so.
    /// </summary>
    private void Judge(StudyRow study, Lease lease, TrialProgress p)
    {
        if (Search is not { Prunes: true } search || search.Objectives(p.Metrics) is not { } values) return;
        lock (lease.Curve)
        {
            lease.Curve.Add((p.Epoch, values));
            var curve = lease.Curve.ToList();
            // Every validation epoch is judged, in order, one after the other: the epoch a trial is pruned at depends on the
            // store's record and its curve, not on how fast the decisions come.
            lease.Judged = lease.Judged.ContinueWith(_ => JudgeOneAsync(study, lease, search, curve), CancellationToken.None,
                TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
        }
    }

    private async Task JudgeOneAsync(StudyRow study, Lease lease, SearchDriver search, IReadOnlyList<(int Step, double[] Values)> curve)
    {
        if (lease.PrunedBecause is not null || lease.Ended) return;
        try
        {
            var decision = await search.JudgeAsync(store, study, lease.Trial, curve, lease.ClaimedAt, CancellationToken.None);
            if (decision.Prune && lease.Prune(TrialStates.PrunedError(curve[^1].Step, decision.Reason)))
                logger.LogInformation("trial {Trial}: the pruner stops it at epoch {Epoch}: {Reason}", lease.Trial.TrialId, curve[^1].Step, decision.Reason);
        }
        catch (Exception e) when (e is StoreException or ObjectDisposedException)
        {
            // A store that does not answer now: the trial goes on, and its next validation epoch is judged again.
            logger.LogWarning("trial {Trial}: the pruner could not read the study: {Error}", lease.Trial.TrialId, e.Message);
        }
    }

    /// <summary>Shows a worker's progress, queues its epoch for the next heartbeat, and lets the pruner judge it.</summary>
    private void RecordProgress(StudyRow study, Lease lease, IExecutionObserver observer, TrialProgress p)
    {
        observer.TrialProgress(p);
        // Epoch 0: news from before the first epoch (a worker's start), nothing to record.
        if (p.Epoch == 0) return;
        lease.Latest = p;
        // The epoch's seconds are for progress only: the recorded curves keep the metrics the trial computed.
        var metrics = p.Metrics.ContainsKey(TrialProgress.EpochSecondsKey)
            ? p.Metrics.Where(m => m.Key != TrialProgress.EpochSecondsKey).ToDictionary(m => m.Key, m => m.Value)
            : p.Metrics;
        lease.PendingEpochs.Enqueue(new EpochRecord(p.Phase, p.Epoch, metrics));
        Judge(study, lease, p);
    }

    /// <summary>Runs the trial in a worker under its folder's lock; a launch that fails is a crash of the trial, not of the run.</summary>
    private async Task<TrialExit> LaunchAsync(Lease lease, DeviceSlot slot, string directory, ExecutionOptions options, Action<TrialProgress> progress, CancellationToken stopping)
    {
        var trial = lease.Trial;
        var folderLock = TrialFolderLock.TryTake(directory);
        try
        {
            return folderLock is null
                ? FolderHeld(directory)
                : await launcher.RunAsync(trial.TrialId, trial.SpecJson, Search?.Monitor ?? [], slot, directory, options.TrialTimeout, progress, stopping,
                    lease.LostToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new TrialExit.Crashed($"the trial could not be launched: {e.Message}", "launch");
        }
        finally
        {
            folderLock?.Dispose();
        }
    }

    /// <summary>Counts a failure by its first line; the <c>--fail-fast</c>-th of the same kind stops starting new trials.</summary>
    private void CountFailure(string error, ExecutionOptions options, Dictionary<string, int> failures, CancellationTokenSource failFast)
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

/// <summary>
/// An exclusive lock on a trial's folder (<c>.owner.lock</c>, an OS file lock) held while its worker runs: the last guard
/// that two owners never train one trial in one folder at once, should leases ever disagree. Released when disposed or
/// when the process dies.
/// </summary>
public static class TrialFolderLock
{
    public const string Name = ".owner.lock";

    /// <summary>The lock, or null when another process holds it.</summary>
    public static FileStream? TryTake(string directory)
    {
        Directory.CreateDirectory(directory);
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock) on Unix: another process's open fails while it is held.
            return new FileStream(Path.Combine(directory, Name), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException && !IsDiskProblem(e))
        {
            return null;
        }
    }

    private static bool IsDiskProblem(IOException e) => e.HResult is 28 or 30;
}
