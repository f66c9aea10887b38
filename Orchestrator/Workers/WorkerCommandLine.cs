using System.Reflection;

namespace Studies.Orchestrator.Workers;

/// <summary>How to start a worker: the same <c>studies</c> program, with the hidden <c>worker</c> command.</summary>
public sealed record WorkerCommandLine(string FileName, IReadOnlyList<string> PrefixArguments)
{
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
