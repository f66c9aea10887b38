using System.CommandLine;
using System.Runtime.InteropServices;
using Studies.Orchestrator.Scheduling;
using Studies.Trials.Engine;
using Studies.Trials.Fusion;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Workers;

/// <summary>
/// <c>studies worker</c> (hidden): a long-lived worker of one slot. It loads the tensor library once, then runs trial
/// after trial as the orchestrator sends them on standard input (<see cref="WorkerRequest"/> lines), reporting each
/// over standard output in <see cref="WorkerMessage"/> lines. Between trials it frees what the trial held, so the next
/// one starts from the same memory. A <see cref="WorkerRequest.Pack"/> trains its members as one fused pack, each reported
/// under its own id. End of input means the orchestrator is gone: the worker exits at once. SIGTERM or SIGINT asks the
/// current trial (or pack) to checkpoint at the next epoch boundary; the worker reports it cancelled and exits.
/// </summary>
internal static partial class WorkerCommand
{
    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void ExitNow(int status);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    public static Command Create(Func<ITrialRunner> runnerFactory)
    {
        var threads = new Option<int>("--threads") { DefaultValueFactory = _ => 1 };
        var device = new Option<string>("--device") { DefaultValueFactory = _ => "cpu" };
        var command = new Command("worker", "Run trials sent on standard input and report to the orchestrator (used internally)") { threads, device };
        command.Hidden = true;
        command.SetAction(parse => Serve(runnerFactory(), parse.GetValue(threads), parse.GetValue(device)!));
        return command;
    }

    private static int Serve(ITrialRunner runner, int threads, string device)
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
        var provenance = Provenance.OfWorker(threads, device);
        var trials = 0;
        WarmUp(runner, threads, device);
        Send(new WorkerMessage { Kind = WorkerMessage.Ready, Provenance = Memory(trials) });

