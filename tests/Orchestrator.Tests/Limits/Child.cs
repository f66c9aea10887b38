using System.Diagnostics;
using Studies.Orchestrator.Tests.EndToEnd;
using Studies.Orchestrator.Workers;

namespace Studies.Orchestrator.Tests.Limits;

/// <summary>
/// Runs the real <c>studies</c> program under a memory cap: the managed heap is limited to
/// <see cref="HeapLimitBytes"/> (DOTNET_GCHeapHardLimit) and the address space by <c>prlimit --as</c>
/// (the runtime reserves about 2 GB of address space before it uses any of it), so a study file
/// that makes the program grow ends in an out-of-memory exit instead of exit 2.
/// </summary>
internal static class Child
{
    public const long HeapLimitBytes = 200L << 20;
    private const long AddressSpaceBytes = 3L << 30;

    public static async Task<(CliResult Result, TimeSpan Elapsed)> RunTimedAsync(IEnumerable<string> arguments, TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var command = WorkerCommandLine.ForStudiesAssembly(StudiesHome.StudiesDll);
        var start = new ProcessStartInfo("prlimit") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { $"--as={AddressSpaceBytes}", command.FileName }.Concat(command.PrefixArguments).Concat(arguments)) start.ArgumentList.Add(a);
        start.Environment["DOTNET_GCHeapHardLimit"] = $"0x{HeapLimitBytes:X}";
        start.Environment.Remove("STUDIES_HOME");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"studies {string.Join(' ', arguments)} did not finish in {(timeout ?? TimeSpan.FromSeconds(30)).TotalSeconds} s");
        }
        return (new CliResult(process.ExitCode, await stdout, await stderr), clock.Elapsed);
    }
}
