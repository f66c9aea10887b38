using Studies.Orchestrator.Workers;

namespace Studies.Orchestrator.Tests.Workers;

/// <summary>
/// A trial's <c>worker.log</c> has two writers, the worker (its own lines) and the orchestrator (what the worker printed
/// outside .NET): each line of each lands at the end, none overwrites another; a marked line is told from an unmarked one.
/// </summary>
public sealed class WorkerLogTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("studies-workerlog-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public void Two_writers_appending_in_turn_keep_every_line_in_order()
    {
        var path = Path.Combine(dir, WorkerLog.FileName);
        File.WriteAllText(path, "before\n");
        using var orchestrator = new StreamWriter(WorkerLog.OpenAppending(path)) { AutoFlush = true };
        using var worker = new StreamWriter(WorkerLog.OpenAppending(path)) { AutoFlush = true };
        for (var i = 0; i < 3; i++)
        {
            orchestrator.WriteLine($"orchestrator {i}");
            worker.WriteLine($"worker {i}");
        }
        Assert.Equal(["before", "orchestrator 0", "worker 0", "orchestrator 1", "worker 1", "orchestrator 2", "worker 2"], File.ReadAllLines(path));
    }

    [Fact]
    public void A_log_that_cannot_be_opened_says_where_and_why()
    {
        var missing = Path.Combine(dir, "no-such-folder", WorkerLog.FileName);
        var e = Assert.ThrowsAny<IOException>(() => WorkerLog.OpenAppending(missing));
        Assert.Contains("No such file or directory", e.Message);
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void Only_a_marked_line_counts_as_already_logged()
    {
        Assert.Equal(("worker: trial t1", true), WorkerLog.Unmark(WorkerLog.Written + "worker: trial t1"));
        Assert.Equal(("libtorch: warning", false), WorkerLog.Unmark("libtorch: warning"));
        Assert.Equal(("", false), WorkerLog.Unmark(""));
    }
}