        var input = new WorkerInput(Console.OpenStandardInput());
        foreach (var run in input.Requests.GetConsumingEnumerable())
        {
            // Memory as this trial finds it: what the trials before it left behind once released.
            var before = Memory(trials);
            IReadOnlyList<(string? Id, TrialResult Result)> results;
            double seconds;
            // The trial's own log, written here (see WorkerLog); closed before its result is sent, so nothing after it lands there.
            using (WorkerLog.WriteTo((run.Pack ?? [run]).Select(r => r.CheckpointDirectory)))
                results = Run(runner, run, threads, device, cancel.Token, Send, input, out seconds);
            foreach (var (id, result) in results)
            {
                trials++;
                var trialProvenance = new Dictionary<string, string>(provenance);
                foreach (var (k, v) in before) trialProvenance[k] = v;
                trialProvenance["worker_trials"] = trials.ToString(System.Globalization.CultureInfo.InvariantCulture);
                // The trial's own run time (data, training, evaluation), so the orchestrator's overhead can be told apart; a pack
                // member's is its share of the pack's (the pack's own time and size are beside it).
                trialProvenance["run_seconds"] = (seconds / results.Count).ToString("F3", System.Globalization.CultureInfo.InvariantCulture);
                if (id is not null)
                {
                    trialProvenance["pack_members"] = results.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    trialProvenance["pack_seconds"] = seconds.ToString("F3", System.Globalization.CultureInfo.InvariantCulture);
                    trialProvenance["pack"] = results[0].Id!;
                }
                Send(new WorkerMessage { Kind = WorkerMessage.Result, TrialId = id, TrialResult = result, Provenance = trialProvenance });
            }
            if (cancel.IsCancellationRequested) return 0;
            // After the result, not before: the orchestrator records it and sends the next trial while this runs.
            Release();
        }
        // The orchestrator closed our input. Not Environment.Exit: it runs the C runtime's exit handlers and libtorch's
        // static destructors while a training thread may still go on, and a checkpoint saved in that moment was once
        // written with freed name tables and then named by checkpoint.json, so the trial failed on every resume. _exit
        // ends the process at once; a save cut short is never named by checkpoint.json, so the previous checkpoint stays.
        // (Here no trial runs: the queue completes between trials; during one, end of input is noticed by the watcher.)
        ExitNow(0);
        return 0;
    }

    /// <summary>One request: a pack, a trial whose checkpoint a pack wrote, or a trial alone.</summary>
    private static IReadOnlyList<(string? Id, TrialResult Result)> Run(ITrialRunner runner, WorkerRequest run, int threads, string device,
        CancellationToken cancel, Action<WorkerMessage> send, WorkerInput input, out double seconds)
    {
        if (run.Pack is { } pack) return RunPack(runner, pack, run.Monitor, threads, device, cancel, send, input, out seconds);
        // Its checkpoint was written by a pack (a pack member's optimiser state, which an unfused run cannot read): it
        // resumes as a pack of one, which reads it exactly (and runs alone if its checkpoint is not a pack's after all).
        if (File.Exists(Path.Combine(run.CheckpointDirectory, FusedMarker)))
            return [(null, RunPack(runner, [run], run.Monitor, threads, device, cancel, send, input, out seconds)[0].Result)];
        return [(null, RunOne(runner, run, threads, device, cancel, send, out seconds))];
    }

    /// <summary>
    /// A tiny trial before the worker says it is ready: the training, validation and per-mass evaluation code is compiled
    /// and the tensor library's first-use costs are paid here, once per worker, as part of its start (which progress and
    /// the dry run count once per slot), rather than by the slot's first trial. Without it the first trial's start and
    /// first epoch were slower than the later ones' (bench eta, quickstart at load ~23: the ETA shown at the first epoch
    /// was 137.6 s for 56.8 s left, since every trial was taken to start and run as the cold first one). Its result is
    /// discarded; a failure here is left for the real trial to report.
    /// </summary>
    private static void WarmUp(ITrialRunner runner, int threads, string device)
    {
        var spec = new TrialSpec
        {
            Data = new DataSpec { Source = "gaussian-toy", Options = new System.Text.Json.Nodes.JsonObject { ["masses"] = new System.Text.Json.Nodes.JsonArray(-1.0, 1.0), ["events_per_mass"] = 200 } },
            Model = new ModelSpec { Kind = "pnn", Hidden = [8] },
            Schedule = [new PhaseSpec { Loss = "bce", Epochs = 2, Batch = 64 }],
            Device = device == "cuda" ? "cuda:0" : "cpu",
            Threads = threads,
        };
        // Watched like a trial: under load the warm-up takes seconds, and an orchestrator killed meanwhile must not leave
        // this worker behind (SearchKillTests at load 30 found two workers still warming up 10 s after the kill).
        using var watcher = ParentWatcher.Start();
        try
        {
            runner.Run(spec, new TrialRunOptions(), CancellationToken.None);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"worker: warm-up trial failed ({e.GetType().Name}: {e.Message}); trials run cold");
        }
        Release();
    }

    private static TrialResult RunOne(ITrialRunner runner, WorkerRequest run, int threads, string device, CancellationToken cancel,
        Action<WorkerMessage> send, out double seconds)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // End of input while the trial runs means the orchestrator died: leave at once (see Serve).
        using var watcher = ParentWatcher.Start();
        TrialResult result;
        try
        {
            var spec = ReadSpec(run, threads, device);
            Console.Error.WriteLine($"worker: trial {run.TrialId}");
            result = runner.Run(spec, Options(run, monitor: run.Monitor, memberId: null, send), cancel);
        }
        catch (Exception e)
        {
            // A runner reports a trial's own failures as results; anything thrown here is a deterministic error too.
            result = new TrialResult { Outcome = TrialOutcome.Failed, Error = $"{e.GetType().Name}: {e.Message}" };
        }
        seconds = clock.Elapsed.TotalSeconds;
        return result;
    }

    /// <summary>The trial's spec, on the slot's device and threads (CUDA_VISIBLE_DEVICES makes the slot's GPU cuda:0 here).</summary>
    private static TrialSpec ReadSpec(WorkerRequest run, int threads, string device) =>
        SpecJson.Deserialize<TrialSpec>(File.ReadAllText(run.SpecFile)) with { Device = device == "cuda" ? "cuda:0" : "cpu", Threads = threads };

    /// <summary>A trial's side channels: its folder, the monitored metrics, its log lines and its epochs sent as they come.</summary>
    /// <param name="memberId">The pack member's id, named in its epochs (and its log lines); null for a single trial.</param>
    private static TrialRunOptions Options(WorkerRequest run, IReadOnlyList<string>? monitor, string? memberId, Action<WorkerMessage> send,
        ITrainingController? controller = null)
    {
        var prefix = memberId is null ? "" : $"{memberId}: ";
        var epochClock = System.Diagnostics.Stopwatch.StartNew();
        var first = true;
        return new TrialRunOptions
        {
            CheckpointDirectory = run.CheckpointDirectory,
            Monitor = monitor ?? [],
            Controller = controller,
            // Standard error is the trial's worker.log: the full exception belongs there.
            OnFailure = e => Console.Error.WriteLine($"{prefix}trial failed: {e}"),
            OnWarning = line => Console.Error.WriteLine(prefix + line),
            // The epoch's own seconds (its validation included), so that progress has a rate from the first epoch on,
            // apart from the time the trial took to load its data. A pack member's is the pack's epoch.
            OnTrainingStart = () => epochClock.Restart(),
            OnEpoch = (record, total) =>
            {
                // Where a resumed trial took up its training, for its log (and the kill tests).
                if (first && record.Epoch > 1) Console.Error.WriteLine($"{prefix}resumed from its checkpoint: trains from epoch {record.Epoch}");
                first = false;
                var metrics = record.Metrics.ToDictionary(m => m.Key, m => m.Value);
                metrics["total_epochs"] = total;
                metrics[WorkerMessage.EpochSecondsKey] = epochClock.Elapsed.TotalSeconds;
                epochClock.Restart();
                send(new WorkerMessage { Kind = WorkerMessage.Epoch, TrialId = memberId, Phase = record.Phase, EpochNumber = record.Epoch, Metrics = metrics });
            },
        };
    }

    /// <summary>
    /// Trains a pack's members as one fused model (<see cref="FusedPackRunner"/>): each member's epochs, checkpoint and
    /// result are its own, as if alone. A member the orchestrator asks to leave (<see cref="WorkerRequest.Leave"/>: pruned)
    /// stops at its epoch's end and is reported cancelled, as a trial stopped alone is. A runner that is not the built-in
    /// one (tests) runs the members one after the other.
    /// </summary>
    private static IReadOnlyList<(string? Id, TrialResult Result)> RunPack(ITrialRunner runner, IReadOnlyList<WorkerRequest> pack, IReadOnlyList<string>? monitor,
        int threads, string device, CancellationToken cancel, Action<WorkerMessage> send, WorkerInput input, out double seconds)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var watcher = ParentWatcher.Start();
        Console.Error.WriteLine($"worker: fused pack of {pack.Count}: {string.Join(", ", pack.Select(m => m.TrialId))}");
        var members = new List<PackMember>();
        var leaving = new List<LeaveController>();
        var results = new TrialResult?[pack.Count];
        for (var i = 0; i < pack.Count; i++)
        {
            var request = pack[i];
            input.Forget(request.TrialId);
            try
            {
                File.WriteAllText(Path.Combine(request.CheckpointDirectory, FusedMarker), "this trial's checkpoints are written by a fused pack\n");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"{request.TrialId}: could not mark its folder as a pack member's ({e.Message})");
            }
            var controller = new LeaveController(request.TrialId, input.AskedToLeave);
            leaving.Add(controller);
            try
            {
                members.Add(new PackMember(ReadSpec(request, threads, device), Options(request, monitor, request.TrialId, send, controller)));
            }
            catch (Exception e)
            {
                results[i] = new TrialResult { Outcome = TrialOutcome.Failed, Error = $"{e.GetType().Name}: {e.Message}" };
            }
        }
        var runnable = Enumerable.Range(0, pack.Count).Where(i => results[i] is null).ToList();
        try
        {
            var trained = runner is TrialRunner trials
                ? new FusedPackRunner(trials).Run(members, cancel)
                : members.Select(m => runner.Run(m.Spec, m.Options, cancel)).ToList();
            for (var j = 0; j < runnable.Count; j++)
            {
                var i = runnable[j];
                results[i] = leaving[i].Stopped && trained[j].Outcome == TrialOutcome.Completed
                    ? trained[j] with { Outcome = TrialOutcome.Cancelled, Error = "left its pack: the orchestrator asked it to stop", ErrorKind = PackLaunch.LeftErrorKind }
                    : trained[j];
            }
        }
        catch (Exception e)
        {
            foreach (var i in runnable) results[i] ??= new TrialResult { Outcome = TrialOutcome.Failed, Error = $"{e.GetType().Name}: {e.Message}" };
        }
        seconds = clock.Elapsed.TotalSeconds;
        return pack.Select((m, i) => ((string?)m.TrialId, results[i]!)).ToList();
    }

    /// <summary>
    /// A file in a trial's folder once a pack has trained it: its checkpoints hold a pack member's optimiser state
    /// (<see cref="MemberOptimizer"/>), which libtorch's own optimisers cannot load, so the trial resumes in a pack (of one,
    /// when it comes alone) rather than restarting from scratch.
    /// </summary>
    internal const string FusedMarker = "fused-pack";

    /// <summary>Stops a pack member at its epoch's end once the orchestrator has asked it to leave.</summary>
    private sealed class LeaveController(string trialId, Func<string, bool> asked) : ITrainingController
    {
        public bool Stopped { get; private set; }

        public EpochDecision OnEpochEnd(EpochRecord epoch, int totalEpochs)
        {
            if (!asked(trialId)) return EpochDecision.Continue;
            if (!Stopped) Console.Error.WriteLine($"{trialId}: leaves its pack after epoch {epoch.Epoch}: the orchestrator asked it to stop");
            Stopped = true;
            return EpochDecision.StopTrial;
        }
    }

    /// <summary>
    /// The worker's standard input, read by one thread for the worker's life: trial and pack requests queue for the main
    /// loop, leave requests (which come while a pack trains) are noted at once. End of input completes the queue; during a
    /// trial the <see cref="ParentWatcher"/> has already ended the process by then.
    /// </summary>
    private sealed class WorkerInput
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> leave = new();

        public System.Collections.Concurrent.BlockingCollection<WorkerRequest> Requests { get; } = [];

        public WorkerInput(Stream input)
        {
            new Thread(() =>
            {
                using var reader = new StreamReader(input);
                while (reader.ReadLine() is { } line)
                {
                    if (WorkerRequest.TryParse(line) is not { } request) continue;
                    if (request.Leave is { } id) leave[id] = true;
                    else Requests.Add(request);
                }
                Requests.CompleteAdding();
            }) { IsBackground = true, Name = "worker-input" }.Start();
        }

        public bool AskedToLeave(string trialId) => leave.ContainsKey(trialId);

        public void Forget(string trialId) => leave.TryRemove(trialId, out _);
    }

    /// <summary>
    /// Gives back what a finished trial held: managed garbage (its tensors are disposed already; their wrappers and the
    /// data arrays are not) and the C heap's free pages (libtorch's CPU tensors are malloc'ed; glibc keeps freed arenas).
    /// </summary>
    private static void Release()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // Not glibc: its allocator keeps the pages; memory still stays flat, it is just not returned.
        }
    }

    /// <summary>
    /// Resident memory now and the trials run so far, for the memory check of long-lived workers. A trial's provenance carries
    /// the memory it started with (<c>worker_rss_mb</c>: after the previous trials were released) and its ordinal in the
    /// worker (<c>worker_trials</c>): memory after N trials is that of trial N + 1.
    /// </summary>
    private static IReadOnlyDictionary<string, string> Memory(int trials) => new Dictionary<string, string>
    {
        ["worker_trials"] = trials.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["worker_rss_mb"] = (System.Diagnostics.Process.GetCurrentProcess().WorkingSet64 / 1048576.0).ToString("F1", System.Globalization.CultureInfo.InvariantCulture),
        ["worker_pid"] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// While a trial runs, the main thread trains; this watcher ends the process when input closes (the orchestrator died,
    /// even by SIGKILL), so no orphan trains a trial that will be run again. It only polls, so it never swallows a line of
    /// <see cref="WorkerInput"/>'s.
    /// </summary>
    private sealed class ParentWatcher : IDisposable
    {
        private static int started;
        private static volatile bool watching;

        public static ParentWatcher Start()
        {
            watching = true;
            if (Interlocked.Exchange(ref started, 1) == 0)
            {
                new Thread(() =>
                {
                    // Peek without consuming: poll(2) tells whether the pipe was closed (POLLHUP) without reading a byte.
                    while (true)
                    {
                        if (watching && InputClosed())
                        {
                            Console.Error.WriteLine("worker: the orchestrator is gone (standard input closed); exiting");
                            ExitNow(3);
                        }
                        Thread.Sleep(200);
                    }
                }) { IsBackground = true, Name = "parent-watch" }.Start();
            }
            return new ParentWatcher();
        }

        public void Dispose() => watching = false;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd fds, nuint count, int timeout);

    /// <summary>Whether standard input's writer has gone (POLLHUP on the pipe).</summary>
    private static bool InputClosed()
    {
        const short PollHup = 0x010;
        var fd = new PollFd { Fd = 0, Events = 0 };
        return Poll(ref fd, 1, 0) > 0 && (fd.Revents & PollHup) != 0;
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
        ["omp_wait_policy"] = ThreadingEnvironment.Current("OMP_WAIT_POLICY") ?? "",
    };
}
