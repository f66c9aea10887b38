using System.Runtime.InteropServices;

namespace Studies.Trials.Engine;

/// <summary>
/// Settings of the threading runtimes that libtorch loads, which they read from the process
/// environment once, when they are loaded: they must be in place before the binding's library is.
/// </summary>
/// <remarks>
/// Debian's libtorch runs its element-wise work on OpenMP (libgomp) threads and its matrix
/// products on OpenBLAS's own pthreads. With more than one thread, libgomp's threads spin for a
/// while after each parallel region (OMP_WAIT_POLICY's default), on the cores OpenBLAS's threads
/// then need, and the reverse: measured on 2 cores, 2 threads were 2.2x slower than 1 for the
/// 28-300-150-100-50 Adam training and 2.1x slower for the 4-8-4 net, with the run-to-run spread
/// at 25-35 %. With libgomp's threads sleeping when idle (PASSIVE), 2 threads were 2.2x faster than
/// 1 on the first and as fast as 1 on the second. One thread per trial is unaffected (libgomp
/// starts no threads). Packed trials gain too: an idle trial's threads no longer spin on the cores
/// of its neighbours. A value the user set is kept.
/// </remarks>
public static partial class ThreadingEnvironment
{
    /// <summary>The variables set when the user has not set them, in the order applied.</summary>
    public static readonly IReadOnlyList<(string Name, string Value)> Defaults = [("OMP_WAIT_POLICY", "PASSIVE")];

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetNativeEnvironment(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetNativeEnvironment(string name);

    /// <summary>
    /// Writes the defaults into the native environment (where libgomp reads them; .NET's
    /// Environment.SetEnvironmentVariable changes only its own copy on Linux) unless already set.
    /// </summary>
    internal static void Apply()
    {
        if (!OperatingSystem.IsLinux()) return;
        foreach (var (name, value) in Defaults) SetNativeEnvironment(name, value, overwrite: 0);
    }

    /// <summary>The value the threading runtimes see, for `studies info` and the benchmarks.</summary>
    public static string? Current(string name) =>
        OperatingSystem.IsLinux() ? Marshal.PtrToStringUTF8(GetNativeEnvironment(name)) : Environment.GetEnvironmentVariable(name);
}
