using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Scheduling;

/// <summary>Settings of one run of a study.</summary>
public sealed record ExecutionOptions
{
    public required IReadOnlyList<DeviceSlot> Slots { get; init; }
    /// <summary>Per-trial folders for checkpoints and worker logs.</summary>
    public required string ArtifactsDirectory { get; init; }
    public TimeSpan? TrialTimeout { get; init; }
    /// <summary>Retries of infrastructure failures (crash, kill, timeout); deterministic errors are never retried.</summary>
    public int MaxRetries { get; init; } = 2;
    public double BackoffSeconds { get; init; } = 2;
    /// <summary>Stop starting trials after this many failures with the same error (0: never).</summary>
    public int FailFastAfter { get; init; }
    public IReadOnlyDictionary<string, string> Provenance { get; init; } = new Dictionary<string, string>();
}

/// <summary>What the console (or a log) is told while a study runs.</summary>
public interface IExecutionObserver
{
    void TrialStarted(TrialRow trial, DeviceSlot slot) { }
    void TrialProgress(TrialProgress progress) { }
    void TrialEnded(string trialId, string state, string? error) { }
}

/// <summary>
/// Runs the queued trials of one study on a set of device slots until none is left, recording
/// every outcome. A failing trial never stops the study (unless fail-fast is asked for); a
/// crashed worker's trial is retried with back-off; Ctrl+C stops starting trials, asks running
/// ones to checkpoint and records them interrupted, to be resumed by the next run.
/// </summary>
public sealed class StudyExecution(StudyStore store, ITrialLauncher launcher, ILogger logger)
{
    /// <summary>Identifies this process as the owner of the trials it runs: host, pid and start time.</summary>
    public static string OwnerId { get; } =
        $"{Environment.MachineName}:{Environment.ProcessId}:{Process.GetCurrentProcess().StartTime.ToUniversalTime().Ticks}";

    /// <summary>Whether an owner recorded by some process is still alive (same host only; other hosts are trusted).</summary>
    public static bool IsOwnerAlive(string owner)
    {
        var parts = owner.Split(':');
        if (parts.Length != 3 || parts[0] != Environment.MachineName) return true;
        if (owner == OwnerId) return true;
        try
        {
            using var p = Process.GetProcessById(int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
            return p.StartTime.ToUniversalTime().Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture) == parts[2];
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            return false;
        }
    }

    public async Task<StateCounts> RunAsync(StudyRow study, ExecutionOptions options, IExecutionObserver observer,
        CancellationToken stopping, CancellationToken kill)
    {
        var reconciled = await store.ReconcileAsync(study.Id, IsOwnerAlive, CancellationToken.None);
        if (reconciled > 0) logger.LogWarning("{Count} trial(s) of {Study} were left running by a process that ended; they resume", reconciled, study.Name);
        await store.RequeueAsync(study.Id, failedToo: false, CancellationToken.None);

        var running = 0;
        var failures = new Dictionary<string, int>();
        using var failFast = new CancellationTokenSource();
        using var noMoreStarts = CancellationTokenSource.CreateLinkedTokenSource(stopping, failFast.Token);

        async Task SlotLoop(DeviceSlot slot)
        {
            while (!noMoreStarts.IsCancellationRequested)
            {
                var trial = await store.ClaimNextAsync(study.Id, OwnerId, slot.Device, CancellationToken.None);
                if (trial is null)
                {
                    // Nothing claimable now: wait while back-offs run out or other slots may re-queue a crash.
                    var next = await store.NextQueuedTimeAsync(study.Id, CancellationToken.None);
                    if (next is null && Volatile.Read(ref running) == 0) return;
                    var wait = next is { } n ? Math.Clamp(n - StudyStore.Now(), 0.05, 1.0) : 0.25;
                    try { await Task.Delay(TimeSpan.FromSeconds(wait), noMoreStarts.Token); } catch (OperationCanceledException) { return; }
                    continue;
                }
                Interlocked.Increment(ref running);
                try
                {
                    await RunOneAsync(study, trial, slot, options, observer, failures, failFast, stopping, kill);
                }
                finally
                {
                    Interlocked.Decrement(ref running);
                }
            }
        }

        await Task.WhenAll(options.Slots.Select(s => Task.Run(() => SlotLoop(s), CancellationToken.None)));
        return await store.CountStatesAsync(study.Id, CancellationToken.None);
    }

    private async Task RunOneAsync(StudyRow study, TrialRow trial, DeviceSlot slot, ExecutionOptions options, IExecutionObserver observer,
        Dictionary<string, int> failures, CancellationTokenSource failFast, CancellationToken stopping, CancellationToken kill)
    {
        observer.TrialStarted(trial, slot);
        var directory = Path.Combine(options.ArtifactsDirectory, trial.TrialId);
        await store.SetArtifactAsync(study.Id, trial.TrialId, "directory", directory, CancellationToken.None);
        var lastBeat = Stopwatch.StartNew();
        var clock = Stopwatch.StartNew();

        void Progress(TrialProgress p)
        {
            observer.TrialProgress(p);
            if (lastBeat.Elapsed < TimeSpan.FromSeconds(2)) return;
            lastBeat.Restart();
            _ = store.HeartbeatAsync(study.Id, trial.TrialId, p.Phase, p.Epoch, CancellationToken.None);
        }

        TrialExit exit;
        try
        {
            exit = await launcher.RunAsync(trial.TrialId, trial.SpecJson, slot, directory, options.TrialTimeout, Progress, stopping, kill);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            exit = new TrialExit.Crashed($"the trial could not be launched: {e.Message}", "launch");
        }

        string state;
        string? error;
        switch (exit)
        {
            case TrialExit.Finished { Result: var result, Provenance: var provenance }:
                state = result.Outcome switch
                {
                    TrialOutcome.Completed => TrialState.Completed,
                    TrialOutcome.Diverged => TrialState.Diverged,
                    TrialOutcome.Cancelled => TrialState.Interrupted,
                    _ => TrialState.Failed,
                };
                error = result.Error;
                if (state == TrialState.Interrupted)
                {
                    await store.RecordFailureAsync(study.Id, trial.TrialId, state, error ?? "interrupted", "interrupted", false, 0, 0, CancellationToken.None);
                }
                else
                {
                    var merged = options.Provenance.Concat(provenance).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);
                    await store.RecordResultAsync(study.Id, trial.TrialId, state, result, clock.Elapsed.TotalSeconds,
                        JsonSerializer.Serialize(merged), CancellationToken.None);
                }
                break;
            case TrialExit.Crashed { Reason: var reason, Kind: var kind }:
                logger.LogWarning("trial {Trial} on {Slot}: {Reason}", trial.TrialId, slot, reason);
                state = await store.RecordFailureAsync(study.Id, trial.TrialId, TrialState.Failed, reason, kind, retryable: true,
                    options.MaxRetries, options.BackoffSeconds, CancellationToken.None);
                error = reason;
                break;
            case TrialExit.Interrupted { Reason: var reason }:
                state = TrialState.Interrupted;
                error = reason;
                await store.RecordFailureAsync(study.Id, trial.TrialId, state, reason, "interrupted", false, 0, 0, CancellationToken.None);
                break;
            default:
                throw new InvalidOperationException($"unknown trial exit {exit}");
        }
        observer.TrialEnded(trial.TrialId, state, error);

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
