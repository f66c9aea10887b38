using System.CommandLine;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Orchestrator.Studies;
using Studies.Trials.Data;

namespace Studies.Orchestrator.Cli;

/// <summary>The exit codes of every <c>studies</c> command (docs/running-studies.md lists them for users).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>A command-line mistake, or nothing to act on (no such study, no database yet).</summary>
    public const int Usage = 1;
    /// <summary>The study file (or a setting) is invalid, or asks for what this host lacks; each problem is printed as file:line:column where it has one.</summary>
    public const int StudyFile = 2;
    /// <summary>A data file or data option is bad; each problem names file, row and column.</summary>
    public const int Data = 3;
    /// <summary>The store cannot be used or refused: damaged, empty, not a studies database, another version, locked, or the study's data definition changed (--force).</summary>
    public const int Store = 4;
    /// <summary>The disk is full, the workspace is read-only, or permission is denied.</summary>
    public const int Io = 5;
    /// <summary><c>run</c> ended without finishing its study: trials are left, failed or cancelled; one line says how many and why.</summary>
    public const int Incomplete = 6;
    /// <summary>The cluster refused or failed a command (sbatch, scancel): Slurm's own words are on the line.</summary>
    public const int Cluster = 7;
    /// <summary>A bug: the stack trace is in the error log named on the line.</summary>
    public const int Internal = 70;
    /// <summary>Stopped by Ctrl+C or SIGTERM; running the command again resumes.</summary>
    public const int Stopped = 130;
}

/// <summary>
/// The one place where a command's failure becomes what a user sees: an expected failure (study
/// file, data, store, disk) gives one clear line per problem on standard error and its exit code;
/// the full exception, stack trace included, goes to the error log only (<c>errors.log</c> in the
/// workspace, or in the temporary folder when the workspace cannot be written).
/// </summary>
public static class ErrorBoundary
{
    private const int Enospc = 28;
    private static int reported;
    private const int Erofs = 30;

