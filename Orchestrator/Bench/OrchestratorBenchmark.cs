using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Spectre.Console;
using Studies.Orchestrator.Cli;
using Studies.Orchestrator.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Orchestrator.Terminal;

namespace Studies.Orchestrator.Bench;

/// <summary>
/// <c>studies bench orchestrator</c>: runs a study (the quickstart by default) in a fresh workspace
/// with 1 and then 2 worker slots. Reports the orchestration overhead per trial (worker process
/// start, runtime and libtorch start-up, protocol, database writes: the orchestrator's wall time
/// per trial minus the trial's own run time as the worker measured it) and the throughput ratio.
/// </summary>
internal static partial class OrchestratorBenchmark
{
    [StructLayout(LayoutKind.Sequential)]
    private struct ResourceUsage
    {
        public long UserSeconds, UserMicroseconds, SystemSeconds, SystemMicroseconds;
        public unsafe fixed long Rest[14];
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetResourceUsage(int who, out ResourceUsage usage);

    /// <summary>CPU seconds of this process and of its finished (reaped) children: the workers.</summary>
    private static (double Self, double Children) CpuSeconds()
    {
        static double Of(ResourceUsage u) => u.UserSeconds + u.SystemSeconds + (u.UserMicroseconds + u.SystemMicroseconds) / 1e6;
        GetResourceUsage(-1, out var children); // RUSAGE_CHILDREN
        return (Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, Of(children));
    }

    public static Command Command()
    {
        var study = new Option<FileInfo>("--study") { Description = "Study file to run (default: studies/quickstart.yaml)" };
        var slots = new Option<int[]>("--slots") { Description = "Worker slot counts to compare", DefaultValueFactory = _ => [1, 2], AllowMultipleArgumentsPerToken = true };
        var command = new Command("orchestrator", "Orchestration overhead per trial and throughput with 1 and 2 worker slots on the quickstart") { study, slots };
        command.SetAction(async (parse, _) =>
        {
            var file = parse.GetValue(study)?.FullName ?? Path.GetFullPath(Path.Combine("studies", "quickstart.yaml"));
            if (!File.Exists(file))
            {
                Console.Error.WriteLine($"study file not found: {file} (give one with --study)");
                return 1;
            }
            return await RunAsync(file, parse.GetValue(slots)!, Console.Out);
        });
        return command;
    }

    private static async Task<int> RunAsync(string file, int[] slotCounts, TextWriter output)
    {
        var throughput = new Dictionary<int, double>();
        double overheadAtOne = double.NaN, runAtOne = double.NaN, busyAtOne = double.NaN;
        foreach (var slots in slotCounts)
        {
            var home = Directory.CreateTempSubdirectory("studies-bench-").FullName;
            try
            {
                using var loggers = Logging.CreateFactory();
                var quiet = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null), Interactive = InteractionSupport.No });
                await using var services = StudiesServices.ForCommand(StudiesServices.Configuration(home: home), loggers,
                    s => s.AddSingleton<IExecutionObserverFactory>(new ConsoleProgressFactory(quiet)));
                var runner = services.GetRequiredService<IStudyRunner>();
                var cpuBefore = CpuSeconds();
                var clock = Stopwatch.StartNew();
                var outcome = await runner.RunAsync(file, new StudyRunRequest(Workers: slots), CancellationToken.None, CancellationToken.None);
                var wall = clock.Elapsed.TotalSeconds;
                var cpuAfter = CpuSeconds();
                await using var store = await SqliteStudyStorage.OpenAsync(Path.Combine(home, "studies.db"), StoreAccess.ReadOnly);
                var row = (await store.FindStudyAsync(outcome.StudyName))!;
                var trials = await store.ListTrialsAsync(row.Id);
                var seconds = trials.Select(t => t.Seconds ?? 0).ToArray();
                var run = trials.Select(t => RunSeconds(t.Provenance)).ToArray();
                var overhead = seconds.Zip(run, (s, r) => s - r).Average();
                // Throughput over the span in which trials ran: the report written at the end is not slot work.
                var span = trials.Max(t => t.FinishedAt ?? 0) - trials.Min(t => t.StartedAt ?? double.MaxValue);
                throughput[slots] = trials.Count / span;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{slots} slot(s): {trials.Count} trials in {span:F1} s ({throughput[slots] * 60:F1} trials/min; whole run with set-up and report {wall:F1} s); per trial: run {run.Average():F2} s, orchestrator wall {seconds.Average():F2} s, overhead {overhead:F2} s ({overhead / run.Average():P1})"));
                var workerCpu = (cpuAfter.Children - cpuBefore.Children) / trials.Count;
                var orchestratorCpu = (cpuAfter.Self - cpuBefore.Self) / trials.Count;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  CPU per trial: worker {workerCpu:F2} s, orchestrator {orchestratorCpu:F2} s; cores busy on average {(workerCpu + orchestratorCpu) * trials.Count / wall:F2} of {Environment.ProcessorCount}"));
                if (slots == slotCounts[0])
                {
                    busyAtOne = (workerCpu + orchestratorCpu) * trials.Count / wall;
                    overheadAtOne = overhead;
                    runAtOne = run.Average();
                }
            }
            finally
            {
                Directory.Delete(home, recursive: true);
            }
        }
        var ratio = slotCounts.Length > 1 ? throughput[slotCounts[^1]] / throughput[slotCounts[0]] : double.NaN;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"orchestrator: overhead {overheadAtOne:F2} s per trial ({overheadAtOne / runAtOne:P1} of a {runAtOne:F2} s trial); throughput {slotCounts[^1]} vs {slotCounts[0]} slot(s): {ratio:F2}x (CPU-bound at {Math.Min(slotCounts[^1], Environment.ProcessorCount) / busyAtOne:F2}x: one slot alone keeps {busyAtOne:F2} cores busy)"));
        return 0;
    }

    private static double RunSeconds(string? provenance)
    {
        if (provenance is null) return double.NaN;
        using var json = JsonDocument.Parse(provenance);
        return json.RootElement.TryGetProperty("run_seconds", out var v) && double.TryParse(v.GetString(), CultureInfo.InvariantCulture, out var s) ? s : double.NaN;
    }
}
