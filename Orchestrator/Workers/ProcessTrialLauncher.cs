using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Studies.Orchestrator.Scheduling;

namespace Studies.Orchestrator.Workers;

/// <summary>
/// Runs trials in long-lived worker processes, one per slot: a slot's worker starts once (the .NET runtime and libtorch
/// load once), then takes trial after trial, so a study of many short trials costs its trials' own work. Isolation is
/// kept: only the orchestrator writes the store; a worker that dies, hangs (no heartbeat) or overruns its timeout is
/// killed and replaced, and only its current trial is affected (retried by the scheduler); a NaN or a bad spec is a
/// result like any other. A worker asked to stop (Ctrl+C, SIGTERM) checkpoints its trial and exits.
/// </summary>
public sealed class ProcessTrialLauncher(WorkerCommandLine commandLine, ILogger logger) : ITrialLauncher, IAsyncDisposable, IDisposable
{
    /// <summary>A worker that says nothing for this long is considered hung (also the limit for starting one).</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>How long a worker asked to stop may take to checkpoint before it is killed.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<int, WorkerProcess> workers = new();

    /// <summary>Workers started so far (replacements included), for tests and the benchmark.</summary>
    public int WorkersStarted => workersStarted;
    private int workersStarted;

    public Task<TrialExit> RunAsync(string trialId, string specJson, DeviceSlot slot, string checkpointDirectory, TimeSpan? timeout,
        Action<TrialProgress> progress, CancellationToken stopping, CancellationToken kill) =>
        RunAsync(trialId, specJson, [], slot, checkpointDirectory, timeout, progress, stopping, kill);

    public async Task<TrialExit> RunAsync(string trialId, string specJson, IReadOnlyList<string> monitor, DeviceSlot slot, string checkpointDirectory,
        TimeSpan? timeout, Action<TrialProgress> progress, CancellationToken stopping, CancellationToken kill) =>
        (await RunOnWorkerAsync([new PackLaunch(trialId, specJson, checkpointDirectory, progress, CancellationToken.None)], pack: false, monitor, slot, timeout,
            stopping, kill))[0];

    /// <summary>
    /// The members go to the slot's worker in one <see cref="WorkerRequest.Pack"/> message and train there as one fused
    /// model; each member's epochs and result come back under its own id. A member asked to leave is told so on the worker's
    /// input (<see cref="WorkerRequest.Leave"/>); the others go on. The worker's log goes to every member's folder.
    /// </summary>
    public Task<IReadOnlyList<TrialExit>> RunPackAsync(IReadOnlyList<PackLaunch> members, IReadOnlyList<string> monitor, DeviceSlot slot, TimeSpan? timeout,
        CancellationToken stopping, CancellationToken kill) =>
        RunOnWorkerAsync(members, pack: true, monitor, slot, timeout, stopping, kill);

    private async Task<IReadOnlyList<TrialExit>> RunOnWorkerAsync(IReadOnlyList<PackLaunch> members, bool pack, IReadOnlyList<string> monitor, DeviceSlot slot,
        TimeSpan? timeout, CancellationToken stopping, CancellationToken kill)
    {
        var requests = new List<WorkerRequest>();
        foreach (var m in members)
        {
            Directory.CreateDirectory(m.CheckpointDirectory);
            var specPath = Path.Combine(m.CheckpointDirectory, "spec.json");
            await File.WriteAllTextAsync(specPath, m.SpecJson, CancellationToken.None);
            requests.Add(new WorkerRequest(m.TrialId, specPath, m.CheckpointDirectory, !pack && monitor.Count > 0 ? monitor : null));
        }
        // Every member's log, beside the worker, which writes its own lines there (WorkerLog): this writes the rest.
        await using var log = WorkerLog.Open(members.Select(m => m.CheckpointDirectory));
        var logPath = Path.Combine(members[0].CheckpointDirectory, WorkerLog.FileName);
        var names = pack ? $"pack of {members.Count} ({members[0].TrialId}, ...)" : members[0].TrialId;

        WorkerProcess worker;
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            worker = await WorkerForAsync(slot, log, kill);
            // A worker started for this trial: its start-up is said apart (epoch 0), so progress does not take it for the trial's own time.
            if (worker.TrialsRun == 0)
                members[0].Progress(new TrialProgress(members[0].TrialId, slot.Device, 0, 0, 0,
                    new Dictionary<string, double> { [WorkerMessage.WorkerStartSecondsKey] = clock.Elapsed.TotalSeconds }));
        }
        catch (WorkerStartException e)
        {
            return All(members, new TrialExit.Crashed(e.Message, "start"));
        }
        catch (OperationCanceledException) when (kill.IsCancellationRequested)
        {
            return All(members, new TrialExit.Interrupted("the orchestrator was stopped"));
        }
        worker.AttachLog(log);
        logger.LogDebug("trial {Trial}: worker {Pid} on {Slot}", names, worker.Pid, slot);
        try
        {
            await worker.SendAsync(pack ? WorkerRequest.ForPack(requests, monitor.Count > 0 ? monitor : null) : requests[0]);
        }
        catch (IOException e)
        {
            Retire(worker, kill: true);
            return All(members, new TrialExit.Crashed($"the worker could not be given the trial: {e.Message}", "crash"));
        }

