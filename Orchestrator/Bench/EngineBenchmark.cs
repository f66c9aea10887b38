using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Studies.Trials.Engine;

namespace Studies.Orchestrator.Bench;

/// <summary>
/// <c>studies bench engine</c>: epochs of the reference trainings through the binding, and, when
/// Debian's python3-torch is installed, the identical training in PyTorch on the same data and the
/// same libtorch, so the binding's overhead shows as a time ratio. Each case runs several times
/// with the two sides interleaved, and the best times are compared: on a shared machine a single
/// run of each, one after the other, swung the ratio between 0.75 and 1.54.
/// </summary>
internal static class EngineBenchmark
{
    public sealed record Case(string Name, int Events, int Features, int[] Hidden, string Activation, int? Batch,
        string Optimizer, double LearningRate, int Warmup, int Epochs);

    public static readonly Case[] Cases =
    [
        new("4-8-4-1 tanh, full batch", 1_000_000, 4, [8, 4], "tanh", null, "sgd", 1.0, 2, 10),
        new("4-8-4-1 tanh, batch 65536", 1_000_000, 4, [8, 4], "tanh", 65_536, "sgd", 1.0, 1, 4),
        new("28-300-150-100-50-1 relu, batch 1024, Adam", 500_000, 28, [300, 150, 100, 50], "relu", 1024, "adam", 1e-3, 0, 1),
    ];

    /// <summary>
    /// Cheap cases run more often than the minimum. At 2 threads on 2 cores a small net's epoch time is bimodal (the
    /// OpenMP worker's wake-ups are fast or slow for a whole run: 0.25 s or 0.30 s), so the best of 5 runs still moved
    /// the ratio by 6-8 % from one benchmark to the next, depending on whether either side drew a fast run.
    /// </summary>
    private static readonly TimeSpan CaseBudget = TimeSpan.FromSeconds(120);
    private const int MaxRepeats = 24;

