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
        var engine = new Command("engine", "Epochs of reference trainings through the binding, against PyTorch on the same libtorch") { threads, quick };
        engine.SetAction(parse => EngineBenchmark.Run(parse.GetValue(threads)!, parse.GetValue(quick), Console.Out));
        bench.Subcommands.Add(engine);

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
        var data = new Command("data", "Load a generated HEPMASS-format CSV (target: 1,000,000 rows in under 10 s)") { rows };
        data.SetAction(parse => global::Studies.Trials.Data.LoaderBenchmark.Run(parse.GetValue(rows), Console.Out));
        bench.Subcommands.Add(data);

        var report = new Command("report", "Generate a report over 1,000 trials x 50 masses x 100 epochs and open it in headless Chromium (targets: 10 s, first chart in 3 s)");
        report.SetAction(_ => global::Studies.Reports.ReportBenchmark.Run(Console.Out));
        bench.Subcommands.Add(report);

        bench.Subcommands.Add(OrchestratorBenchmark.Command());

        var keep = new Option<DirectoryInfo?>("--keep") { Description = "Record the synthetic study in this folder and keep it; a later run reuses it (default: a temporary folder)" };
        var dashboard = new Command("dashboard", "Memory of serve --dashboard with a 1,000-trial study open, and the page's first paint in headless Chromium (targets: 300 MB, 2 s)") { keep };
        dashboard.SetAction((parse, _) => global::Studies.Orchestrator.Dashboard.DashboardBenchmark.RunAsync(Console.Out, parse.GetValue(keep)?.FullName));
        bench.Subcommands.Add(dashboard);
        return bench;
    }
}
