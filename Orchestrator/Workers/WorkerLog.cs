using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Studies.Orchestrator.Workers;

/// <summary>
/// A trial's <c>worker.log</c>, written by the worker itself while it runs the trial (or pack). The orchestrator used
/// to write it from the worker's standard error, so whatever the worker said after the orchestrator died, or before the
/// orchestrator had read it, was lost: a member's "resumed from its checkpoint" line, written before its next checkpoint,
/// was missing from its log although the checkpoint was there (FusedStudyTests at load 6, 1 run in 7), and "the
/// orchestrator is gone" could never reach a log at all. Each line still goes to standard error too, marked
/// (<see cref="Written"/>), so the orchestrator keeps it for a failure's "last output" without writing it again; what is
/// not marked (libtorch's own messages, a worker's start-up) the orchestrator writes to the log as before.
/// </summary>
internal static partial class WorkerLog
{
    /// <summary>Leads a standard-error line that the worker has already written to the trial's log.</summary>
    public const char Written = '\u001F';

    public const string FileName = "worker.log";

    /// <summary>The line without its mark, and whether it had one (already in the log).</summary>
    public static (string Line, bool Logged) Unmark(string line) =>
        line.Length > 0 && line[0] == Written ? (line[1..], true) : (line, false);

    /// <summary>
    /// Sends this process's standard error to the logs in <paramref name="folders"/> (every member of a pack has the pack's
    /// lines) and, marked, to the real standard error, until disposed.
    /// </summary>
    public static IDisposable WriteTo(IEnumerable<string> folders)
    {
        var previous = Console.Error;
        var opened = folders.Select(TryOpen).ToList();
        // A log the worker cannot open gets its lines from the orchestrator instead: they go unmarked (in a pack whose other
        // logs did open, those then have them twice; twice rather than never).
        var writer = new TrialLogs(opened.OfType<FileStream>().ToList(), previous, mark: opened.All(f => f is not null));
        Console.SetError(writer);
        return new Restore(previous, writer);
    }

    /// <summary>The orchestrator's side: the logs of a trial or of every member of a pack (an error if one cannot be opened).</summary>
    public static TextWriter Open(IEnumerable<string> folders)
    {
        var files = new List<FileStream>();
        try
        {
            foreach (var folder in folders) files.Add(OpenAppending(Path.Combine(folder, FileName)));
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
        return new TrialLogs(files, echo: null, mark: false);
    }

    private static FileStream? TryOpen(string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
            return OpenAppending(Path.Combine(folder, FileName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"worker: cannot write the trial's log: {e.Message}");
            return null;
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int OpenFile(string path, int flags, int mode);

    /// <summary>
    /// The log at <paramref name="path"/> opened for appending by more than one process: the worker and the orchestrator
    /// (which writes what the worker did not, e.g. libtorch's own messages) both write it. FileMode.Append does not do: .NET
    /// opens without O_APPEND and writes at its own offset, so the second writer's lines overwrote the first's (measured:
    /// "a 1", "b 1", "a 2" written in turn left "b 1", "a 2"). With O_APPEND each write lands at the end (on Linux even
    /// the positioned writes FileStream makes). Unbuffered: a line is in the file before the writer goes on.
    /// </summary>
    public static FileStream OpenAppending(string path)
    {
        const int WriteOnly = 0x1, Create = 0x40, Append = 0x400, CloseOnExec = 0x80000;
        var fd = OpenFile(path, WriteOnly | Create | Append | CloseOnExec, Convert.ToInt32("644", 8));
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            var message = $"{Marshal.GetPInvokeErrorMessage(errno)} : '{path}'";
            // As .NET maps them: EPERM and EACCES are a denied access, anything else (ENOSPC 28, EROFS 30) an IOException with the errno.
            throw errno is 1 or 13 ? new UnauthorizedAccessException(message) : new IOException(message, errno);
        }
        return new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Write, bufferSize: 0);
    }

    private sealed class Restore(TextWriter previous, TrialLogs writer) : IDisposable
    {
        public void Dispose()
        {
            Console.SetError(previous);
            writer.Dispose();
        }
    }

    /// <summary>
    /// Logs written line by line: each line goes to every file at once (a file that can no longer be written, a full disk,
    /// is dropped; the others and the trial go on) and, when <c>echo</c> is set, to it too, marked when <c>mark</c>.
    /// </summary>
    private sealed class TrialLogs(List<FileStream> files, TextWriter? echo, bool mark) : TextWriter
    {
        private readonly StringBuilder pending = new();
        private readonly object gate = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (gate)
            {
                if (value == '\n') EmitLine();
                else if (value != '\r') pending.Append(value);
            }
        }

        public override void Write(string? value)
        {
            if (value is null) return;
            lock (gate)
            {
                foreach (var c in value) Write(c);
            }
        }

        public override void WriteLine(string? value)
        {
            lock (gate)
            {
                Write(value);
                EmitLine();
            }
        }

        private void EmitLine()
        {
            var line = pending.ToString();
            pending.Clear();
            var bytes = Encoding.UTF8.GetBytes(line + "\n");
            for (var i = files.Count - 1; i >= 0; i--)
            {
                try
                {
                    files[i].Write(bytes);
                }
                catch (IOException)
                {
                    files[i].Dispose();
                    files.RemoveAt(i);
                }
            }
            echo?.WriteLine(mark ? Written + line : line);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                lock (gate)
                {
                    if (pending.Length > 0) EmitLine();
                    foreach (var f in files) f.Dispose();
                    files.Clear();
                }
            }
            base.Dispose(disposing);
        }
    }
}