    public static int Run(int[] threadCounts, bool quick, int repeats, TextWriter output)
    {
        if (repeats < 1)
        {
            Console.Error.WriteLine($"--repeats must be at least 1 (got {repeats})");
            return 2;
        }
        var blas = Torch.Blas();
        output.WriteLine($"libtorch {Torch.Version}; BLAS: {blas}; " +
            string.Join(", ", ThreadingEnvironment.Defaults.Select(d => $"{d.Name}={ThreadingEnvironment.Current(d.Name)}")) + " (both sides)");
        if (blas.IsReference) output.WriteLine("warning: reference BLAS in use; install libopenblas0-pthread");
        var python = FindPyTorch(out var pythonVersion, out var whyNoPython);
        output.WriteLine(python is null ? $"PyTorch comparison: none ({whyNoPython})" : $"PyTorch comparison: {python} (torch {pythonVersion})");
        var budget = quick ? TimeSpan.Zero : CaseBudget;
        var most = Math.Max(repeats, MaxRepeats);
        output.WriteLine($"each case at least {repeats} time(s) and for at least {budget.TotalSeconds:F0} s (at most {most} times), " +
            "C# and PyTorch interleaved (ABBA order), each run in a fresh process; the best time of each is compared");
        output.WriteLine();

        var cases = quick ? Cases.Select(c => c with { Events = c.Events / 10, Epochs = Math.Max(1, c.Epochs / 2) }).ToArray() : Cases;
        var dir = Directory.CreateTempSubdirectory("studies-bench-");
        var script = Path.Combine(dir.FullName, "engine_bench.py");
        using (var resource = typeof(EngineBenchmark).Assembly.GetManifestResourceStream("engine_bench.py")!)
        using (var file = File.Create(script))
            resource.CopyTo(file);

        var results = new List<Measurement>();
        try
        {
            foreach (var c in cases)
            {
                var (xPath, yPath) = WriteData(c, dir.FullName);
                foreach (var threads in threadCounts)
                {
                    var csharp = new List<double>();
                    var py = new List<double>();
                    // ABBA: a slow spell of the shared machine hits both sides alike, and neither
                    // side always runs first (after the other has warmed or cooled the caches).
                    var arguments = Arguments(c, xPath, yPath, threads);
                    var clock = Stopwatch.StartNew();
                    for (var r = 0; r < most && (r < repeats || clock.Elapsed < budget); r++)
                    {
                        var csharpFirst = r % 2 == 0 || python is null;
                        if (csharpFirst) csharp.Add(TimeCSharp(arguments));
                        if (python is not null) py.Add(TimePython(python, script, arguments, threads));
                        if (!csharpFirst) csharp.Add(TimeCSharp(arguments));
                    }
                    var m = new Measurement(c, threads, csharp, py);
                    results.Add(m);
                    output.WriteLine($"  measured {c.Name}, {threads} thread(s): C# {Seconds(csharp)}" + (py.Count > 0 ? $"; PyTorch {Seconds(py)}" : ""));
                }
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }

        output.WriteLine();
        var header = new[] { "case", "threads", "C# events/s", "PyTorch events/s", "C#/PyTorch time", "median ratio", "C# spread", "PyTorch spread" };
        var table = results.Select(m => new[]
        {
            m.Case.Name, m.Threads.ToString(CultureInfo.InvariantCulture), Rate(m.Case, m.CSharp.Min()),
            m.PyTorch.Count == 0 ? "-" : Rate(m.Case, m.PyTorch.Min()),
            m.Ratio is { } ratio ? ratio.ToString("F3", CultureInfo.InvariantCulture) : "-",
            m.PyTorch.Count == 0 ? "-" : (Median(m.CSharp) / Median(m.PyTorch)).ToString("F3", CultureInfo.InvariantCulture),
            Spread(m.CSharp), m.PyTorch.Count == 0 ? "-" : Spread(m.PyTorch),
        }).ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, table.Max(r => r[i].Length))).ToArray();
        output.WriteLine(string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))));
        foreach (var row in table) output.WriteLine(string.Join("  ", row.Select((v, i) => i == 0 ? v.PadRight(widths[i]) : v.PadLeft(widths[i]))));
        output.WriteLine();
        output.WriteLine("events/s and ratios from the best of each side's runs; median ratio: of the median runs; spread: slowest run / fastest run - 1");
        var ratios = results.Where(m => m.Ratio is not null).Select(m => m.Ratio!.Value).ToList();
        if (ratios.Count > 0)
        {
            var worstSpread = results.SelectMany(m => new[] { SpreadOf(m.CSharp), m.PyTorch.Count > 0 ? SpreadOf(m.PyTorch) : 0 }).Max();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ratios {ratios.Min():F3}-{ratios.Max():F3}; largest run-to-run spread {worstSpread:P0} (a shared machine: compare best times, not single runs)"));
        }
        output.WriteLine(ratios.Count == 0
            ? $"max C#/PyTorch time ratio: not measured ({whyNoPython})"
            : $"max C#/PyTorch time ratio: {ratios.Max().ToString("F3", CultureInfo.InvariantCulture)}");
        return 0;
    }

    /// <summary>Seconds per epoch of every run of one case at one thread count, both sides.</summary>
    private sealed record Measurement(Case Case, int Threads, IReadOnlyList<double> CSharp, IReadOnlyList<double> PyTorch)
    {
        public double? Ratio => PyTorch.Count == 0 ? null : CSharp.Min() / PyTorch.Min();
    }

    private static double Median(IReadOnlyList<double> seconds) => BenchStatistics.Median(seconds);

    private static double SpreadOf(IReadOnlyList<double> seconds) => seconds.Max() / seconds.Min() - 1;

    private static string Spread(IReadOnlyList<double> seconds) =>
        seconds.Count < 2 ? "-" : SpreadOf(seconds).ToString("P1", CultureInfo.InvariantCulture);

    private static string Seconds(IReadOnlyList<double> seconds) =>
        string.Join(" ", seconds.Select(s => s.ToString("F3", CultureInfo.InvariantCulture))) + " s/epoch";

    private static string Rate(Case c, double secondsPerEpoch) =>
        (c.Events / secondsPerEpoch).ToString("N0", CultureInfo.InvariantCulture);

    private static (string X, string Y) WriteData(Case c, string dir)
    {
        using var scope = TensorScope.Begin();
        using var g = new Generator(2024);
        var x = Torch.Randn([c.Events, c.Features], g);
        // A label that depends on the features, so the training has something to learn.
        var y = (x.Narrow(1, 0, 1) + x.Narrow(1, 1, 1).Square() * 0.5).Gt(0.5).To(ScalarType.Float32);
        var xPath = Path.Combine(dir, $"x-{c.Events}-{c.Features}.f32");
        var yPath = Path.Combine(dir, $"y-{c.Events}.f32");
        File.WriteAllBytes(xPath, System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.ToArray<float>().AsSpan()).ToArray());
        File.WriteAllBytes(yPath, System.Runtime.InteropServices.MemoryMarshal.AsBytes(y.ToArray<float>().AsSpan()).ToArray());
        return (xPath, yPath);
    }

    private static float[] ReadFloats(string path)
    {
        var bytes = File.ReadAllBytes(path);
        return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
    }

    /// <summary>
    /// The hidden <c>studies bench engine-run JSON</c>: one run of one case through the binding, in a process of
    /// its own with a worker's runtime settings, as the PyTorch side's is (one long-lived process measured every C# run under the same memory
    /// layout and thread placement, so its runs agreed with each other and not with a fresh process's). Prints
    /// the mean seconds per timed epoch as one JSON line, as engine_bench.py does.
    /// </summary>
    public static int RunSide(string json, TextWriter output)
    {
        var (c, xPath, yPath, threads) = ParseArguments(json);
        Torch.SetNumThreads(threads);
        output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, double> { ["seconds_per_epoch"] = TimeBinding(c, xPath, yPath) }));
        return 0;
    }

    /// <summary>Mean seconds per timed epoch of the training through the binding.</summary>
    private static double TimeBinding(Case c, string xPath, string yPath)
    {
        using var scope = TensorScope.Begin();
        using var g = new Generator(1);
        var x = Torch.Tensor(ReadFloats(xPath), [c.Events, c.Features]);
        var y = Torch.Tensor(ReadFloats(yPath), [c.Events, 1]);
        var widths = new[] { c.Features }.Concat(c.Hidden).Append(1).ToArray();
        using var net = new Sequential();
        for (var i = 0; i < widths.Length - 1; i++)
        {
            net.Add(new Linear(widths[i], widths[i + 1], g));
            if (i < widths.Length - 2) net.Add(c.Activation == "tanh" ? new Tanh() : new ReLU());
        }
        using Optimizer optimizer = c.Optimizer == "sgd" ? new SGD(net.Parameters(), c.LearningRate) : new Adam(net.Parameters(), c.LearningRate);
        var batch = c.Batch ?? c.Events;

        void Epoch()
        {
            using var epoch = TensorScope.Begin();
            var order = Torch.Randperm(c.Events, g);
            for (long start = 0; start < c.Events; start += batch)
            {
                using var step = TensorScope.Begin();
                Tensor xb = x, yb = y;
                if (batch != c.Events)
                {
                    var index = order.Narrow(0, start, Math.Min(batch, c.Events - start));
                    xb = x.IndexSelect(0, index);
                    yb = y.IndexSelect(0, index);
                }
                optimizer.ZeroGrad();
                var loss = Torch.BinaryCrossEntropyWithLogits(net.Forward(xb), yb);
                loss.Backward();
                optimizer.Step();
            }
        }

        for (var i = 0; i < c.Warmup; i++) Epoch();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < c.Epochs; i++) Epoch();
        return clock.Elapsed.TotalSeconds / c.Epochs;
    }

    /// <summary>One case's description, as both sides read it (engine_bench.py and <see cref="RunSide"/>).</summary>
    private static string Arguments(Case c, string xPath, string yPath, int threads) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["threads"] = threads, ["seed"] = 1, ["events"] = c.Events, ["features"] = c.Features, ["hidden"] = c.Hidden,
            ["activation"] = c.Activation, ["batch"] = c.Batch, ["optimizer"] = c.Optimizer, ["lr"] = c.LearningRate,
            ["warmup"] = c.Warmup, ["epochs"] = c.Epochs, ["x_path"] = xPath, ["y_path"] = yPath,
        });

    private static (Case Case, string XPath, string YPath, int Threads) ParseArguments(string json)
    {
        using var document = JsonDocument.Parse(json);
        var a = document.RootElement;
        var batch = a.GetProperty("batch");
        var c = new Case("", a.GetProperty("events").GetInt32(), a.GetProperty("features").GetInt32(),
            a.GetProperty("hidden").EnumerateArray().Select(h => h.GetInt32()).ToArray(), a.GetProperty("activation").GetString()!,
            batch.ValueKind == JsonValueKind.Null ? null : batch.GetInt32(), a.GetProperty("optimizer").GetString()!,
            a.GetProperty("lr").GetDouble(), a.GetProperty("warmup").GetInt32(), a.GetProperty("epochs").GetInt32());
        return (c, a.GetProperty("x_path").GetString()!, a.GetProperty("y_path").GetString()!, a.GetProperty("threads").GetInt32());
    }

    private static double TimeCSharp(string arguments)
    {
        var self = Workers.WorkerCommandLine.Self();
        var start = new ProcessStartInfo(self.FileName);
        foreach (var a in self.PrefixArguments) start.ArgumentList.Add(a);
        start.ArgumentList.Add("bench");
        start.ArgumentList.Add("engine-run");
        start.ArgumentList.Add(arguments);
        foreach (var (name, value) in Workers.WorkerCommandLine.RuntimeSettings) start.Environment[name] = value;
        return TimeProcess(start, "C#");
    }

    private static double TimePython(string python, string script, string arguments, int threads)
    {
        var start = new ProcessStartInfo(python);
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(arguments);
        // The binding sets OpenBLAS's threads with libtorch's; PyTorch does not, so the same count is given here.
        start.Environment["OPENBLAS_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        start.Environment["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        // The same glibc malloc settings the binding applies at start-up (st_init), so the ratio
        // measures the binding's overhead rather than the allocator's page-fault churn.
        start.Environment["MALLOC_TRIM_THRESHOLD_"] = int.MaxValue.ToString(CultureInfo.InvariantCulture);
        start.Environment["MALLOC_MMAP_THRESHOLD_"] = (32 * 1024 * 1024).ToString(CultureInfo.InvariantCulture);
        // And the threading runtimes' settings the binding applies before libtorch loads (ThreadingEnvironment).
        foreach (var (name, _) in ThreadingEnvironment.Defaults) start.Environment[name] = ThreadingEnvironment.Current(name);
        return TimeProcess(start, "PyTorch");
    }

    /// <summary>Runs one side's process and reads the seconds per epoch (or another <paramref name="field"/>) from its last line.</summary>
    internal static double TimeProcess(ProcessStartInfo start, string side, string field = "seconds_per_epoch")
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"the {side} side of the benchmark failed: {stderr.Result}");
        using var json = JsonDocument.Parse(stdout.Trim().Split('\n')[^1]);
        return json.RootElement.GetProperty(field).GetDouble();
    }

    /// <summary>Debian's python3 with torch (the same libtorch as the binding), or null with the reason.</summary>
    private static string? FindPyTorch(out string version, out string why)
    {
        why = "";
        version = "";
        foreach (var python in new[] { "/usr/bin/python3" })
        {
            if (!File.Exists(python)) continue;
            var start = new ProcessStartInfo(python, ["-c", "import torch, numpy; print(torch.__version__)"])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            version = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            if (process.ExitCode == 0) return python;
        }
        why = "python3-torch is not installed; `apt-get install python3-torch` enables it";
        return null;
    }
}
