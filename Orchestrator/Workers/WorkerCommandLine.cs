using System.Reflection;

namespace Studies.Orchestrator.Workers;

/// <summary>How to start a worker: the same <c>studies</c> program, with the hidden <c>worker</c> command.</summary>
public sealed record WorkerCommandLine(string FileName, IReadOnlyList<string> PrefixArguments)
{
    /// <summary>
    /// The .NET runtime settings a worker runs with (also the C# side of <c>bench engine</c>, so that it measures trials
    /// as they run). A worker is a compute job beside others on the same cores: no background GC thread and no PGO
    /// instrumentation stealing a core (bench orchestrator: 2-slot throughput 1.40x -> 1.54x with one process per trial).
    /// It lives for many trials and runs the same training loops in each: compiling each method once, optimised, beats
    /// compiling it twice, the second time on a background thread beside the trials (quickstart, 12 trials on one
    /// worker: 1.7 s of CPU on that thread; its start-up stayed at 1.2-1.5 s).
    /// </summary>
    public static readonly IReadOnlyList<(string Name, string Value)> RuntimeSettings =
    [
        ("DOTNET_gcServer", "0"),
        ("DOTNET_gcConcurrent", "0"),
        ("DOTNET_TieredPGO", "0"),
        ("DOTNET_TieredCompilation", "0"),
    ];

    /// <summary>This very program: the apphost, or <c>dotnet studies.dll</c>.</summary>
    public static WorkerCommandLine Self()
    {
        var process = Environment.ProcessPath ?? "dotnet";
        // The entry assembly's file, from the application folder: Assembly.Location is empty in a
        // single-file bundle (tools/gpu-check.sh), where the apphost itself is the worker.
        var entry = Assembly.GetEntryAssembly()?.GetName().Name is { } name ? Path.Combine(AppContext.BaseDirectory, name + ".dll") : null;
        return Path.GetFileNameWithoutExtension(process) == "dotnet" && entry is not null
            ? new WorkerCommandLine(process, [entry])
            : new WorkerCommandLine(process, []);
    }

    /// <summary>The studies assembly that sits beside the given type's assembly (used by tests, whose entry point is the test host).</summary>
    public static WorkerCommandLine ForStudiesAssembly(string studiesDll) =>
        new(Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet", [studiesDll]);
}