        // A pruned member leaves its pack at its next epoch's end; the pack goes on (a single trial is stopped by its stop token).
        var leaves = pack ? members.Select(m => m.Leave.Register(() => worker.SendLater(WorkerRequest.LeavePack(m.TrialId)))).ToList() : [];
        IReadOnlyList<TrialExit> exits;
        try
        {
            exits = await FollowAsync(worker, members, pack, slot, timeout, stopping, kill, logPath);
        }
        finally
        {
            foreach (var leave in leaves) leave.Dispose();
        }
        worker.AttachLog(null);
        // A worker that stopped on request exits after its results; one that failed is gone or killed: start afresh next time.
        var finished = exits.All(e => e is TrialExit.Finished);
        if (!finished || stopping.IsCancellationRequested || worker.HasExited) Retire(worker, kill: !finished);
        else worker.TrialsRun += members.Count;
        return exits;
    }

    private static IReadOnlyList<TrialExit> All(IReadOnlyList<PackLaunch> members, TrialExit exit) => members.Select(_ => exit).ToList();

    /// <summary>Follows a trial (or a pack's members) on a worker until every result, the worker's death, a hang, a timeout or a stop.</summary>
    private async Task<IReadOnlyList<TrialExit>> FollowAsync(WorkerProcess worker, IReadOnlyList<PackLaunch> members, bool pack, DeviceSlot slot,
        TimeSpan? timeout, CancellationToken stopping, CancellationToken kill, string logPath)
    {
        using var watchdog = CancellationTokenSource.CreateLinkedTokenSource(kill);
        if (timeout is { } t) watchdog.CancelAfter(t);
        var stopSent = false;
        using var stopRegistration = stopping.Register(() =>
        {
            stopSent = true;
            // Ask the worker to checkpoint and exit; kill it if it does not within the grace period.
            worker.AskToStop();
            watchdog.CancelAfter(StopGrace);
        });

        // A single trial's messages name no trial; a pack member's name their member.
        var index = members.Select((m, i) => (m.TrialId, i)).ToDictionary(x => x.TrialId, x => x.i);
        int Member(string? id) => !pack ? 0 : id is not null && index.TryGetValue(id, out var i) ? i : -1;
        var exits = new TrialExit?[members.Count];
        string? reason = null;
        var reader = worker.Messages.Reader;
        while (true)
        {
            using var silence = CancellationTokenSource.CreateLinkedTokenSource(watchdog.Token);
            silence.CancelAfter(HeartbeatTimeout);
            WorkerMessage message;
            try
            {
                if (!await reader.WaitToReadAsync(silence.Token)) break; // the worker's output closed: it exited
                if (!reader.TryRead(out message!)) continue;
            }
            catch (OperationCanceledException)
            {
                reason = kill.IsCancellationRequested ? "stopped at once (second interrupt)"
                    : watchdog.IsCancellationRequested ? (stopSent ? $"did not stop within {StopGrace.TotalSeconds:F0} s of being asked" : $"exceeded its timeout of {timeout}")
                    : $"sent no heartbeat for {HeartbeatTimeout.TotalSeconds:F0} s";
                break;
            }
            if (message.Kind == WorkerMessage.Epoch && message.Phase is { } phase && message.EpochNumber is { } epoch && Member(message.TrialId) is var e and >= 0)
                members[e].Progress(new TrialProgress(members[e].TrialId, slot.Device, phase, epoch,
                    message.Metrics?.TryGetValue("total_epochs", out var total) == true ? (int)total : 0, message.Metrics ?? new Dictionary<string, double>()));
            else if (message.Kind == WorkerMessage.Result && message.TrialResult is { } result && Member(message.TrialId) is var r and >= 0)
            {
                exits[r] ??= new TrialExit.Finished(result, message.Provenance ?? new Dictionary<string, string>());
                if (exits.All(x => x is not null)) return exits!;
            }
        }

        if (!worker.HasExited) worker.Kill();
        await worker.WaitForExitAsync();
        var tail = worker.Tail(12);
        TrialExit failure;
        if (kill.IsCancellationRequested || (stopSent && reason is null)) failure = new TrialExit.Interrupted("the orchestrator was stopped");
        else
        {
            var code = worker.ExitCode;
            var how = reason ?? (code > 128 ? $"was killed by signal {code - 128}" : code < 0 ? $"was killed by signal {-code}" : $"exited with code {code} without a result");
            failure = new TrialExit.Crashed($"the worker {how}" + (tail.Length > 0 ? $"; its last output:\n{tail}" : $"; log: {logPath}"),
                reason is null ? "crash" : reason.Contains("timeout", StringComparison.Ordinal) ? "timeout" : "hang");
        }
        return exits.Select(x => x ?? failure).ToList();
    }

    /// <summary>The slot's live worker, or a new one once it has said it is ready.</summary>
    private async Task<WorkerProcess> WorkerForAsync(DeviceSlot slot, TextWriter log, CancellationToken kill)
    {
        if (workers.TryGetValue(slot.Index, out var existing))
        {
            // A worker that died between trials (killed, out of memory) loses nothing: it held no trial. Replace it.
            if (!existing.HasExited && existing.Messages.Reader.Completion.IsCompleted == false) return existing;
            logger.LogWarning("the worker of slot {Slot} (pid {Pid}) ended between trials; starting a new one", slot, existing.Pid);
            Retire(existing, kill: true);
        }
        WorkerProcess worker;
        try
        {
            worker = WorkerProcess.Start(commandLine, slot);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new WorkerStartException($"the worker could not be started: {e.Message}");
        }
        Interlocked.Increment(ref workersStarted);
        worker.AttachLog(log);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(kill);
        limit.CancelAfter(HeartbeatTimeout);
        try
        {
            while (await worker.Messages.Reader.WaitToReadAsync(limit.Token))
            {
                if (worker.Messages.Reader.TryRead(out var m) && m.Kind == WorkerMessage.Ready)
                {
                    workers[slot.Index] = worker;
                    return worker;
                }
            }
        }
        catch (OperationCanceledException) when (!kill.IsCancellationRequested)
        {
            worker.Kill();
            throw new WorkerStartException($"the worker did not start within {HeartbeatTimeout.TotalSeconds:F0} s; its last output:\n{worker.Tail(12)}");
        }
        catch (OperationCanceledException)
        {
            worker.Kill();
            throw;
        }
        await worker.WaitForExitAsync();
        var tail = worker.Tail(12);
        // The exit code before the process object is disposed: read after, it threw "no process is associated" instead.
        var code = worker.ExitCode;
        worker.Dispose();
        throw new WorkerStartException($"the worker exited with code {code} before it was ready" + (tail.Length > 0 ? $"; its last output:\n{tail}" : ""));
    }

    private void Retire(WorkerProcess worker, bool kill)
    {
        workers.TryRemove(KeyValuePair.Create(worker.Slot.Index, worker));
        if (kill && !worker.HasExited) worker.Kill();
        _ = worker.WaitForExitAsync().ContinueWith(_ => worker.Dispose(), TaskScheduler.Default);
    }

    /// <summary>Ends every idle worker (a run is over): their input closes and they leave.</summary>
    public async Task ReleaseWorkersAsync()
    {
        var idle = workers.Values.ToList();
        workers.Clear();
        await Task.WhenAll(idle.Select(async w =>
        {
            await w.CloseAsync();
            w.Dispose();
        }));
    }

    public async ValueTask DisposeAsync() => await ReleaseWorkersAsync();

    public void Dispose() => ReleaseWorkersAsync().GetAwaiter().GetResult();

    private sealed class WorkerStartException(string message) : Exception(message);
}
