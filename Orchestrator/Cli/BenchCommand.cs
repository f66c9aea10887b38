using System.CommandLine;
using Studies.Orchestrator.Bench;

namespace Studies.Orchestrator.Cli;

/// <summary><c>studies bench ...</c>: the speed and memory benchmarks. Each ends with one plain headline line.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Run a benchmark; each ends with one line stating its headline figure");

        var threads = new Option<int[]>("--threads")
        {
            Description = "Thread counts to measure (default: 1 and 2)",
            DefaultValueFactory = _ => [1, 2],
            AllowMultipleArgumentsPerToken = true,
        };
        var quick = new Option<bool>("--quick") { Description = "A tenth of the events (a smoke run, not the reported figure)" };
        var repeats = new Option<int>("--repeats") { Description = "Least runs of each case and side, interleaved; cheap cases run for at least 120 s; the best is compared (default: 3)", DefaultValueFactory = _ => 3 };
        var engine = new Command("engine", "Epochs of reference trainings through the binding, against PyTorch on the same libtorch") { threads, quick, repeats };
        engine.SetAction(parse => EngineBenchmark.Run(parse.GetValue(threads)!, parse.GetValue(quick), parse.GetValue(repeats), Console.Out));
        bench.Subcommands.Add(engine);
        var side = new Argument<string>("case") { Description = "The case, as JSON" };
        var engineRun = new Command("engine-run", "One run of one engine case through the binding (what `bench engine` starts)") { side };
        engineRun.Hidden = true;
        engineRun.SetAction(parse => EngineBenchmark.RunSide(parse.GetValue(side)!, Console.Out));
        bench.Subcommands.Add(engineRun);

        var events = new Option<int>("--events") { Description = "Events in the full batch", DefaultValueFactory = _ => 5_000_000 };
        var windows = new Option<int>("--windows") { Description = "Trained masses (signal windows)", DefaultValueFactory = _ => 44 };
        var losses = new Command("losses", "One full-batch Punzi epoch against one full-batch BCE epoch over the same events (target: at most 2x)") { events, windows };
        losses.SetAction(parse =>
        {
            var result = global::Studies.Trials.Losses.LossBenchmark.Run(parse.GetValue(events), parse.GetValue(windows));
            Console.WriteLine(result);
            Console.WriteLine($"Punzi/BCE epoch time ratio: {result.Ratio:F2} (Punzi {result.PunziEpochSeconds:F3} s, BCE {result.BceEpochSeconds:F3} s, {result.Events:N0} events, {result.Windows} windows)");
        });
        bench.Subcommands.Add(losses);

        var rows = new Option<int>("--rows") { Description = "Rows of the generated HEPMASS-format file", DefaultValueFactory = _ => 1_000_000 };
        var formats = new Option<string[]>("--format")
        {
            Description = "Formats to load, interleaved: csv, feather, parquet (default: all three)",
            DefaultValueFactory = _ => global::Studies.Trials.Data.FormatBenchmark.Formats,
            AllowMultipleArgumentsPerToken = true,
        };
        formats.AcceptOnlyFromAmong(global::Studies.Trials.Data.FormatBenchmark.Formats);
        var loads = new Option<int>("--repeats") { Description = "Loads of each format", DefaultValueFactory = _ => 3 };
        var data = new Command("data", "Load the same HEPMASS-shaped rows from CSV, Feather and Parquet (targets: 1,000,000 CSV rows in under 10 s; Parquet at least 5x faster than CSV)") { rows, formats, loads };
        data.SetAction(parse => global::Studies.Trials.Data.FormatBenchmark.Run(parse.GetValue(rows), parse.GetValue(formats)!, parse.GetValue(loads), Console.Out));
        bench.Subcommands.Add(data);

        var report = new Command("report", "Generate a report over 1,000 trials x 50 masses x 100 epochs and open it in headless Chromium (targets: 10 s, first chart in 3 s)");
        report.SetAction(_ => global::Studies.Reports.ReportBenchmark.Run(Console.Out));
        bench.Subcommands.Add(report);

        bench.Subcommands.Add(OrchestratorBenchmark.Command());
        bench.Subcommands.Add(PackingBenchmark.Command());
        bench.Subcommands.Add(ClusterBenchmark.Command());
        bench.Subcommands.Add(BdtBenchmark.Command());
        bench.Subcommands.Add(EtaBenchmark.Command());
        bench.Subcommands.Add(SearchBenchmark.Command());
        bench.Subcommands.Add(FusionBenchmark.Command());

        var keep = new Option<DirectoryInfo?>("--keep") { Description = "Record the synthetic study in this folder and keep it; a later run reuses it (default: a temporary folder)" };
        var dashboard = new Command("dashboard", "Memory of serve --dashboard with a 1,000-trial study open, and the page's first paint in headless Chromium (targets: 300 MB, 2 s)") { keep };
        dashboard.SetAction((parse, _) => global::Studies.Orchestrator.Dashboard.DashboardBenchmark.RunAsync(Console.Out, parse.GetValue(keep)?.FullName));
        bench.Subcommands.Add(dashboard);
        return bench;
    }
}
