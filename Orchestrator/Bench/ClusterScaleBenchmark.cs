using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Studies.Orchestrator.Cluster;
using Studies.Orchestrator.Cluster.Local;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.PostgreSql;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Bench;

/// <summary>
/// <c>studies bench cluster --simulate-trials 100000 --simulate-tasks 1000</c>: what the store costs a study of that size,
/// on a real PostgreSQL server (started here, or <c>--store</c>), with no Slurm and no training. A study of N trials is
/// recorded and put mid-way (half completed, one running trial per task, the rest queued); then, measured:
/// <list type="bullet">
/// <item>one poll of the submitting process (its cancel check, state counts, the changed rows, reclaim and requeue, exactly
/// as <see cref="SlurmTrialExecutor"/> runs it) while tasks finish and claim about 30 trials between polls: the server's
/// CPU time per poll (the server's processes in /proc) and the wall time;</item>
/// <item>claims per second by 64 concurrent claimers;</item>
/// <item><c>studies status</c> as a process, five times: wall time, CPU time and peak memory (best, spread, load average);</item>
/// <item>the server's CPU for the tasks' idle looks: each task, idle, looks at the store at most every 30 s (the cap of its
/// doubling wait), opening a connection for each look (tasks hold none while idle); the tasks' looks are spread over the window.</item>
/// </list>
/// </summary>
internal static class ClusterScaleBenchmark
{
    /// <summary>Trials that change state between two polls: a task finishing a one-minute trial every minute, at 1,000 tasks, over 2 s.</summary>
    private const int ChangesPerPoll = 30;

    /// <summary>Runs of `studies status` measured.</summary>
    private const int StatusRuns = 5;

    public static async Task<int> RunAsync(int trials, int tasks, string? given, TextWriter output, CancellationToken ct)
    {
        LocalPostgreSql? server = null;
        try
        {
            if (given is null) server = LocalPostgreSql.Start();
            var location = given ?? server!.ViaSocket(await server!.CreateDatabaseAsync(ct));
            var cpu = server is null ? null : new ServerCpu(server.PostmasterPid());
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"simulated study of {trials} trials and {tasks} tasks on {(server is null ? "the given PostgreSQL store" : "a PostgreSQL server started here")} (no Slurm, no training)"));

