using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Data.Sqlite;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Trials.Results;
using Studies.Orchestrator.Workers;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary>How a finished <c>studies</c> command ended, with everything it printed (for assertion messages).</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public IReadOnlyList<string> StdoutLines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public IReadOnlyList<string> StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// One running <c>dotnet studies.dll ...</c> child process, its output captured line by line so a
/// test can wait for a line, signal or kill it, and read what it printed even after a SIGKILL.
/// </summary>
internal sealed partial class StudiesProcess : IDisposable
{
    private readonly Process process;
    private readonly StringBuilder stdout = new();
    private readonly StringBuilder stderr = new();
    private readonly object gate = new();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int SendSignal(int pid, int signal);

    public const int SigKill = 9;
    public const int SigTerm = 15;

    /// <summary>Set on every process a test starts and inherited by its workers, so a test finds the workers of its own workspace.</summary>
    public const string MarkerVariable = "STUDIES_E2E_WORKSPACE";

    public StudiesProcess(IEnumerable<string> arguments, string? workspace = null)
    {
        // The same dotnet host that runs the tests, so the child sees the same runtime.
        var command = WorkerCommandLine.ForStudiesAssembly(StudiesHome.StudiesDll);
        var start = new ProcessStartInfo(command.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in command.PrefixArguments.Concat(arguments)) start.ArgumentList.Add(a);
        start.Environment.Remove("STUDIES_HOME");
        start.Environment.Remove("STUDIES_STORE");
        if (workspace is not null) start.Environment[MarkerVariable] = workspace;
        // Short leases, so that a killed orchestrator's trials resume within seconds in these tests (default 30 s).
        start.Environment["STUDIES_Scheduling__LeaseSeconds"] = "3";
        start.Environment["STUDIES_Scheduling__HeartbeatSeconds"] = "0.5";
        process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) stdout.Append(e.Data).Append('\n'); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) stderr.Append(e.Data).Append('\n'); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Started = Stopwatch.StartNew();
    }

    public int Pid => process.Id;

    public Stopwatch Started { get; }

    public bool HasExited => process.HasExited;

    public string Stdout { get { lock (gate) return stdout.ToString(); } }

    public string Stderr { get { lock (gate) return stderr.ToString(); } }

    /// <summary>Sends a POSIX signal to this process only (not to its workers).</summary>
    public void Signal(int signal)
    {
        if (SendSignal(process.Id, signal) != 0)
            throw new InvalidOperationException($"kill({process.Id}, {signal}) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    /// <summary>SIGKILL of the orchestrator alone: its workers are left to notice on their own.</summary>
    public void KillHard() => process.Kill(entireProcessTree: false);

    /// <summary>Waits for the exit and the end of its output; on timeout kills it and fails with what it printed.</summary>
    public async Task<CliResult> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            await process.WaitForExitAsync(CancellationToken.None);
            throw new TimeoutException($"`studies {string.Join(' ', process.StartInfo.ArgumentList.Skip(1))}` did not exit within {timeout.TotalSeconds:F0} s\n{Result()}");
        }
        return Result();
    }

    /// <summary>Waits until stdout holds <paramref name="text"/>; false if the process exits or the time runs out first.</summary>
    public async Task<bool> WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (Stdout.Contains(text, StringComparison.Ordinal)) return true;
            if (process.HasExited) return Stdout.Contains(text, StringComparison.Ordinal);
            await Task.Delay(50);
        }
        return false;
    }

    private CliResult Result() => new(process.HasExited ? process.ExitCode : -1, Stdout, Stderr);

    private bool disposed;

    public void Dispose()
    {
        // Both a test's `using` and its workspace dispose it.
        if (disposed) return;
        disposed = true;
        if (!process.HasExited)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        }
        process.Dispose();
    }
}

/// <summary>
/// A fresh workspace (<c>--home</c>) for one end-to-end test, with helpers to run the real
/// <c>studies</c> program in it, read its database, and find the worker processes it started.
/// Disposing kills whatever is left (the orchestrators this test started and their workers) and
/// deletes the folder.
/// </summary>
internal sealed class StudiesHome : IDisposable
{
    private readonly List<StudiesProcess> started = new();

    public StudiesHome() => Root = Directory.CreateTempSubdirectory("studies-e2e-").FullName;

    public string Root { get; }

    public string Database => Path.Combine(Root, "studies.db");

    /// <summary>The studies program the test project's build copies beside the tests.</summary>
    public static string StudiesDll => Path.Combine(AppContext.BaseDirectory, "studies.dll");

    /// <summary>A study file of <c>EndToEnd/Studies</c>, as copied to the output folder.</summary>
    public static string StudyFile(string name) => Path.Combine(AppContext.BaseDirectory, "EndToEnd", "Studies", name);

    /// <summary>Starts <c>studies ARGS --home ROOT</c>.</summary>
    public StudiesProcess Start(params string[] arguments)
    {
        var p = new StudiesProcess([.. arguments, "--home", Root], Root);
        lock (started) started.Add(p);
        return p;
    }

    /// <summary>Runs <c>studies ARGS --home ROOT</c> to its end.</summary>
    public async Task<CliResult> RunAsync(TimeSpan timeout, params string[] arguments)
    {
        using var p = Start(arguments);
        return await p.WaitAsync(timeout);
    }

    public async Task<IStudyStorage> OpenStoreAsync() => await SqliteStudyStorage.OpenAsync(Database, StoreAccess.ReadOnly);

    /// <summary>A plain read connection, for raw row counts the store has no query for.</summary>
    public SqliteConnection OpenRaw()
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        c.Open();
        return c;
    }

    public long Scalar(string sql, params (string Name, object Value)[] parameters)
    {
        using var c = OpenRaw();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Live worker processes of this workspace: command lines (from /proc) with the hidden
    /// <c>worker</c> command that inherited this workspace's marker variable. Zombies have an empty
    /// command line and do not count.
    /// </summary>
    public IReadOnlyList<int> WorkerPids()
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string[] args, environment;
            try
            {
                args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                environment = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // the process ended while we looked
            }
            if (args.Contains("worker") && environment.Contains($"{StudiesProcess.MarkerVariable}={Root}")) pids.Add(pid);
        }
        return pids;
    }

    /// <summary>Polls until no worker of this workspace is alive; returns the ones still alive after <paramref name="grace"/>.</summary>
    public async Task<IReadOnlyList<int>> WaitForNoWorkersAsync(TimeSpan grace)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var alive = WorkerPids();
            if (alive.Count == 0 || clock.Elapsed > grace) return alive;
            await Task.Delay(100);
        }
    }

    /// <summary>Polls until at least <paramref name="count"/> workers run; returns them (possibly fewer on timeout).</summary>
    public async Task<IReadOnlyList<int>> WaitForWorkersAsync(int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var alive = WorkerPids();
            if (alive.Count >= count || clock.Elapsed > timeout) return alive;
            await Task.Delay(50);
        }
    }

    public void Dispose()
    {
        lock (started)
        {
            foreach (var p in started) p.Dispose();
        }
        foreach (var pid in WorkerPids())
        {
            try
            {
                using var worker = Process.GetProcessById(pid);
                worker.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
            }
        }
        // STUDIES_TEST_KEEP_HOME=1 keeps the folder (its store, trial folders and worker logs) to look at after a failure.
        if (Environment.GetEnvironmentVariable("STUDIES_TEST_KEEP_HOME") == "1") return;
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A worker killed a moment ago may still be closing its log; the temp folder is harmless.
        }
    }
}
