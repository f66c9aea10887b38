using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Studies.Trials.Components;
using Studies.Trials.Fusion;
using Studies.Trials.Results;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Bench;

/// <summary>
/// <c>studies bench fusion</c>: a seed x learning-rate scan of quickstart-sized trials (the quickstart's data,
/// a 16-8 tanh dnn, BCE with Adam, batch 1,024) trained as fused packs of 1, 4, 16 and 32 members and one
/// trial at a time on each of two slots, interleaved and repeated; the best rate of each way is compared.
/// Both ways run in this process on two threads (one per core), so the orchestrator's per-trial cost
/// (0.009 s, <c>studies bench orchestrator</c>) is left out of both.
/// </summary>
internal static class FusionBenchmark
{
    private static readonly int[] PackSizes = [1, 4, 16, 32, 64];

    public static Command Command()
    {
        var seeds = new Option<int>("--seeds") { Description = "Seeds of the scan", DefaultValueFactory = _ => 4 };
        var rates = new Option<int>("--learning-rates") { Description = "Learning rates of the scan (log-spaced, 1e-3 to 1e-2)", DefaultValueFactory = _ => 8 };
        var epochs = new Option<int>("--epochs") { Description = "Epochs per trial (the quickstart's: 40)", DefaultValueFactory = _ => 40 };
        var repeats = new Option<int>("--repeats") { Description = "Runs of each way, interleaved; the best is compared", DefaultValueFactory = _ => 2 };
        var device = new Option<string>("--device") { Description = "Device of every trial (cpu, cuda:0)", DefaultValueFactory = _ => "cpu" };
        var command = new Command("fusion", "A seed x learning-rate scan trained as fused packs and one trial per slot (2 slots), interleaved (target: fused >= 4x)")
            { seeds, rates, epochs, repeats, device };
        command.SetAction(parse => Run(parse.GetValue(seeds), parse.GetValue(rates), parse.GetValue(epochs), parse.GetValue(repeats), parse.GetValue(device)!, Console.Out));
        return command;
    }

    internal static IReadOnlyList<TrialSpec> Scan(int seeds, int rates, int epochs, string device) =>
        [.. from s in Enumerable.Range(1, seeds)
            from r in Enumerable.Range(0, rates)
            select new TrialSpec
            {
                Data = new DataSpec
                {
                    Source = "recoil-toy",
                    Options = JsonNode.Parse("""{"masses": {"from": 0.5, "to": 8.5, "step": 1}, "signal_per_mass": 4000, "background_events": 40000}""")!.AsObject(),
                    Holdout = HoldoutSpec.EverySecond,
                    Split = new SplitSpec(0.4, 0.2, 0.4),
                },
                Model = new ModelSpec { Kind = "dnn", Hidden = [16, 8], Activation = "tanh", Balance = "none" },
                Schedule = [new PhaseSpec { Loss = "bce", Epochs = epochs, Optimizer = "adam", LearningRate = 1e-3 * Math.Pow(10, rates == 1 ? 0 : (double)r / (rates - 1)), Batch = 1024 }],
                Evaluation = new EvaluationSpec { ValidationEvery = 5 },
                Seed = (ulong)s,
                Device = device,
            }];

    private static int Run(int seeds, int rates, int epochs, int repeats, string device, TextWriter output)
    {
        var specs = Scan(seeds, rates, epochs, device);
        var sizes = PackSizes.Where(k => k <= specs.Count).ToArray();
        output.WriteLine($"{specs.Count} trials ({seeds} seeds x {rates} learning rates), {epochs} epochs each, on {device}; load average {LoadAverage()}");
        output.WriteLine($"ways: unfused (one trial at a time per slot, 2 slots) and fused packs of {string.Join(", ", sizes)} (one pack at a time per slot, 2 slots); {repeats} rounds, interleaved");
        var runner = TrialRunner.For(ComponentCatalog.BuiltIn);
        // The data of each seed is generated once before timing (both ways load it per trial afterwards).
        Time(() => Slots(specs.Take(1).Select(s => s with { Schedule = [s.Schedule[0] with { Epochs = 1 }] }).ToList(), spec => Completed(runner.Run(spec, new TrialRunOptions(), CancellationToken.None))));
        var rounds = new Dictionary<string, List<double>>();
        for (var round = 0; round < repeats; round++)
        {
            Record(rounds, "unfused", Time(() => Slots(specs, spec => Completed(runner.Run(spec, new TrialRunOptions(), CancellationToken.None)))), specs.Count, output);
            foreach (var k in sizes)
            {
                var packs = specs.Chunk(k).ToList();
                Record(rounds, $"fused, packs of {k}", Time(() => Slots(packs, pack =>
                {
                    foreach (var r in new FusedPackRunner(runner).Run(pack.Select(s => new PackMember(s, new TrialRunOptions())).ToList(), CancellationToken.None)) Completed(r);
                })), specs.Count, output);
            }
        }
        output.WriteLine();
        output.WriteLine($"{"way",-22} {"best trials/min",16} {"spread",10}");
        foreach (var (way, rates_) in rounds) output.WriteLine($"{way,-22} {rates_.Max(),16:F1} {rates_.Max() - rates_.Min(),10:F1}");
        var unfused = rounds["unfused"].Max();
        var (bestWay, bestRate) = rounds.Where(r => r.Key != "unfused").Select(r => (r.Key, r.Value.Max())).MaxBy(r => r.Item2);
        output.WriteLine($"fused: {bestRate / unfused:F1}x over unfused ({bestWay}; PyTorch+Optuna: not measured by this benchmark yet)");
        return 0;
    }

    private static void Record(Dictionary<string, List<double>> rounds, string way, double seconds, int trials, TextWriter output)
    {
        var rate = trials / (seconds / 60);
        if (!rounds.TryGetValue(way, out var list)) rounds[way] = list = [];
        list.Add(rate);
        output.WriteLine($"  {way}: {seconds:F1} s, {rate:F1} trials/min");
    }

    private static void Completed(TrialResult r)
    {
        if (r.Outcome != TrialOutcome.Completed) throw new InvalidOperationException($"a benchmark trial ended {r.Outcome}: {r.Error}");
    }

    /// <summary>Runs the items on two slots (threads), each taking the next item when it is free.</summary>
    private static void Slots<T>(IReadOnlyList<T> items, Action<T> work)
    {
        var next = -1;
        var threads = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            for (var i = Interlocked.Increment(ref next); i < items.Count; i = Interlocked.Increment(ref next)) work(items[i]);
        }, 64 << 20)).ToList();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
    }

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "unknown"; }
    }
}