            await using var store = await PostgreSqlStudyStorage.OpenAsync(location, ct: ct);
            var name = "bench-scale";
            var clock = Stopwatch.StartNew();
            var spec = "{\"data\":{\"source\":\"recoil-toy\",\"options\":{\"masses\":[0.5,1.5,2.5,3.5,4.5]}},\"model\":{\"kind\":\"pnn\",\"hidden\":[64,64,64]},"
                + "\"schedule\":[{\"loss\":\"bce\",\"epochs\":40,\"optimizer\":\"adam\",\"lr\":0.003,\"batch\":256}],\"device\":\"cuda\",\"seed\":";
            var rows = Enumerable.Range(0, trials).Select(i => new PlannedTrialRow($"t{i:D7}", spec + i.ToString(CultureInfo.InvariantCulture) + "}",
                new Dictionary<string, string> { ["seed"] = i.ToString(CultureInfo.InvariantCulture) })).ToList();
            var study = await store.SyncStudyAsync(new StudyDefinition(name, null, "simulated", "h", "d", new StudySettings()), rows, false, ct);
            rows = null;
            await MidwayAsync(location, study.Id, trials, tasks, ct);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"recorded and put mid-way in {clock.Elapsed.TotalSeconds:F1} s: {trials / 2} completed, {tasks} running, the rest queued"));

            // Polls, with other tasks' changes between them.
            var follower = new StudyFollower(store, study, new Silent());
            await follower.PollAsync(ct); // the first look reads every row once, as a run's start does
            var wall = new List<double>();
            var serverMs = new List<double>();
            var owners = tasks;
            for (var poll = 0; poll < 20; poll++)
            {
                for (var c = 0; c < ChangesPerPoll; c++)
                {
                    var owner = $"sim-{owners++}";
                    var trial = await store.ClaimNextAsync(study.Id, new TrialClaim(owner, "cuda:0", TimeSpan.FromHours(1)), ct);
                    if (trial is null) break;
                    await store.RecordResultAsync(study.Id, trial.TrialId, owner, TrialState.Completed, new TrialResult { Outcome = TrialOutcome.Completed }, 60, "{}", ct);
                }
                var before = cpu?.Seconds();
                var watch = Stopwatch.StartNew();
                await OnePollAsync(store, study, follower, ct);
                wall.Add(watch.Elapsed.TotalMilliseconds);
                if (cpu is not null) serverMs.Add((cpu.Seconds() - before!.Value) * 1000);
            }
            // The kernel counts CPU in 10 ms ticks: the mean over all polls, not one poll's, is the figure.
            var pollServer = serverMs.Count > 0 ? serverMs.Average() : double.NaN;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"one poll (cancel check, the changed rows: {follower.LastRows} read by the last, reclaim, requeue; {ChangesPerPoll} trials finished and claimed between polls): " +
                $"server CPU {pollServer:F1} ms (mean of {serverMs.Count}; the kernel counts 10 ms ticks), wall {Describe(wall)} ms (median, min-max)"));

            var claims = await ClaimsPerSecondAsync(location, study.Id, 64, TimeSpan.FromSeconds(5), ct);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"claims: {claims:F0} per second by 64 concurrent claimers"));

            // Five runs: the machine is shared, so the best is the figure and the spread says how noisy it was.
            var statuses = new List<(double Seconds, double Cpu, double Mb)>();
            for (var run = 0; run < StatusRuns; run++) statuses.Add(await StatusAsync(location, name, ct));
            var (statusSeconds, statusCpu, statusMb) = (statuses.Min(x => x.Seconds), statuses.Min(x => x.Cpu), statuses.Max(x => x.Mb));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"`studies status {name}` x{StatusRuns}: wall best {statusSeconds:F2} s (spread {statusSeconds:F2}-{statuses.Max(x => x.Seconds):F2}), CPU best {statusCpu:F2} s " +
                $"(spread {statusCpu:F2}-{statuses.Max(x => x.Cpu):F2}; user + system: the wall time on a loaded machine is mostly the others'), peak memory at most {statusMb:F0} MB; " +
                $"load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} on {Environment.ProcessorCount} cores"));

            var idle = cpu is null ? double.NaN : await IdleTasksAsync(location, study.Id, tasks, cpu, ct);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{tasks} idle tasks (a look every {ClusterTask.IdlePollLimit.TotalSeconds:F0} s each, a new connection per look): {idle:F3} core(s) of server CPU"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"cluster store at {trials} trials: poll {pollServer:F1} ms server CPU (target 50), status {statusSeconds:F2} s wall ({statusCpu:F2} s CPU) / {statusMb:F0} MB (targets 2 s, 200 MB), {tasks} idle tasks {idle:F2} core (target 1), {claims:F0} claims/s"));
            return 0;
        }
        finally
        {
            if (server is not null) await server.DisposeAsync();
        }
    }

    /// <summary>What the submitting process does each poll (<see cref="SlurmTrialExecutor"/>'s loop, without Slurm).</summary>
    private static async Task OnePollAsync(IStudyStorage store, StudyRow study, StudyFollower follower, CancellationToken ct)
    {
        _ = (await store.FindStudyAsync(study.Name, ct))?.Cancelled;
        await follower.PollAsync(ct);
        _ = follower.Counts;
        await store.ReclaimExpiredAsync(study.Id, ct);
        await store.RequeueAsync(study.Id, failedToo: false, ct);
    }

    /// <summary>Half the trials completed, one running per task (leases of an hour), the rest queued: as a study mid-way.</summary>
    private static async Task MidwayAsync(string location, long study, int trials, int tasks, CancellationToken ct)
    {
        await using var source = NpgsqlDataSource.Create(PostgreSqlStudyStorage.ConnectionString(location));
        await using var connection = await source.OpenConnectionAsync(ct);
        foreach (var sql in new[]
                 {
                     "UPDATE trials SET state = 'completed', attempts = 1, started_at = 0, finished_at = 60, seconds = 60 WHERE study_id = @s AND ordinal < @half",
                     "UPDATE trials SET state = 'running', attempts = 1, owner = 'task-' || ordinal, device = 'cuda:0', started_at = extract(epoch FROM now()), " +
                     "heartbeat_at = extract(epoch FROM now()), lease_until = extract(epoch FROM now()) + 3600 WHERE study_id = @s AND ordinal >= @half AND ordinal < @half + @tasks",
                     "ANALYZE trials",
                 })
        {
            await using var cmd = new NpgsqlCommand(sql, connection);
            cmd.Parameters.AddWithValue("s", study);
            cmd.Parameters.AddWithValue("half", trials / 2);
            cmd.Parameters.AddWithValue("tasks", tasks);
            await cmd.ExecuteNonQueryAsync(ct);
        }
    }

    private static async Task<double> ClaimsPerSecondAsync(string location, long study, int claimers, TimeSpan span, CancellationToken ct)
    {
        var stores = new List<PostgreSqlStudyStorage>();
        for (var i = 0; i < claimers; i++) stores.Add(await PostgreSqlStudyStorage.OpenAsync(location, ct: ct));
        var claimed = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(stores.Select((s, i) => Task.Run(async () =>
        {
            while (clock.Elapsed < span && await s.ClaimNextAsync(study, new TrialClaim($"claimer-{i}", "cpu", TimeSpan.FromHours(1)), ct) is not null)
                Interlocked.Increment(ref claimed);
        }, ct)));
        var seconds = clock.Elapsed.TotalSeconds;
        foreach (var s in stores) await s.DisposeAsync();
        return claimed / seconds;
    }

    /// <summary>
    /// `studies status` as a user runs it, under GNU time: wall seconds, CPU seconds (user + system: what it costs on a
    /// machine shared with other work, where the wall time mostly measures the others) and peak resident memory.
    /// </summary>
    private static async Task<(double Seconds, double CpuSeconds, double Megabytes)> StatusAsync(string location, string study, CancellationToken ct)
    {
        var self = WorkerCommandLine.Self();
        var report = Path.GetTempFileName();
        var start = new ProcessStartInfo("/usr/bin/time") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-o", report, "-f", "%e %U %S %M", self.FileName }.Concat(self.PrefixArguments).Concat(["status", study, "--store", location]))
            start.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            if (process.ExitCode != 0) throw new LocalClusterException($"studies status failed ({process.ExitCode}): {await stderr}");
            _ = await stdout;
            var f = (await File.ReadAllTextAsync(report, ct)).Trim().Split('\n')[^1].Split(' ').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            return (f[0], f[1] + f[2], f[3] / 1024.0);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new LocalClusterException("prerequisite missing: /usr/bin/time (Debian package time), to measure `studies status`");
        }
        finally
        {
            File.Delete(report);
        }
    }

    /// <summary>
    /// Server CPU (cores) of <paramref name="tasks"/> idle tasks over a 30 s window: each makes one look at its cap interval,
    /// as <see cref="StudyExecution"/> does while waiting (the cancel check and the next queued time), on a connection of
    /// its own opened for the look.
    /// </summary>
    private static async Task<double> IdleTasksAsync(string location, long study, int tasks, ServerCpu cpu, CancellationToken ct)
    {
        var window = ClusterTask.IdlePollLimit; // each task looks once in it
        var builder = PostgreSqlStudyStorage.ConnectionString(location);
        builder.Pooling = false;
        var before = cpu.Seconds();
        var clock = Stopwatch.StartNew();
        using var gate = new SemaphoreSlim(64); // the looks are spread over the window; at most this many at once here
        var looks = Enumerable.Range(0, tasks).Select(async i =>
        {
            await Task.Delay(window * i / tasks, ct);
            await gate.WaitAsync(ct);
            try
            {
                await using var connection = new NpgsqlConnection(builder.ConnectionString);
                await connection.OpenAsync(ct);
                foreach (var sql in new[]
                         {
                             "SELECT * FROM studies WHERE name = 'bench-scale'",
                             "SELECT MIN(not_before) FROM trials WHERE study_id = @s AND in_definition AND state = 'queued'",
                         })
                {
                    await using var cmd = new NpgsqlCommand(sql, connection);
                    cmd.Parameters.AddWithValue("s", study);
                    await using var reader = await cmd.ExecuteReaderAsync(ct);
                    while (await reader.ReadAsync(ct)) { }
                }
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(looks);
        var elapsed = Math.Max(clock.Elapsed.TotalSeconds, window.TotalSeconds);
        return (cpu.Seconds() - before) / elapsed;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[sorted.Count / 2];
    }

    private static string Describe(List<double> values) => values.Count == 0 ? "n/a"
        : string.Create(CultureInfo.InvariantCulture, $"{Median(values):F1} ({values.Min():F1}-{values.Max():F1})");

    /// <summary>CPU seconds of a PostgreSQL server: its postmaster and every backend it forked (from /proc).</summary>
    private sealed class ServerCpu(int postmaster)
    {
        private static readonly double Tick = 100.0; // USER_HZ on Linux

        public double Seconds()
        {
            var total = 0L;
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                var name = Path.GetFileName(dir);
                if (!name.All(char.IsAsciiDigit)) continue;
                try
                {
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    // Fields after the command's closing parenthesis: state ppid ... utime(14) stime(15) [1-based over the whole line].
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    var pid = int.Parse(name, CultureInfo.InvariantCulture);
                    var ppid = int.Parse(fields[1], CultureInfo.InvariantCulture);
                    if (pid != postmaster && ppid != postmaster) continue;
                    total += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                    // Backends that have ended (a connection per look) are counted in the postmaster's children's time.
                    if (pid == postmaster) total += long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
                {
                    // a process that ended while being read
                }
            }
            return total / Tick;
        }
    }

    private sealed class Silent : IExecutionObserver;
}
