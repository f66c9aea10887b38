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
        TimeSpan? timeout, Action<TrialProgress> progress, CancellationToken stopping, CancellationToken kill)
    {
        Directory.CreateDirectory(checkpointDirectory);
        var specPath = Path.Combine(checkpointDirectory, "spec.json");
        await File.WriteAllTextAsync(specPath, specJson, CancellationToken.None);
        var logPath = Path.Combine(checkpointDirectory, "worker.log");
        // Unbuffered below the writer: a line that could not be written (disk full) is not written again when the log is closed.
        await using var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0)) { AutoFlush = true };

        WorkerProcess worker;
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            worker = await WorkerForAsync(slot, log, kill);
            // A worker started for this trial: its start-up is said apart (epoch 0), so progress does not take it for the trial's own time.
            if (worker.TrialsRun == 0)
                progress(new TrialProgress(trialId, slot.Device, 0, 0, 0, new Dictionary<string, double> { [WorkerMessage.WorkerStartSecondsKey] = clock.Elapsed.TotalSeconds }));
        }
        catch (WorkerStartException e)
        {
            return new TrialExit.Crashed(e.Message, "start");
        }
        catch (OperationCanceledException) when (kill.IsCancellationRequested)
        {
            return new TrialExit.Interrupted("the orchestrator was stopped");
        }
        worker.AttachLog(log);
        logger.LogDebug("trial {Trial}: worker {Pid} on {Slot}", trialId, worker.Pid, slot);
        try
        {
            await worker.SendAsync(new WorkerRequest(trialId, specPath, checkpointDirectory, monitor.Count > 0 ? monitor : null));
        }
        catch (IOException e)
        {
            Retire(worker, kill: true);
            return new TrialExit.Crashed($"the worker could not be given the trial: {e.Message}", "crash");
        }

        var exit = await FollowAsync(worker, trialId, slot, timeout, progress, stopping, kill, logPath);
        worker.AttachLog(null);
        // A worker that stopped on request exits after its result; one that failed is gone or killed: start afresh next time.
        if (exit is not TrialExit.Finished || stopping.IsCancellationRequested || worker.HasExited) Retire(worker, kill: exit is not TrialExit.Finished);
        else worker.TrialsRun++;
        return exit;
    }

    /// <summary>Follows one trial on a worker until its result, the worker's death, a hang, a timeout or a stop.</summary>
    private async Task<TrialExit> FollowAsync(WorkerProcess worker, string trialId, DeviceSlot slot, TimeSpan? timeout,
        Action<TrialProgress> progress, CancellationToken stopping, CancellationToken kill, string logPath)
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
            if (message.Kind == WorkerMessage.Epoch && message.Phase is { } phase && message.EpochNumber is { } epoch)
                progress(new TrialProgress(trialId, slot.Device, phase, epoch, message.Metrics?.TryGetValue("total_epochs", out var total) == true ? (int)total : 0,
                    message.Metrics ?? new Dictionary<string, double>()));
            else if (message.Kind == WorkerMessage.Result && message.TrialResult is { } result)
                return new TrialExit.Finished(result, message.Provenance ?? new Dictionary<string, string>());
        }

        if (!worker.HasExited) worker.Kill();
        await worker.WaitForExitAsync();
        var tail = worker.Tail(12);
        if (kill.IsCancellationRequested || (stopSent && reason is null)) return new TrialExit.Interrupted("the orchestrator was stopped");
        var code = worker.ExitCode;
        var how = reason ?? (code > 128 ? $"was killed by signal {code - 128}" : code < 0 ? $"was killed by signal {-code}" : $"exited with code {code} without a result");
        return new TrialExit.Crashed($"the worker {how}" + (tail.Length > 0 ? $"; its last output:\n{tail}" : $"; log: {logPath}"),
            reason is null ? "crash" : reason.Contains("timeout", StringComparison.Ordinal) ? "timeout" : "hang");
    }

    /// <summary>The slot's live worker, or a new one once it has said it is ready.</summary>
    private async Task<WorkerProcess> WorkerForAsync(DeviceSlot slot, StreamWriter log, CancellationToken kill)
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
        worker.Dispose();
        throw new WorkerStartException($"the worker exited with code {worker.ExitCode} before it was ready" + (tail.Length > 0 ? $"; its last output:\n{tail}" : ""));
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
