using System.CommandLine;
using System.Runtime.InteropServices;
using Studies.Trials.Engine;
using Studies.Trials.Results;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Workers;

/// <summary>
/// <c>studies worker</c> (hidden): runs one trial in this process and reports over standard
/// output in <see cref="WorkerMessage"/> lines. SIGTERM or SIGINT asks the trial to checkpoint at
/// the next epoch boundary and exit with a "cancelled" result.
/// </summary>
internal static partial class WorkerCommand
{
    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void ExitNow(int status);

    public static Command Create(Func<ITrialRunner> runnerFactory)
    {
        var specFile = new Option<FileInfo>("--spec-file") { Required = true, Description = "The trial's resolved spec (JSON)" };
        var checkpointDir = new Option<DirectoryInfo>("--checkpoint-dir") { Required = true, Description = "Where the trial checkpoints" };
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 1 };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu" };
        var exitWithParent = new Option<bool>("--exit-with-parent") { Description = "Exit at once when standard input closes (the orchestrator died)" };
        var command = new Command("worker", "Run one trial and report to the orchestrator (used internally)") { specFile, checkpointDir, threads, device, exitWithParent };
        command.Hidden = true;
        command.SetAction(parse =>
        {
            if (parse.GetValue(exitWithParent)) ExitWhenParentDies();
            return Run(runnerFactory(), parse.GetValue(specFile)!, parse.GetValue(checkpointDir)!, parse.GetValue(threads), parse.GetValue(device)!);
        });
        return command;
    }

    /// <summary>
    /// The orchestrator keeps our standard input open and never writes to it; end of input means it
    /// is gone. The last checkpoint stays; the next orchestrator resumes the trial from it.
    /// </summary>
    private static void ExitWhenParentDies()
    {
        var stdin = Console.OpenStandardInput();
        new Thread(() =>
        {
            var buffer = new byte[64];
            try
            {
                while (stdin.Read(buffer, 0, buffer.Length) > 0)
                {
                }
            }
            catch (IOException)
            {
            }
            Console.Error.WriteLine("worker: the orchestrator is gone (standard input closed); exiting");
            // Not Environment.Exit: it runs the C runtime's exit handlers and libtorch's static
            // destructors while the training thread goes on, and a checkpoint saved in that moment
            // was written with freed name tables (garbage class names in optim.pt) and then named by
            // checkpoint.json, so the trial failed on every resume. _exit ends the process at once;
            // a save cut short is never named by checkpoint.json, so the previous checkpoint stays.
            ExitNow(3);
        }) { IsBackground = true, Name = "parent-watch" }.Start();
    }

    private static int Run(ITrialRunner runner, FileInfo specFile, DirectoryInfo checkpointDir, int threads, string device)
    {
        var stdout = Console.Out;
        // Anything else that writes to standard output must not corrupt the protocol.
        Console.SetOut(Console.Error);
        var gate = new object();
        void Send(WorkerMessage message)
        {
            lock (gate)
            {
                stdout.WriteLine(message.ToLine());
                stdout.Flush();
            }
        }

        using var cancel = new CancellationTokenSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cancel.Cancel(); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cancel.Cancel(); });
        using var heartbeat = new Timer(_ => Send(new WorkerMessage { Kind = WorkerMessage.Heartbeat }), null, TimeSpan.Zero, TimeSpan.FromSeconds(10));

        TrialResult result;
        var provenance = new Dictionary<string, string>(Provenance.OfWorker(threads, device));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            var spec = SpecJson.Deserialize<TrialSpec>(File.ReadAllText(specFile.FullName));
            // The slot decides the device and threads; CUDA_VISIBLE_DEVICES makes the slot's GPU cuda:0 here.
            spec = spec with { Device = device == "cuda" ? "cuda:0" : "cpu", Threads = threads };
            result = runner.Run(spec, new TrialRunOptions
            {
                CheckpointDirectory = checkpointDir.FullName,
                // Standard error is the trial's worker.log: the full exception belongs there.
                OnFailure = e => Console.Error.WriteLine($"trial failed: {e}"),
                OnWarning = Console.Error.WriteLine,
                OnEpoch = (record, total) =>
                {
                    var metrics = record.Metrics.ToDictionary(m => m.Key, m => m.Value);
                    metrics["total_epochs"] = total;
                    Send(new WorkerMessage { Kind = WorkerMessage.Epoch, Phase = record.Phase, EpochNumber = record.Epoch, Metrics = metrics });
                },
            }, cancel.Token);
        }
        catch (Exception e)
        {
            // A runner reports a trial's own failures as results; anything thrown here is a deterministic error too.
            result = new TrialResult { Outcome = TrialOutcome.Failed, Error = $"{e.GetType().Name}: {e.Message}" };
        }
        heartbeat.Change(Timeout.Infinite, Timeout.Infinite);
        // The trial's own run time (data, training, evaluation), so the orchestrator's overhead can be told apart.
        provenance["run_seconds"] = clock.Elapsed.TotalSeconds.ToString("F3", System.Globalization.CultureInfo.InvariantCulture);
        Send(new WorkerMessage { Kind = WorkerMessage.Result, TrialResult = result, Provenance = provenance });
        return 0;
    }
}

/// <summary>Where and with what a trial ran: stored with every trial.</summary>
public static class Provenance
{
    public static string StudiesVersion =>
        typeof(Provenance).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";

    public static IReadOnlyDictionary<string, string> OfOrchestrator() => new Dictionary<string, string>
    {
        ["host"] = Environment.MachineName,
        ["studies_version"] = StudiesVersion,
        ["dotnet"] = RuntimeInformation.FrameworkDescription,
        ["os"] = RuntimeInformation.OSDescription,
    };

    public static IReadOnlyDictionary<string, string> OfWorker(int threads, string device) => new Dictionary<string, string>
    {
        ["host"] = Environment.MachineName,
        ["libtorch"] = Torch.Version,
        ["blas"] = Torch.Blas().ToString(),
        ["threads"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["device"] = device,
        ["cuda_visible_devices"] = Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES") ?? "",
    };
}
