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
        return bench;
    }
}
