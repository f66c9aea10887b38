using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Studies.Trials.Boosting;
using Studies.Trials.Data;
using Studies.Trials.Engine;
using Studies.Trials.Metrics;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Bench;

/// <summary>
/// <c>studies bench bdt</c>: the parametric BDT's fit (LightGBM through ML.NET, <see cref="LightGbmFit"/>) against
/// XGBoost's hist method (Debian's python3-xgboost) on the same training events, weights and settings (trees, depth,
/// learning rate, bins, threads), on the recoil toy and the HEPMASS-like toy: test AUC and training time of each,
/// interleaved and repeated, best times compared, spread printed.
/// </summary>
internal static class BdtBenchmark
{
    private sealed record Case(string Name, string Source, JsonObject Options);

    private static readonly Case[] Cases =
    [
        new("recoil toy", "recoil-toy", new JsonObject()),
        new("HEPMASS-like toy", "hepmass-toy", new JsonObject()),
    ];

    public static Command Command()
    {
        var threads = new Option<int>("--threads") { Description = "Threads of both sides (default: 2)", DefaultValueFactory = _ => 2 };
        var repeats = new Option<int>("--repeats") { Description = "Fits of each side per case, interleaved (default: 5)", DefaultValueFactory = _ => 5 };
        var trees = new Option<int>("--trees") { Description = "Boosting rounds (default: 200)", DefaultValueFactory = _ => 200 };
        var depth = new Option<int>("--depth") { Description = "Tree depth (default: 6)", DefaultValueFactory = _ => 6 };
        var command = new Command("bdt", "The bdt model's fit against XGBoost (hist) on the same events and settings: test AUC and training time (targets: AUC difference >= -0.003, time ratio <= 1.5)")
            { threads, repeats, trees, depth };
        command.SetAction(parse => Run(parse.GetValue(threads), parse.GetValue(repeats),
            new BoostingSpec { Trees = parse.GetValue(trees), Depth = parse.GetValue(depth) }, Console.Out));
        return command;
    }

    public static int Run(int threads, int repeats, BoostingSpec boosting, TextWriter output)
    {
        if (repeats < 1 || threads < 1)
        {
            Console.Error.WriteLine("--repeats and --threads must be at least 1");
            return 1;
        }
        Torch.SetNumThreads(threads); // puts OMP_WAIT_POLICY in place before LightGBM's libgomp starts
        const string python = "/usr/bin/python3";
        if (!PythonHasXgboost(python, out var version))
        {
            Console.Error.WriteLine("python3-xgboost is not installed; `apt-get install python3-xgboost` enables the comparison");
            return 1;
        }
        output.WriteLine($"bdt: LightGBM (Microsoft.ML.LightGbm {Version(typeof(Microsoft.ML.Trainers.LightGbm.LightGbmBinaryTrainer))}) against XGBoost {version} (hist, depthwise); "
            + $"{boosting.Trees} trees, depth {boosting.Depth} ({boosting.LeafCount} leaves), learning rate {OptionSpec(boosting.LearningRate)}, {boosting.Bins} bins, "
            + $"{threads} threads, min_events_per_leaf {boosting.MinEventsPerLeaf} (ours; XGBoost has min_child_weight 1 as ours), L2 1 on both; "
            + $"{string.Join(", ", ThreadingEnvironment.Defaults.Select(d => $"{d.Name}={ThreadingEnvironment.Current(d.Name)}"))} (both sides)");
        output.WriteLine($"each case: {repeats} fits per side, interleaved (ABBA); training time = data view/DMatrix + boosting; best time compared");
        output.WriteLine();
        var dir = Directory.CreateTempSubdirectory("studies-bench-bdt-");
        var script = Path.Combine(dir.FullName, "bdt_bench.py");
        using (var resource = typeof(BdtBenchmark).Assembly.GetManifestResourceStream("bdt_bench.py")!)
        using (var file = File.Create(script))
            resource.CopyTo(file);
        var worstAuc = double.PositiveInfinity;
        var worstRatio = 0.0;
        try
        {
            output.WriteLine($"{"case",-18} {"events",9} {"side",-8} {"test AUC",9} {"best s",8} {"median s",9} {"spread",8}");
            foreach (var c in Cases)
            {
                var set = Prepare(c, threads);
                var paths = Write(set, dir.FullName);
                // One warm-up fit (JIT, first load of lib_lightgbm), not counted.
                LightGbmFit.Fit(set.Train, set.Columns, set.Labels, set.Weights, boosting with { Trees = 2 }, threads, 1, CancellationToken.None);
                var ours = new List<double>();
                var theirs = new List<double>();
                double[]? ourMargins = null, theirMargins = null;
                for (var r = 0; r < repeats; r++)
                {
                    // ABBA: ours first on even repeats, theirs first on odd ones.
                    foreach (var side in r % 2 == 0 ? new[] { 0, 1 } : [1, 0])
                    {
                        if (side == 0)
                        {
                            var clock = Stopwatch.StartNew();
                            var ensemble = LightGbmFit.Fit(set.Train, set.Columns, set.Labels, set.Weights, boosting, threads, 1, CancellationToken.None);
                            ours.Add(clock.Elapsed.TotalSeconds);
                            ourMargins ??= Enumerable.Range(0, set.TestLabels.Length)
                                .Select(i => ensemble.Score(set.Test.AsSpan(i * set.Columns, set.Columns), -1, 0, int.MaxValue)).ToArray();
                        }
                        else
                        {
                            theirs.Add(RunXgboost(python, script, paths, set.Columns, boosting, threads));
                            theirMargins ??= ReadDoubles(paths.Margins);
                        }
                    }
                }
                var ourAuc = Auc(ourMargins!, set.TestLabels);
                var theirAuc = Auc(theirMargins!, set.TestLabels);
                output.WriteLine(Line(c.Name, set.Labels.Length, "Studies", ourAuc, ours));
                output.WriteLine(Line("", set.Labels.Length, "XGBoost", theirAuc, theirs));
                var d = ourAuc - theirAuc;
                var t = ours.Min() / theirs.Min();
                output.WriteLine($"{"",-18} AUC difference {d:+0.0000;-0.0000}; time ratio {t:F2} (median-run ratio {Median(ours) / Median(theirs):F2})");
                worstAuc = Math.Min(worstAuc, d);
                worstRatio = Math.Max(worstRatio, t);
            }
        }
        finally
        {
            try { dir.Delete(recursive: true); } catch (IOException) { }
        }
        output.WriteLine();
        output.WriteLine($"bdt vs XGBoost: AUC difference {worstAuc:+0.0000;-0.0000}; time ratio {worstRatio:F2} (worst case of {Cases.Length}; {threads} threads)");
        return 0;
    }

