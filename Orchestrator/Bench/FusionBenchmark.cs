using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Studies.Trials.Catalog;
using Studies.Trials.Data;
using Studies.Trials.Engine;
using Studies.Trials.Fusion;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Bench;

/// <summary>
/// <c>studies bench fusion</c>: a seed x learning-rate scan of quickstart-sized trials (the quickstart's data,
/// a 16-8 tanh dnn, BCE with Adam, batch 1,024) trained as fused packs of 1, 4, 16 and 32 members and one
/// trial at a time on each of two slots, and as the same scan in PyTorch driven by Optuna's grid sampler
/// (Debian's python3-torch and python3-optuna; fusion_bench.py: two processes sharing an SQLite storage, the
/// identical net, initialisation scheme, optimiser, batches and validation, each seed's split and weights
/// handed over as CSV), interleaved and repeated; the best rate of each way is compared. The C# ways run in
/// this process on two threads (one per core), so the orchestrator's per-trial cost (0.009 s,
/// <c>studies bench orchestrator</c>) is left out of them; the PyTorch side's process start and imports count.
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
        var packs = new Option<int[]>("--packs") { Description = "Pack sizes of the fused way", DefaultValueFactory = _ => PackSizes, AllowMultipleArgumentsPerToken = true };
        var only = new Option<bool>("--fused-only") { Description = "Time only the fused way (no headline): where a pack's time goes" };
        var libtorch = new Option<int[]>("--libtorch-packs") { Description = "Also time packs of these sizes stepped through libtorch calls instead of the native CPU step", AllowMultipleArgumentsPerToken = true };
        var command = new Command("fusion", "A seed x learning-rate scan trained as fused packs and one trial per slot (2 slots), interleaved (target: fused >= 4x)")
            { seeds, rates, epochs, repeats, device, packs, only, libtorch };
        command.SetAction(parse => Run(new Settings(parse.GetValue(seeds), parse.GetValue(rates), parse.GetValue(epochs), parse.GetValue(repeats), parse.GetValue(device)!,
            parse.GetValue(packs)!, parse.GetValue(only), parse.GetValue(libtorch) ?? []), Console.Out));
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

    private sealed record Settings(int Seeds, int Rates, int Epochs, int Repeats, string Device, int[] PackSizes, bool FusedOnly, int[] LibtorchPacks);

    private static int Run(Settings settings, TextWriter output)
    {
        var (seeds, rates, epochs, repeats, device, fusedOnly) = (settings.Seeds, settings.Rates, settings.Epochs, settings.Repeats, settings.Device, settings.FusedOnly);
        var specs = Scan(seeds, rates, epochs, device);
        var sizes = settings.PackSizes.Where(k => k <= specs.Count).ToArray();
        var profiles = sizes.ToDictionary(k => k, _ => new PackProfile());
        output.WriteLine($"{specs.Count} trials ({seeds} seeds x {rates} learning rates), {epochs} epochs each, on {device}; load average {LoadAverage()}");
        output.WriteLine($"ways: unfused (one trial at a time per slot, 2 slots) and fused packs of {string.Join(", ", sizes)} (one pack at a time per slot, 2 slots); {repeats} rounds, interleaved");
        output.WriteLine($"fused step on {device}: {(Device.Parse(device).Type == DeviceType.CPU ? "native CPU kernel (libtorch-stepped: the same packs through libtorch calls)" : "libtorch calls")}");
        var runner = TrialRunner.For(ComponentCatalog.BuiltIn);
        // The data of each seed is generated once before timing (both ways load it per trial afterwards).
        Time(() => Slots(specs.Take(1).Select(s => s with { Schedule = [s.Schedule[0] with { Epochs = 1 }] }).ToList(), spec => Completed(runner.Run(spec, new TrialRunOptions(), CancellationToken.None))));
        var rounds = new Dictionary<string, List<double>>();
        var folder = Directory.CreateTempSubdirectory("studies-fusion-bench-");
        var python = fusedOnly ? null : PythonSide.Prepare(specs, folder.FullName, output);
        for (var round = 0; round < repeats; round++)
        {
            if (python is not null) Record(rounds, "PyTorch+Optuna", python.Run(round), python.LastCompleted, output);
            if (!fusedOnly) Record(rounds, "unfused", Time(() => Slots(specs, spec => Completed(runner.Run(spec, new TrialRunOptions(), CancellationToken.None)))), specs.Count, output);
            foreach (var (k, native) in sizes.Select(k => (k, true)).Concat(settings.LibtorchPacks.Where(k => k <= specs.Count).Select(k => (k, false))))
            {
                var packs = specs.Chunk(k).ToList();
                Record(rounds, native ? $"fused, packs of {k}" : $"libtorch-stepped, packs of {k}", Time(() => Slots(packs, pack =>
                {
                    var fused = new FusedPackRunner(runner) { NativeKernel = native };
                    foreach (var r in fused.Run(pack.Select(s => new PackMember(s, new TrialRunOptions())).ToList(), CancellationToken.None)) Completed(r);
                    if (native) profiles[k].AddFrom(fused.Profile);
                })), specs.Count, output);
            }
        }
        output.WriteLine();
        output.WriteLine($"{"way",-22} {"best trials/min",16} {"spread",10}");
        foreach (var (way, rates_) in rounds) output.WriteLine($"{way,-22} {rates_.Max(),16:F1} {rates_.Max() - rates_.Min(),10:F1}");
        output.WriteLine();
        output.WriteLine("where a fused pack's time went (seconds per trial, all rounds; both slots' threads summed):");
        foreach (var section in profiles.Values.SelectMany(p => p.Seconds.Keys).Distinct())
            output.WriteLine($"  {section,-36} {string.Join(" ", sizes.Select(k => $"{k,3}: {profiles[k].Seconds.GetValueOrDefault(section) / (specs.Count * repeats),7:F4}"))}");
        if (fusedOnly)
        {
            folder.Delete(recursive: true);
            return 0;
        }
        var unfused = rounds["unfused"].Max();
        var (bestWay, bestRate) = rounds.Where(r => r.Key.StartsWith("fused, packs", StringComparison.Ordinal)).Select(r => (r.Key, r.Value.Max())).MaxBy(r => r.Item2);
        var versus = rounds.TryGetValue("PyTorch+Optuna", out var py) ? $"{bestRate / py.Max():F1}x over PyTorch+Optuna" : "PyTorch+Optuna not measured (python3-torch or python3-optuna missing)";
        folder.Delete(recursive: true);
        output.WriteLine($"fused: {bestRate / unfused:F1}x over unfused, {versus} ({bestWay}, best of {repeats} at load {LoadAverage()})");
        return 0;
    }

    private static void Record(Dictionary<string, List<double>> rounds, string way, double seconds, int trials, TextWriter output)
    {
        var rate = trials / (seconds / 60);
        if (!rounds.TryGetValue(way, out var list)) rounds[way] = list = [];
        list.Add(rate);
        output.WriteLine($"  {way}: {seconds:F1} s, {rate:F1} trials/min ({trials} trials)");
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

    /// <summary>The PyTorch + Optuna way: each seed's events written once, then the scan in two Python processes per round.</summary>
    private sealed class PythonSide(string python, string script, string folder, IReadOnlyList<TrialSpec> specs)
    {
        public int LastCompleted { get; private set; }

        public static PythonSide? Prepare(IReadOnlyList<TrialSpec> specs, string folder, TextWriter output)
        {
            const string python = "/usr/bin/python3";
            if (!File.Exists(python) || Exec(python, ["-c", "import torch, optuna, numpy"], out _) != 0)
            {
                output.WriteLine("PyTorch+Optuna: not found (apt-get install python3-torch python3-optuna)");
                return null;
            }
            var script = Path.Combine(folder, "fusion_bench.py");
            using (var resource = typeof(FusionBenchmark).Assembly.GetManifestResourceStream("fusion_bench.py")!)
            using (var file = File.Create(script))
                resource.CopyTo(file);
            foreach (var spec in specs.DistinctBy(s => s.Seed)) Export(spec, folder);
            return new PythonSide(python, script, folder, specs);
        }

        /// <summary>Seconds for the whole scan: two processes on one storage, each taking grid points until none is left.</summary>
        public double Run(int round)
        {
            var storage = $"sqlite:///{Path.Combine(folder, $"optuna-{round}.db")}";
            var name = $"fusion-{round}";
            var clock = Stopwatch.StartNew();
            if (Exec(python, ["-c", $"import optuna; optuna.create_study(study_name='{name}', storage='{storage}')"], out var error) != 0)
                throw new InvalidOperationException($"optuna: {error}");
            var seeds = string.Join(",", specs.Select(s => s.Seed).Distinct());
            var lrs = string.Join(",", specs.Select(s => s.Schedule[0].LearningRate.ToString("R", CultureInfo.InvariantCulture)).Distinct());
            var epochs = specs[0].Schedule[0].Epochs.ToString(CultureInfo.InvariantCulture);
            var workers = Enumerable.Range(0, 2).Select(_ => Task.Run(() => Exec(python, [script, folder, storage, name, seeds, lrs, epochs], out var e) == 0 ? "" : e)).ToArray();
            Task.WaitAll(workers);
            var seconds = clock.Elapsed.TotalSeconds;
            if (workers.FirstOrDefault(w => w.Result.Length > 0) is { } failed) throw new InvalidOperationException($"fusion_bench.py: {failed.Result}");
            // Two processes on one grid sampler can both take a point (Optuna 3.1 saw 6 trials for a 4-point grid): the
            // duplicates are work that way does, but only distinct grid points count as trials of the scan.
            Exec(python, ["-c", $"import optuna; s = optuna.load_study(study_name='{name}', storage='{storage}'); "
                + "print(len({(t.params['seed'], t.params['lr']) for t in s.trials if t.state.name == 'COMPLETE'}))"], out var count);
            LastCompleted = int.Parse(count.Trim(), CultureInfo.InvariantCulture);
            return seconds;
        }

        /// <summary>The seed's standardised events as the C# trial sees them: features, label, BCE weight, mass (test: NaN for background).</summary>
        private static void Export(TrialSpec spec, string folder)
        {
            using var scope = TensorScope.Begin();
            var loaded = new TrialDataProvider().Load(spec.Data, spec.Seed);
            var train = loaded.Train.Where(i => !loaded.IsHeldoutSignal(i)).ToArray();
            var selection = loaded.Validation.Where(i => !loaded.IsHeldoutSignal(i)).ToArray();
            var inputs = InputStandardization.For(spec.Model, loaded, train, spec.Data.MassScale ?? loaded.AllMasses.Max(Math.Abs));
            var data = inputs.Apply(loaded);
            foreach (var (part, events) in new[] { ("train", train), ("selection", selection) })
            {
                using var set = new TrainingSet(data, events, inputs.Mass, Device.CPU);
                using var bce = new BceLoss(set, balancedBatches: false);
                Write(Path.Combine(folder, $"seed{spec.Seed}_{part}.csv"), data, events, k => bce.EventWeights[k]);
            }
            Write(Path.Combine(folder, $"seed{spec.Seed}_test.csv"), data, data.Test, k => data.Weight[data.Test[k]]);
        }

        private static void Write(string path, TrialData data, long[] events, Func<int, double> weight)
        {
            var d = data.FeatureCount;
            var text = new StringBuilder(string.Join(",", Enumerable.Range(0, d).Select(j => $"f{j}").Append("label").Append("weight").Append("mass"))).Append('\n');
            for (var k = 0; k < events.Length; k++)
            {
                var i = events[k];
                for (var j = 0; j < d; j++) text.Append(data.Features[i * d + j].ToString("R", CultureInfo.InvariantCulture)).Append(',');
                var mass = data.IsSignal[i] ? data.Mass[i] : double.NaN;
                text.Append(data.IsSignal[i] ? '1' : '0').Append(',').Append(weight(k).ToString("R", CultureInfo.InvariantCulture)).Append(',')
                    .Append(double.IsNaN(mass) ? "nan" : mass.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            }
            File.WriteAllText(path, text.ToString());
        }

        private static int Exec(string file, string[] arguments, out string text)
        {
            var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            text = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0) text = stderr.Result.Trim().Split('\n').LastOrDefault() ?? "";
            return process.ExitCode;
        }
    }
}
