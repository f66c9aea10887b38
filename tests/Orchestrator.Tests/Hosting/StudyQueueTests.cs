using Microsoft.Extensions.Logging.Abstractions;
using Studies.Orchestrator.Hosting;

namespace Studies.Orchestrator.Tests.Hosting;

public sealed class StudyQueueTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("studies-queue-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string StudyFile(string name)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, $"study: {Path.GetFileNameWithoutExtension(name)}\ndata: {{source: gaussian-toy}}\nbase:\n  schedule:\n    - {{loss: bce, epochs: 5}}\n");
        return path;
    }

    /// <summary>Records the name of each study it is given, as the service parsed it.</summary>
    private sealed class RecordingRunner(Func<string, StudyRunOutcome> outcome) : IStudyRunner
    {
        public readonly List<string> Ran = new();

        public Task<StudyRunOutcome> RunAsync(Study study, StudyRunRequest request, CancellationToken stopping, CancellationToken kill)
        {
            Assert.True(request.Untrusted);
            lock (Ran) Ran.Add(study.Name);
            return Task.FromResult(outcome(study.SourcePath));
        }
    }

    [Fact]
    public void Submitted_studies_are_taken_oldest_first_and_filed_by_outcome()
    {
        var queue = new StudyQueue(Path.Combine(dir, "queue"));
        queue.Submit(StudyFile("first.yaml"));
        Thread.Sleep(5);
        queue.Submit(StudyFile("second.yaml"));
        var a = queue.TakeNext()!;
        Assert.Contains("first", a);
        Assert.StartsWith(queue.Running, a);
        queue.Finish(a, succeeded: false, error: "bad file");
        var b = queue.TakeNext()!;
        queue.Finish(b, succeeded: true, error: null);
        Assert.Null(queue.TakeNext());
        Assert.Single(Directory.GetFiles(queue.Done));
        Assert.Contains("bad file", File.ReadAllText(Directory.GetFiles(queue.Failed, "*.error.txt").Single()));
    }

    [Fact]
    public void A_queued_file_remembers_the_folder_it_was_submitted_from_for_relative_data_paths()
    {
        var queue = new StudyQueue(Path.Combine(dir, "queue"));
        var origin = Directory.CreateDirectory(Path.Combine(dir, "analysis")).FullName;
        var source = Path.Combine(origin, "study.yaml");
        File.WriteAllText(source, "study: s\n");
        queue.Submit(source);
        var running = queue.TakeNext()!;
        Assert.Equal(origin, queue.OriginOf(running));
        var byHand = Path.Combine(queue.Directory, "copied.yaml");
        File.WriteAllText(byHand, "study: t\n");
        Assert.Null(queue.OriginOf(byHand));
    }

    [Fact]
    public void Files_left_running_by_a_dead_server_are_queued_again()
    {
        var queue = new StudyQueue(Path.Combine(dir, "queue"));
        queue.Submit(StudyFile("a.yaml"));
        queue.TakeNext();
        Assert.Equal(1, new StudyQueue(queue.Directory).RecoverAbandoned());
        Assert.NotNull(queue.TakeNext());
    }

    [Fact]
    public void Only_one_server_may_serve_a_queue_at_a_time()
    {
        var queue = new StudyQueue(Path.Combine(dir, "queue"));
        using (var first = queue.TryLockServer())
        {
            Assert.NotNull(first);
            Assert.Null(new StudyQueue(Path.Combine(dir, "queue")).TryLockServer());
            Assert.Contains($"pid {Environment.ProcessId}", queue.ServerLockHolder());
        }
        using var afterwards = queue.TryLockServer();
        Assert.NotNull(afterwards);
    }

    [Fact]
    public async Task The_service_runs_what_arrives_and_stops_when_the_host_stops()
    {
        var queue = new StudyQueue(Path.Combine(dir, "queue"));
        queue.EnsureExists();
        var runner = new RecordingRunner(f => new StudyRunOutcome(Path.GetFileName(f), "report.html", false, new Dictionary<global::Studies.Trials.Results.TrialState, int>()));
        var service = new StudyQueueService(queue, runner, Microsoft.Extensions.Options.Options.Create(new global::Studies.Orchestrator.Scheduling.SchedulingOptions()), NullLogger<StudyQueueService>.Instance) { PollInterval = TimeSpan.FromMilliseconds(50) };
        using var stop = new CancellationTokenSource();
        await service.StartAsync(stop.Token);
        queue.Submit(StudyFile("one.yaml"));
        queue.Submit(StudyFile("two.yaml"));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Directory.GetFiles(queue.Done).Length < 2 && DateTime.UtcNow < deadline) await Task.Delay(20);
        await service.StopAsync(CancellationToken.None);
        Assert.Equal(["one", "two"], runner.Ran);
        Assert.Equal(2, Directory.GetFiles(queue.Done).Length);
    }
}
