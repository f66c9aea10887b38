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
using Studies.Orchestrator.Studies;
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
        var repeats = new Option<int>("--repeats") { Description = "Runs of each slot count, interleaved; the best is compared", DefaultValueFactory = _ => 2 };
        var many = new Option<int?>("--many") { Description = "Instead of the quickstart: a study of N one-epoch trials, run with the largest slot count" };
        var command = new Command("orchestrator", "Orchestration overhead per trial and throughput with 1 and 2 worker slots on the quickstart, or --many N short trials")
        {
            study, slots, repeats, many,
        };
        command.SetAction(async (parse, _) =>
        {
            if (parse.GetValue(many) is { } n) return await ManyAsync(n, parse.GetValue(slots)!.Max(), Console.Out);
            var file = parse.GetValue(study)?.FullName ?? Path.GetFullPath(Path.Combine("studies", "quickstart.yaml"));
            if (!File.Exists(file))
            {
                Console.Error.WriteLine($"study file not found: {file} (give one with --study)");
                return 1;
            }
            return await CompareSlotsAsync(file, parse.GetValue(slots)!, Math.Max(1, parse.GetValue(repeats)), Console.Out);
        });
        return command;
    }

    /// <summary>What one run of a study measured.</summary>
    private sealed record Measurement(int Slots, int Trials, double Span, double Wall, double RunSum, double StartupSum, int Workers,
        double WorkerCpu, double OrchestratorCpu, IReadOnlyList<(string Worker, int Trial, double RssMb)> Memory)
    {
        public double Throughput => Trials / Span;
        /// <summary>
        /// Slot time not spent in trials' own work (claims, results, protocol, memory release between trials), per trial.
        /// Each worker's one start-up per run is reported apart: it does not grow with the number of trials.
        /// </summary>
        public double Overhead => (Slots * Span - RunSum - StartupSum) / Trials;
        public double RunMean => RunSum / Trials;
    }

    private static async Task<Measurement> MeasureAsync(string file, int slots)
    {
        var home = Directory.CreateTempSubdirectory("studies-bench-").FullName;
        try
        {
            using var loggers = Logging.CreateFactory();
            await using var services = StudiesServices.ForCommand(StudiesServices.Configuration(home: home), loggers,
                s => s.AddSingleton<IExecutionObserverFactory>(new ConsoleProgressFactory(TerminalOutput.Quiet())));
            var runner = services.GetRequiredService<IStudyRunner>();
            var cpuBefore = CpuSeconds();
            var clock = Stopwatch.StartNew();
            var outcome = await runner.RunAsync(StudyLoader.Load(file), new StudyRunRequest(Workers: slots), CancellationToken.None, CancellationToken.None);
            var wall = clock.Elapsed.TotalSeconds;
            var cpuAfter = CpuSeconds();
            await using var store = await SqliteStudyStorage.OpenAsync(Path.Combine(home, "studies.db"), StoreAccess.ReadOnly);
            var row = (await store.FindStudyAsync(outcome.StudyName))!;
            var trials = (await store.ListTrialsAsync(row.Id)).Where(t => t.InDefinition).ToList();
            var provenance = trials.Select(t => Parse(t.Provenance)).ToList();
            var run = provenance.Select(p => Number(p, "run_seconds")).ToArray();
            // The first trial of each worker waited for it to start: that wait is the worker's start-up.
            var startup = trials.Zip(provenance).Where(x => x.Second.GetValueOrDefault("worker_trials") == "1")
                .Sum(x => (x.First.Seconds ?? 0) - Number(x.Second, "run_seconds"));
            var workers = provenance.Select(p => p.GetValueOrDefault("worker_pid")).Distinct().Count();
            var memory = provenance.Select(p => (p.GetValueOrDefault("worker_pid") ?? "", (int)Number(p, "worker_trials"), Number(p, "worker_rss_mb"))).ToList();
            var span = trials.Max(t => t.FinishedAt ?? 0) - trials.Min(t => t.StartedAt ?? double.MaxValue);
            return new Measurement(slots, trials.Count, span, wall, run.Sum(), startup, workers,
                (cpuAfter.Children - cpuBefore.Children) / trials.Count, (cpuAfter.Self - cpuBefore.Self) / trials.Count, memory);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private static async Task<int> CompareSlotsAsync(string file, int[] slotCounts, int repeats, TextWriter output)
    {
        var all = slotCounts.ToDictionary(s => s, _ => new List<Measurement>());
        // Interleaved (1, 2, 1, 2, ...) so that a noisy neighbour on this shared machine hits both alike.
        for (var r = 0; r < repeats; r++)
        foreach (var slots in slotCounts)
        {
            var m = await MeasureAsync(file, slots);
            all[slots].Add(m);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{slots} slot(s), run {r + 1}: {m.Trials} trials in {m.Span:F1} s ({m.Throughput * 60:F1} trials/min; whole run {m.Wall:F1} s); trial's own run {m.RunMean:F2} s; overhead {m.Overhead:F3} s per trial; {m.Workers} worker process(es), start-up {m.StartupSum / Math.Max(1, m.Workers):F2} s each; CPU per trial: workers {m.WorkerCpu:F2} s, orchestrator {m.OrchestratorCpu:F3} s"));
        }
        var best = all.ToDictionary(kv => kv.Key, kv => kv.Value.MaxBy(m => m.Throughput)!);
        foreach (var (slots, runs) in all)
        {
            var t = runs.Select(m => m.Throughput * 60).ToList();
            var o = runs.Select(m => m.Overhead).ToList();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{slots} slot(s): best {t.Max():F1} trials/min (spread {t.Min():F1}-{t.Max():F1}); overhead per trial {o.Min():F3}-{o.Max():F3} s"));
        }
        var first = best[slotCounts[0]];
        var last = best[slotCounts[^1]];
        var speedup = last.Throughput / first.Throughput;
        var busy = (first.WorkerCpu + first.OrchestratorCpu) * first.Trials / first.Span;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"one slot keeps {busy:F2} cores busy; CPU-bound limit of the speed-up on {Environment.ProcessorCount} cores: {Math.Min(slotCounts[^1], Environment.ProcessorCount) / busy:F2}x"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"overhead per trial: {all[slotCounts[0]].Min(m => m.Overhead):F3} s; {slotCounts[^1]}-slot speed-up: {speedup:F2}x"));
        return 0;
    }

    /// <summary>
    /// <c>--many N</c>: N one-epoch trials of the quickstart, the cost of a study of many short trials (a seed scan). Compares
    /// the total time (worker start-up included) with the sum of the trials' own run times divided by the slots, and shows
    /// each worker's resident memory over its trials.
    /// </summary>
    private static async Task<int> ManyAsync(int count, int slots, TextWriter output)
    {
        var dir = Directory.CreateTempSubdirectory("studies-bench-many-").FullName;
        try
        {
            var file = Path.Combine(dir, "many.yaml");
            await File.WriteAllTextAsync(file, string.Create(CultureInfo.InvariantCulture, $$"""
                # {{count}} one-epoch trials of the quickstart (its data, its plain net, one BCE epoch; seeds 1..{{count}}):
                # a seed scan of short trials, where the orchestrator's cost per trial shows.
                study: bench-many
                {{BenchStudies.QuickstartData}}
                base:
                  model: {kind: dnn, hidden: [16, 8], activation: tanh, balance: none}
                  schedule:
                    - {loss: bce, epochs: 1, optimizer: adam, lr: 3.0e-3, batch: 1024}
                matrix:
                  seed: [{{string.Join(", ", Enumerable.Range(1, count))}}]
                resources: {threads_per_trial: 1}
                """));
            var m = await MeasureAsync(file, slots);
            var ideal = m.RunSum / slots;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{m.Trials} one-epoch trials on {slots} slot(s): {m.Span:F1} s from the first claim to the last result (whole run {m.Wall:F1} s); trials' own run time {m.RunMean:F3} s each, {m.RunSum:F1} s in all, {ideal:F1} s per slot; {m.Workers} worker process(es), start-up {m.StartupSum / Math.Max(1, m.Workers):F2} s each; overhead {m.Overhead:F3} s per trial"));
            // A trial records the memory it started with: after N trials is what trial N + 1 found. A worker's last trial
            // has no "after", so a worker that ran exactly 100 of 200 trials reports after 99.
            var byWorker = m.Memory.GroupBy(x => x.Worker).Select(g => g.ToDictionary(x => x.Trial, x => x.RssMb)).ToList();
            var late = byWorker.Where(w => w.ContainsKey(11)).Select(w => (After: Math.Min(100, w.Keys.Max() - 1), Memory: w)).ToList();
            if (late.Count > 0)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"worker resident memory after 10 trials: {string.Join(", ", late.Select(w => $"{w.Memory[11]:F0} MB"))}"));
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"worker resident memory later: {string.Join(", ", late.Select(w => $"{w.Memory[w.After + 1]:F0} MB after {w.After} trials"))}"));
                var growth = late.Max(w => w.Memory[w.After + 1] - w.Memory[11]);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"resident memory growth from trial 10 to {late.Min(w => w.After)}-{late.Max(w => w.After)}: {growth:F1} MB (target <= 50 MB)"));
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{m.Trials} short trials: {m.Span / ideal:F2}x the trials' own time per slot (target <= 1.2x)"));
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Dictionary<string, string> Parse(string? provenance)
    {
        if (provenance is null) return new();
        try
        {
            using var json = JsonDocument.Parse(provenance);
            return json.RootElement.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String).ToDictionary(p => p.Name, p => p.Value.GetString()!);
        }
        catch (JsonException)
        {
            return new();
        }
    }

    private static double Number(IReadOnlyDictionary<string, string> provenance, string key) =>
        provenance.TryGetValue(key, out var v) && double.TryParse(v, CultureInfo.InvariantCulture, out var d) ? d : double.NaN;
}
