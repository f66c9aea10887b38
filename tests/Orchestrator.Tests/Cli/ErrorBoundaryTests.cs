using Microsoft.Data.Sqlite;
using Studies.Orchestrator.Cli;
using Studies.Orchestrator.Storage;
using Studies.Trials.Data;

namespace Studies.Orchestrator.Tests.Cli;

/// <summary>Which exit code and which line a user gets for each kind of failure (the end-to-end tests see them through the real program).</summary>
public sealed class ErrorBoundaryTests
{
    public static TheoryData<Exception, int, string> Failures() => new()
    {
        { new StudyValidationException([new StudyError("s.yaml", new SourcePosition(3, 7), "unknown key 'lerning_rate'")]), 2, "s.yaml:3:7: unknown key 'lerning_rate'" },
        { new DataException("x.csv:12: column 'f3': feature value NaN is not a finite number"), 3, "x.csv:12: column 'f3': feature value NaN is not a finite number" },
        { new StoreException("cannot open the study database /w/studies.db: the file is not a valid SQLite database"), 4, "error: cannot open the study database /w/studies.db: the file is not a valid SQLite database" },
        { new StoreException("cannot open /w/studies.db: the disk is full", new SqliteException("database or disk is full", 13)), 5, "error: cannot open /w/studies.db: the disk is full" },
        { new SqliteException("database disk image is malformed", 11), 4, "error: the study database: the file is not a valid SQLite database or is corrupt (database disk image is malformed)" },
        { new IOException("No space left on device : '/w/x/worker.log'", 28), 5, "error: the disk is full: No space left on device : '/w/x/worker.log'; free space and run again (recorded results are kept)" },
        { new IOException("Failed to create '/w/report.html' with allocation size '859394' because the disk was full."), 5, "error: the disk is full: Failed to create '/w/report.html' with allocation size '859394' because the disk was full; free space and run again (recorded results are kept)" },
        { new IOException("Read-only file system : '/w/queue'", 30), 5, "error: Read-only file system : '/w/queue': the file system is read-only; commands that only read (list, status, export, report --out DIR) work on a read-only workspace" },
        { new UnauthorizedAccessException("Access to the path '/w' is denied."), 5, "error: permission denied: Access to the path '/w' is denied." },
        { new AggregateException(new IOException("No space left on device : '/w/a'", 28)), 5, "error: the disk is full: No space left on device : '/w/a'; free space and run again (recorded results are kept)" },
        { new OperationCanceledException(), 130, "stopped; run the same command again to resume" },
        { new InvalidOperationException("a bug\nsecond line"), 70, "error: internal error (InvalidOperationException: a bug)" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Each_failure_gets_its_exit_code_and_one_line_without_a_stack_trace(Exception failure, int code, string line)
    {
        var (exit, lines) = ErrorBoundary.Classify(failure);
        Assert.Equal(code, exit);
        Assert.Equal([line], lines);
    }

    [Fact]
    public void Several_data_problems_give_one_line_each()
    {
        var (exit, lines) = ErrorBoundary.Classify(new DataException(["a.csv:2: column 'w': weight -1 is negative", "a.csv: no background rows"]));
        Assert.Equal(ExitCodes.Data, exit);
        Assert.Equal(["a.csv:2: column 'w': weight -1 is negative", "a.csv: no background rows"], lines);
    }
}
