using System.Runtime.InteropServices;

namespace Studies.Orchestrator.Cli;

/// <summary>
/// Ctrl+C and SIGTERM for a foreground run: the first asks for a clean stop (no new trials, running
/// ones checkpoint and exit, recorded interrupted), the second stops at once (workers are killed;
/// recorded results stay, the killed trials resume from their last checkpoint next time).
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource stopping = new();
    private readonly CancellationTokenSource kill = new();
    private readonly PosixSignalRegistration interrupt;
    private readonly PosixSignalRegistration terminate;
    private int presses;

    public StopSignals(TextWriter messages)
    {
        void Handle(PosixSignalContext context)
        {
            context.Cancel = true;
            if (Interlocked.Increment(ref presses) == 1)
            {
                messages.WriteLine("stopping: no new trials; running trials checkpoint and exit (press Ctrl+C again to stop at once)");
                stopping.Cancel();
            }
            else
            {
                messages.WriteLine("stopping now: workers are killed; their trials resume from the last checkpoint on the next run");
                kill.Cancel();
            }
        }
        interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
        terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
    }

    public CancellationToken Stopping => stopping.Token;
    public CancellationToken Kill => kill.Token;

    public void Dispose()
    {
        interrupt.Dispose();
        terminate.Dispose();
        stopping.Dispose();
        kill.Dispose();
    }
}