    internal static async Task<int> InvokeAsync(ParseResult parse)
    {
        // Exceptions nobody awaits (a timer, a fire-and-forget write) still end in one line, not an abort with a trace.
        AppDomain.CurrentDomain.UnhandledException += (_, e) =>
        {
            // Several threads can fail at once (every worker's log on a full disk): one line, from the first.
            if (Interlocked.Exchange(ref reported, 1) != 0) Thread.Sleep(Timeout.Infinite);
            if (e.ExceptionObject is Exception ex) Environment.Exit(Report(ex, parse));
        };
        try
        {
            // Ctrl+C and SIGTERM are this boundary's, not System.CommandLine's: its handler let the runtime end the process
            // with 143 (128 + SIGTERM) while `serve` and `dashboard` were still stopping, or returned 0. Here the first
            // signal cancels the command's token and the command ends as stopped (130, README), whichever signal it was;
            // a second one gets the default (the process ends at once), except where the command handles it (`run`).
            using var stop = new CancellationTokenSource();
            var signals = 0;
            void OnSignal(System.Runtime.InteropServices.PosixSignalContext context)
            {
                if (Interlocked.Increment(ref signals) != 1) return;
                context.Cancel = true;
                stop.Cancel();
            }
            using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, OnSignal);
            using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, OnSignal);
            var code = await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, stop.Token);
            return stop.IsCancellationRequested && code is 0 or 128 + 2 or 128 + 15 ? ExitCodes.Stopped : code;
        }
        catch (Exception e) when (Interlocked.Exchange(ref reported, 1) == 0)
        {
            return Report(e, parse);
        }
    }

    /// <summary>What a failure means for the user: its exit code and the lines to print (no stack trace).</summary>
    /// <param name="workspace">The workspace folder, to name the database and to tell a read-only one from other failures to open it.</param>
    public static (int Code, IReadOnlyList<string> Lines) Classify(Exception e, string? workspace = null)
    {
        e = Unwrap(e);
        switch (e)
        {
            case StudyValidationException s:
                return (ExitCodes.StudyFile, s.Errors.Select(x => x.ToString()).ToList());
            case DataException d:
                return (ExitCodes.Data, d.Problems);
            case ResourceException r:
                return (ExitCodes.StudyFile, [$"error: {r.Message}"]);
            case OptionsValidationException o:
                return (ExitCodes.StudyFile, [$"error: invalid settings: {string.Join("; ", o.Failures)}"]);
            case global::Studies.Orchestrator.Cluster.SlurmException c:
                return (ExitCodes.Cluster, [$"error: {c.Message}"]);
            case OperationCanceledException:
                return (ExitCodes.Stopped, ["stopped; run the same command again to resume"]);
            case StoreException { InnerException: SqliteException inner } s when IsIo(inner):
                return (ExitCodes.Io, [$"error: {s.Message}{Unwritable(workspace)}"]);
            case StoreException s:
                return (ExitCodes.Store, [$"error: {s.Message}"]);
            case SqliteException s:
                var database = workspace is null ? "the study database" : Path.Combine(workspace, "studies.db");
                return (IsIo(s) ? ExitCodes.Io : ExitCodes.Store, [$"error: {database}: {SqliteStudyStorage.Describe(s)}{(IsIo(s) ? Unwritable(workspace) : "")}"]);
            case UnauthorizedAccessException u:
                return (ExitCodes.Io, [$"error: permission denied: {u.Message}"]);
            case IOException io when IsDiskFull(io):
                return (ExitCodes.Io, [$"error: the disk is full: {io.Message.TrimEnd('.')}; free space and run again (recorded results are kept)"]);
            case IOException io when IsErrno(io, Erofs, "Read-only file system"):
                return (ExitCodes.Io, [$"error: {io.Message}: the file system is read-only{ReadOnlyHint}"]);
            case IOException io:
                return (ExitCodes.Io, [$"error: {io.Message}"]);
            default:
                return (ExitCodes.Internal, [$"error: internal error ({e.GetType().Name}: {FirstLine(e.Message)})"]);
        }
    }

    private const string ReadOnlyHint = "; commands that only read (list, status, export, report --out DIR) work on a read-only workspace";

    /// <summary>
    /// SQLite says only "unable to open database file" when the folder cannot be written (it needs
    /// to create the journal there); a probe file tells the user why.
    /// </summary>
    private static string Unwritable(string? workspace)
    {
        if (workspace is null || !Directory.Exists(workspace)) return "";
        var probe = Path.Combine(workspace, $".write-probe-{Environment.ProcessId}");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
            return "";
        }
        catch (IOException io) when (IsErrno(io, Erofs, "Read-only file system"))
        {
            return $" (the workspace {workspace} is on a read-only file system{ReadOnlyHint})";
        }
        catch (IOException io) when (IsDiskFull(io))
        {
            return $" (the disk of {workspace} is full; free space and run again: recorded results are kept)";
        }
        catch (UnauthorizedAccessException)
        {
            return $" (the workspace {workspace} is not writable for this user)";
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static int Report(Exception e, ParseResult parse)
    {
        var root = WorkspaceRoot(parse);
        var (code, lines) = Classify(e, root);
        var log = Log(e, root);
        foreach (var line in lines) Console.Error.WriteLine(line);
        if (code == ExitCodes.Internal)
            Console.Error.WriteLine(log is null ? "the stack trace could not be written to any log file" : $"this is a bug; the stack trace is in {log}");
        return code;
    }

    /// <summary>Appends the full exception to the error log; returns its path, or null when no log could be written (disk full).</summary>
    private static string? Log(Exception e, string? root)
    {
        var entry = string.Create(CultureInfo.InvariantCulture,
            $"{DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss}Z studies {string.Join(' ', Environment.GetCommandLineArgs().Skip(1))}{Environment.NewLine}{e}{Environment.NewLine}{Environment.NewLine}");
        foreach (var directory in new[] { root, Path.GetTempPath() })
        {
            if (directory is null || !Directory.Exists(directory)) continue;
            var path = Path.Combine(directory, directory == root ? "errors.log" : "studies-errors.log");
            try
            {
                File.AppendAllText(path, entry);
                return path;
            }
            catch (Exception x) when (x is IOException or UnauthorizedAccessException)
            {
                // Read-only or full: try the next place.
            }
        }
        return null;
    }

    private static string? WorkspaceRoot(ParseResult parse)
    {
        try
        {
            return CommonOptions.Workspace(parse).Root;
        }
        catch (Exception)
        {
            return null; // an unusable --home is itself the failure being reported
        }
    }

    private static Exception Unwrap(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } or System.Reflection.TargetInvocationException && e.InnerException is not null)
            e = e.InnerException!;
        return e;
    }

    /// <summary>SQLite failures of the file system rather than of the database: full, read-only, cannot open, I/O error.</summary>
    private static bool IsIo(SqliteException e) => e.SqliteErrorCode is 8 or 10 or 13 or 14;

    // Preallocating a file (File.WriteAllText of a large text) reports a full disk in its own words.
    private static bool IsDiskFull(IOException e) =>
        IsErrno(e, Enospc, "No space left on device") || e.Message.Contains("disk was full", StringComparison.OrdinalIgnoreCase);

    private static bool IsErrno(IOException e, int errno, string text) =>
        e.HResult == errno || e.Message.Contains(text, StringComparison.OrdinalIgnoreCase);

    private static string FirstLine(string s) => s.Split('\n')[0].TrimEnd();
}