    private static string? Version(Type type) =>
        type.Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion.Split('+')[0];

    private static string OptionSpec(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Line(string name, int events, string side, double auc, List<double> seconds) =>
        $"{name,-18} {events,9:N0} {side,-8} {auc,9:F4} {seconds.Min(),8:F2} {Median(seconds),9:F2} {(seconds.Max() - seconds.Min()) / seconds.Min(),7:P0}";

    private static double Median(List<double> v) => BenchStatistics.Median(v);

    private static double Auc(double[] scores, bool[] labels) => RankingMetrics.RocAuc(CutScan.Build(MassSample.Unweighted(scores, labels)));

    private sealed record Prepared(float[] Train, int Columns, bool[] Labels, float[] Weights, float[] Test, bool[] TestLabels);

    /// <summary>
    /// The parametric bdt's training input as a trial builds it (<see cref="BdtTrainer.FitInputs"/>): the training split
    /// standardised, background masses drawn from the trained masses, BCE's cross-section weights normalised to mean 1;
    /// the test split the same way (each background event at one drawn mass), scored unweighted.
    /// </summary>
    private static Prepared Prepare(Case c, int threads)
    {
        var spec = new DataSpec { Source = c.Source, Options = c.Options };
        var loaded = new TrialDataProvider().Load(spec, 1);
        var inputs = InputStandardization.Fit(loaded, loaded.Train, loaded.AllMasses.Max(Math.Abs));
        var data = inputs.Apply(loaded);
        using var generator = new Generator(1);
        (float[] X, int Columns, bool[] Y, float[] W) Inputs(long[] events)
        {
            using var set = new TrainingSet(data, events, inputs.Mass, Device.CPU);
            set.AssignBackgroundMasses("identical", generator);
            using var loss = new BceLoss(set, balancedBatches: false);
            return BdtTrainer.FitInputs(set, loss.EventWeights, new int[set.Count], 0, perMass: false);
        }
        var train = Inputs(data.Train);
        var test = Inputs(data.Test);
        return new Prepared(train.X, train.Columns, train.Y, train.W, test.X, test.Y);
    }

    private sealed record Paths(string X, string Y, string W, string Test, string Margins);

    private static Paths Write(Prepared set, string dir)
    {
        var paths = new Paths(Path.Combine(dir, "x_train.f32"), Path.Combine(dir, "y_train.u8"), Path.Combine(dir, "w_train.f32"),
            Path.Combine(dir, "x_test.f32"), Path.Combine(dir, "margins.f64"));
        File.WriteAllBytes(paths.X, System.Runtime.InteropServices.MemoryMarshal.AsBytes(set.Train.AsSpan()).ToArray());
        File.WriteAllBytes(paths.Y, set.Labels.Select(l => l ? (byte)1 : (byte)0).ToArray());
        File.WriteAllBytes(paths.W, System.Runtime.InteropServices.MemoryMarshal.AsBytes(set.Weights.AsSpan()).ToArray());
        File.WriteAllBytes(paths.Test, System.Runtime.InteropServices.MemoryMarshal.AsBytes(set.Test.AsSpan()).ToArray());
        return paths;
    }

    private static double[] ReadDoubles(string path) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(path)).ToArray();

    private static double RunXgboost(string python, string script, Paths paths, int columns, BoostingSpec boosting, int threads)
    {
        var arguments = new JsonObject
        {
            ["x_train"] = paths.X, ["y_train"] = paths.Y, ["w_train"] = paths.W, ["x_test"] = paths.Test, ["out"] = paths.Margins,
            ["columns"] = columns, ["trees"] = boosting.Trees, ["depth"] = boosting.Depth, ["learning_rate"] = boosting.LearningRate,
            ["bins"] = boosting.Bins, ["threads"] = threads,
        };
        var start = new ProcessStartInfo(python);
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(arguments.ToJsonString());
        start.Environment["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        foreach (var (name, _) in ThreadingEnvironment.Defaults) start.Environment[name] = ThreadingEnvironment.Current(name);
        return EngineBenchmark.TimeProcess(start, "XGBoost", "seconds");
    }

    private static bool PythonHasXgboost(string python, out string version)
    {
        version = "";
        if (!File.Exists(python)) return false;
        var start = new ProcessStartInfo(python, ["-c", "import xgboost, numpy; print(xgboost.__version__)"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        version = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return process.ExitCode == 0;
    }
}
