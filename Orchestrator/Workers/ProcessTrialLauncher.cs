using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Studies.Orchestrator.Scheduling;

namespace Studies.Orchestrator.Workers;

/// <summary>
/// Runs each trial in a child process (the same program's <c>worker</c> command) pinned to its
/// slot's device and threads. Only this, the parent, writes the database; the worker reports over
/// its standard output. A worker that dies, hangs (no heartbeat) or overruns its timeout is a
/// crash, which the scheduler retries; one that exits without a result while the orchestrator is
/// stopping is an interruption.
/// </summary>
public sealed partial class ProcessTrialLauncher(WorkerCommandLine commandLine, ILogger logger) : ITrialLauncher
{
    /// <summary>A worker that says nothing for this long is considered hung.</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>How long a worker asked to stop may take to checkpoint before it is killed.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(60);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    private const int SigTerm = 15;

    public async Task<TrialExit> RunAsync(string trialId, string specJson, DeviceSlot slot, string checkpointDirectory, TimeSpan? timeout,
        Action<TrialProgress> progress, CancellationToken stopping, CancellationToken kill)
    {
        Directory.CreateDirectory(checkpointDirectory);
        var specPath = Path.Combine(checkpointDirectory, "spec.json");
        await File.WriteAllTextAsync(specPath, specJson, CancellationToken.None);

        var start = new ProcessStartInfo(commandLine.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in commandLine.PrefixArguments) start.ArgumentList.Add(a);
        foreach (var a in new[] { "worker", "--spec-file", specPath, "--checkpoint-dir", checkpointDirectory,
                     "--threads", slot.Threads.ToString(CultureInfo.InvariantCulture), "--device", slot.IsCuda ? "cuda" : "cpu", "--exit-with-parent" })
            start.ArgumentList.Add(a);
        // Pinning: the worker sees only its GPU (as cuda:0), and a CPU worker none at all. The slot's
        // ordinal counts the devices this process sees, so it is mapped through our own CUDA_VISIBLE_DEVICES.
        start.Environment["CUDA_VISIBLE_DEVICES"] = slot.CudaOrdinal is { } ordinal
            ? global::Studies.Trials.Engine.CudaVisibility.ForWorker(Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES"), ordinal) : "";
        start.Environment["OMP_NUM_THREADS"] = slot.Threads.ToString(CultureInfo.InvariantCulture);
        start.Environment["OPENBLAS_NUM_THREADS"] = slot.Threads.ToString(CultureInfo.InvariantCulture);
        start.Environment["DOTNET_gcServer"] = "0";
        // A worker is one short compute job beside others on the same cores: no background GC thread
        // and no PGO instrumentation stealing a core (bench orchestrator: 2-slot throughput 1.40x -> 1.54x).
        start.Environment["DOTNET_gcConcurrent"] = "0";
        start.Environment["DOTNET_TieredPGO"] = "0";

        using var process = new Process { StartInfo = start };
        var logPath = Path.Combine(checkpointDirectory, "worker.log");
        var stderrTail = new Queue<string>();
        await using var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stderrTail)
            {
                log.WriteLine(e.Data);
                stderrTail.Enqueue(e.Data);
                while (stderrTail.Count > 40) stderrTail.Dequeue();
            }
        };

        try
        {
            process.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new TrialExit.Crashed($"the worker could not be started: {e.Message}", "start");
        }
        process.BeginErrorReadLine();
        // Standard input stays open and silent: when this process dies (even by SIGKILL) the pipe
        // closes and the worker exits, so no orphan keeps training a trial that will be run again.
        logger.LogDebug("trial {Trial}: worker {Pid} on {Slot}", trialId, process.Id, slot);

        TrialExit.Finished? finished = null;
        var lastMessage = Stopwatch.StartNew();
        var reason = (string?)null;
        using var watchdog = CancellationTokenSource.CreateLinkedTokenSource(kill);
        if (timeout is { } t) watchdog.CancelAfter(t);
        var stopSent = false;
        using var stopRegistration = stopping.Register(() =>
        {
            stopSent = true;
            // Ask the worker to checkpoint and exit; kill it if it does not within the grace period.
            if (!process.HasExited) SendSignal(process.Id, SigTerm);
            watchdog.CancelAfter(StopGrace);
        });

        var reader = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lastMessage.Restart();
                var message = WorkerMessage.TryParse(line);
                if (message is null) continue;
                if (message.Kind == WorkerMessage.Epoch && message.Phase is { } phase && message.EpochNumber is { } epoch)
                    progress(new TrialProgress(trialId, slot.Device, phase, epoch, message.Metrics?.TryGetValue("total_epochs", out var total) == true ? (int)total : 0,
                        message.Metrics ?? new Dictionary<string, double>()));
                else if (message.Kind == WorkerMessage.Result && message.TrialResult is { } result)
                    finished = new TrialExit.Finished(result, message.Provenance ?? new Dictionary<string, string>());
            }
        });

        while (!process.HasExited)
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), watchdog.Token);
            }
            catch (OperationCanceledException)
            {
                reason = kill.IsCancellationRequested ? "stopped at once (second interrupt)"
                    : stopSent ? $"did not stop within {StopGrace.TotalSeconds:F0} s of being asked" : $"exceeded its timeout of {timeout}";
                break;
            }
            if (lastMessage.Elapsed > HeartbeatTimeout)
            {
                reason = $"sent no heartbeat for {HeartbeatTimeout.TotalSeconds:F0} s";
                break;
            }
        }
        if (!process.HasExited)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        }
        await process.WaitForExitAsync(CancellationToken.None);
        await reader;

        if (finished is not null) return finished;
        string tail;
        lock (stderrTail) tail = string.Join("\n", stderrTail.TakeLast(12));
        if (kill.IsCancellationRequested || (stopSent && reason is null)) return new TrialExit.Interrupted("the orchestrator was stopped");
        var exit = process.ExitCode;
        var how = reason ?? (exit > 128 ? $"was killed by signal {exit - 128}" : exit < 0 ? $"was killed by signal {-exit}" : $"exited with code {exit} without a result");
        return new TrialExit.Crashed($"the worker {how}" + (tail.Length > 0 ? $"; its last output:\n{tail}" : $"; log: {logPath}"),
            reason is null ? "crash" : reason.Contains("timeout") ? "timeout" : "hang");
    }
}
