using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Studies.Orchestrator.Scheduling;

namespace Studies.Orchestrator.Workers;

/// <summary>
/// One live <c>studies worker</c> process of a slot: pinned to the slot's device and threads, fed trials on its standard
/// input, heard on its standard output (<see cref="WorkerMessage"/> lines, queued in <see cref="Messages"/>). What it says
/// on standard error about a trial it writes to the trial's log itself (<see cref="WorkerLog"/>); the rest goes there from
/// here. Standard input stays open between trials: when this process dies
/// (even by SIGKILL) the pipe closes and the worker exits, so no orphan keeps training a trial that will be run again.
/// </summary>
internal sealed partial class WorkerProcess : IDisposable
{
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    private const int SigTerm = 15;

    private readonly Process process;
    private readonly Queue<string> stderrTail = new();
    private TextWriter? log;
    private readonly SemaphoreSlim sending = new(1, 1);

    private WorkerProcess(Process process, DeviceSlot slot)
    {
        this.process = process;
        Slot = slot;
    }

    public DeviceSlot Slot { get; }
    public int Pid => process.Id;
    public bool HasExited => process.HasExited;
    public int ExitCode => process.ExitCode;
    /// <summary>Trials this process has run to a result.</summary>
    public int TrialsRun { get; set; }

    /// <summary>Everything the worker said on standard output, in order; completed when its output closes (it exited).</summary>
    public Channel<WorkerMessage> Messages { get; } = Channel.CreateUnbounded<WorkerMessage>(new UnboundedChannelOptions { SingleReader = true });



    public static WorkerProcess Start(WorkerCommandLine commandLine, DeviceSlot slot)
    {
        var start = new ProcessStartInfo(commandLine.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in commandLine.PrefixArguments) start.ArgumentList.Add(a);
        foreach (var a in new[] { "worker", "--threads", slot.Threads.ToString(CultureInfo.InvariantCulture), "--device", slot.IsCuda ? "cuda" : "cpu" })
            start.ArgumentList.Add(a);
        // Pinning: the worker sees only its GPU (as cuda:0), and a CPU worker none at all. The slot's
        // ordinal counts the devices this process sees, so it is mapped through our own CUDA_VISIBLE_DEVICES.
        start.Environment["CUDA_VISIBLE_DEVICES"] = slot.CudaOrdinal is { } ordinal
            ? global::Studies.Trials.Engine.CudaVisibility.ForWorker(Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES"), ordinal) : "";
        start.Environment["OMP_NUM_THREADS"] = slot.Threads.ToString(CultureInfo.InvariantCulture);
        start.Environment["OPENBLAS_NUM_THREADS"] = slot.Threads.ToString(CultureInfo.InvariantCulture);
        foreach (var (name, value) in WorkerCommandLine.RuntimeSettings) start.Environment[name] = value;

        var process = new Process { StartInfo = start };
        var worker = new WorkerProcess(process, slot);
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) worker.OnStderr(e.Data); };
        process.Start();
        process.BeginErrorReadLine();
        _ = Task.Run(worker.ReadOutputAsync);
        return worker;
    }

    private async Task ReadOutputAsync()
    {
        try
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                if (WorkerMessage.TryParse(line) is { } message) Messages.Writer.TryWrite(message);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The process went away mid-line: the same as its output closing.
        }
        Messages.Writer.TryComplete();
    }

    private void OnStderr(string line)
    {
        lock (stderrTail)
        {
            // A line the worker wrote to the trial's log itself (WorkerLog) is kept for the tail only.
            (line, var logged) = WorkerLog.Unmark(line);
            // WorkerLog.Open's writer never throws here: a log it can no longer write (a full disk) it drops, and the tail
            // still reaches the trial's record.
            if (!logged) log?.WriteLine(line);
            stderrTail.Enqueue(line);
            while (stderrTail.Count > 40) stderrTail.Dequeue();
        }
    }

    /// <summary>Sends the worker's standard error to this trial's log from now on, and forgets the previous trial's output.</summary>
    public void AttachLog(TextWriter? writer)
    {
        lock (stderrTail)
        {
            log = writer;
            stderrTail.Clear();
        }
    }

    public string Tail(int lines)
    {
        lock (stderrTail) return string.Join("\n", stderrTail.TakeLast(lines));
    }

    public async Task SendAsync(WorkerRequest request)
    {
        // One line at a time: a pack's leave requests may come from several threads while it trains.
        await sending.WaitAsync();
        try
        {
            await process.StandardInput.WriteLineAsync(request.ToLine());
            await process.StandardInput.FlushAsync();
        }
        finally
        {
            sending.Release();
        }
    }

    /// <summary>Sends a request without waiting; a worker that is gone by then needs it no more.</summary>
    public void SendLater(WorkerRequest request) => _ = Task.Run(async () =>
    {
        try
        {
            await SendAsync(request);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
    });

    /// <summary>Asks the running trial to checkpoint and the worker to exit (SIGTERM).</summary>
    public void AskToStop()
    {
        if (!process.HasExited) SendSignal(process.Id, SigTerm);
    }

    public void Kill()
    {
        try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    public Task WaitForExitAsync() => process.WaitForExitAsync(CancellationToken.None);

    /// <summary>Ends an idle worker: closing its input makes it leave at once; killed if it does not within a few seconds.</summary>
    public async Task CloseAsync()
    {
        try { process.StandardInput.Close(); } catch (IOException) { }
        using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await process.WaitForExitAsync(grace.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
            await process.WaitForExitAsync(CancellationToken.None);
        }
    }

    public void Dispose()
    {
        AttachLog(null);
        process.Dispose();
    }
}
