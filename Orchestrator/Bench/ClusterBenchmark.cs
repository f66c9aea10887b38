using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Studies.Orchestrator.Cluster.Local;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.PostgreSql;
using Studies.Orchestrator.Workers;

namespace Studies.Orchestrator.Bench;

/// <summary>
/// <c>studies bench cluster</c>: a study of many short trials (64 of about one second by default) run by
/// <c>studies run --executor slurm</c> through a single-node Slurm and a PostgreSQL store that the benchmark starts on this
/// machine (or existing ones: <c>--slurm-conf</c>, <c>--store</c>). The overhead per trial is the slot time the cluster
/// path costs beyond the trials' own work: from the command's start to the last result recorded, times the array's
/// tasks, minus the sum of the trials' own run times, per trial. It holds sbatch, the job's start, each task's start and
/// its worker's, claims, result writes and the gaps between them.
/// </summary>
internal static class ClusterBenchmark
{
    public static Command Command()
    {
        var trials = new Option<int>("--trials") { Description = "Trials in the study", DefaultValueFactory = _ => 64 };
        var epochs = new Option<int>("--epochs") { Description = "Epochs of each trial (the default makes a trial's own run about 1 s here)", DefaultValueFactory = _ => 5 };
        var tasks = new Option<int>("--tasks") { Description = "Array tasks (one trial each at a time); the local Slurm gets this many CPUs", DefaultValueFactory = _ => 2 };
        var repeats = new Option<int>("--repeats") { Description = "Runs of the study; the best is the headline", DefaultValueFactory = _ => 3 };
        var slurmConf = new Option<FileInfo?>("--slurm-conf") { Description = "An existing Slurm's slurm.conf (default: start a single-node Slurm here, as root)" };
        var store = new Option<string?>("--store") { Description = "An existing PostgreSQL database every node reaches (default: start a server here, as root)" };
        var simulateTrials = new Option<int?>("--simulate-trials") { Description = "Instead: the store's cost at this many trials (a synthetic load on PostgreSQL, no Slurm)" };
        var simulateTasks = new Option<int>("--simulate-tasks") { Description = "Array tasks of the synthetic load", DefaultValueFactory = _ => 1000 };
        var command = new Command("cluster", "Overhead per trial of a study of 64 one-second trials run through a Slurm job array with a PostgreSQL store (target: 0.5 s)")
        {
            trials, epochs, tasks, repeats, slurmConf, store, simulateTrials, simulateTasks,
        };
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                if (parse.GetValue(simulateTrials) is { } n)
                    return await ClusterScaleBenchmark.RunAsync(Math.Max(2, n), Math.Max(1, parse.GetValue(simulateTasks)), parse.GetValue(store), Console.Out, ct);
                return await RunAsync(new Settings(Math.Max(1, parse.GetValue(trials)), Math.Max(1, parse.GetValue(epochs)), Math.Max(1, parse.GetValue(tasks)),
                    Math.Max(1, parse.GetValue(repeats)), parse.GetValue(slurmConf)?.FullName, parse.GetValue(store)), Console.Out, ct);
            }
            catch (LocalClusterException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private sealed record Settings(int Trials, int Epochs, int Tasks, int Repeats, string? SlurmConf, string? Store);

    /// <summary>What one run measured; times in seconds from the command's start.</summary>
    private sealed record Measurement(int Trials, int Slots, double Submitted, double FirstClaim, double LastResult, double Exit, double RunSum,
        double WorkerStart, double WithinTrial, double BetweenTrials, int Workers, int Attempts)
    {
        /// <summary>Slot time beyond the trials' own work, per trial.</summary>
        public double Overhead => (Slots * LastResult - RunSum) / Trials;
    }

    private static async Task<int> RunAsync(Settings settings, TextWriter output, CancellationToken ct)
    {
        var folder = Directory.CreateTempSubdirectory("studies-bench-cluster-").FullName;
        LocalPostgreSql? postgres = null;
        LocalSlurm? slurm = null;
        try
        {
            // Started before anything is timed: a cluster's daemons are up long before a study is submitted.
            if (settings.Store is null) postgres = LocalPostgreSql.Start();
            if (settings.SlurmConf is null) slurm = LocalSlurm.Start(settings.Tasks);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{settings.Trials} trials of {settings.Epochs} epochs through a Slurm job array of {settings.Tasks} task(s) ({(slurm is null ? settings.SlurmConf : "a single-node Slurm started here")}), store {(postgres is null ? "given" : "a PostgreSQL server started here")}"));
            var runs = new List<Measurement>();
            for (var r = 0; r < settings.Repeats; r++)
            {
                var name = $"bench-cluster-{r + 1}-{Guid.NewGuid():N}"[..24];
                var location = postgres is null ? settings.Store! : postgres.ViaSocket(await postgres.CreateDatabaseAsync(ct));
                var m = await MeasureAsync(settings, name, location, slurm, Path.Combine(folder, name), ct);
                runs.Add(m);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"run {r + 1}: {m.Trials} trials, last result {m.LastResult:F1} s after the command started (job submitted at {m.Submitted:F1} s, first trial claimed at {m.FirstClaim:F1} s; the command ended at {m.Exit:F1} s); " +
                    $"trials' own run {m.RunSum / m.Trials:F2} s mean, {m.RunSum:F1} s in all; per trial beyond its own run: {m.WithinTrial:F3} s from claim to result, {m.BetweenTrials:F3} s from a result to the task's next claim; " +
                    $"{m.Workers} worker(s) starting in {m.WorkerStart:F2} s each (beyond the rest's claim to result), {m.Attempts} attempt(s); overhead {m.Overhead:F3} s per trial"));
            }
            var o = runs.Select(m => m.Overhead).ToList();
            var best = runs.MinBy(m => m.Overhead)!;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"overhead per trial = ({best.Slots} tasks x time to the last result - trials' own run time) / trials; best {o.Min():F3} s, spread {o.Min():F3}-{o.Max():F3} s over {runs.Count} run(s); " +
                $"as wall time (time to the last result - own run time / tasks) / trials: {o.Min() / best.Slots:F3} s"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cluster overhead per trial: {o.Min():F2} s"));
            return 0;
        }
        finally
        {
            if (slurm is not null) await slurm.DisposeAsync();
            if (postgres is not null) await postgres.DisposeAsync();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<Measurement> MeasureAsync(Settings settings, string name, string location, LocalSlurm? slurm, string folder, CancellationToken ct)
    {
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "study.yaml");
        await File.WriteAllTextAsync(file, string.Create(CultureInfo.InvariantCulture, $$"""
            # {{settings.Trials}} short trials of a small net: the cluster path's cost per trial, not training, is measured.
            study: {{name}}
            data:
              source: gaussian-toy
              options: {masses: [-1, 0, 1], events_per_mass: 2000}
            base:
              model: {kind: dnn, hidden: [32, 32], activation: tanh}
              schedule:
                - {loss: bce, epochs: {{settings.Epochs}}, optimizer: adam, lr: 1.0e-2, batch: 256}
            matrix:
              seed: [{{string.Join(", ", Enumerable.Range(1, settings.Trials))}}]
            resources: {executor: slurm, array_parallel: {{settings.Tasks}}, threads_per_trial: 1}
            checkpoints: {{Path.Combine(folder, "checkpoints")}}
            """), ct);
        var self = WorkerCommandLine.Self();
        string[] args = [.. self.PrefixArguments, "run", file, "--store", location, "--home", Path.Combine(folder, "home")];
        ProcessStartInfo start;
        if (slurm is not null) start = slurm.Command(self.FileName, args);
        else
        {
            start = new ProcessStartInfo(self.FileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) start.ArgumentList.Add(a);
            start.Environment["SLURM_CONF"] = settings.SlurmConf;
        }
        var started = StoreClock.Now();
        var clock = Stopwatch.StartNew();
        using (var process = Process.Start(start)!)
        {
            var stdout = process.StandardOutput.ReadToEndAsync(ct);
            var stderr = process.StandardError.ReadToEndAsync(ct);
            await process.WaitForExitAsync(ct);
            if (process.ExitCode != 0)
                throw new LocalClusterException($"studies run of the benchmark's study failed ({process.ExitCode}): {(await stderr).Trim()} {(await stdout).Trim()}".Trim());
        }
        var exit = clock.Elapsed.TotalSeconds;

        await using var store = await PostgreSqlStudyStorage.OpenAsync(location, StoreAccess.ReadOnly, ct: ct);
        var study = (await store.FindStudyAsync(name, ct))!;
        var trials = (await store.ListTrialsAsync(study.Id, ct)).Where(t => t.InDefinition).ToList();
        var jobs = await store.ListJobsAsync(study.Id, ct);
        var run = trials.ToDictionary(t => t.TrialId, t => RunSeconds(t.Provenance));
        // Per array task, its trials in order: the gap from one's result to the next's claim is the task's claim loop.
        var byTask = trials.GroupBy(t => t.Placement?.GetValueOrDefault("job") ?? t.Owner ?? "").Select(g => g.OrderBy(t => t.StartedAt).ToList()).ToList();
        var between = byTask.SelectMany(g => g.Zip(g.Skip(1), (a, b) => (b.StartedAt ?? 0) - (a.FinishedAt ?? 0))).DefaultIfEmpty().Average();
        // A worker's first trial also waits for it to start (runtime, libtorch): told apart, it does not grow with the trials.
        double Beyond(TrialRow t) => (t.FinishedAt ?? 0) - (t.StartedAt ?? 0) - run[t.TrialId];
        var first = trials.Where(t => ProvenanceValue(t.Provenance, "worker_trials") == "1").ToList();
        var rest = trials.Except(first).ToList();
        var within = rest.Select(Beyond).DefaultIfEmpty().Average();
        var workerStart = first.Select(Beyond).DefaultIfEmpty().Average() - within;
        var workers = trials.Select(t => ProvenanceValue(t.Provenance, "worker_pid")).Distinct().Count();
        return new Measurement(trials.Count, settings.Tasks, jobs.Min(j => j.SubmittedAt) - started, trials.Min(t => t.StartedAt ?? double.MaxValue) - started,
            trials.Max(t => t.FinishedAt ?? 0) - started, exit, run.Values.Sum(), workerStart, within, between, workers, trials.Sum(t => t.Attempts));
    }

    private static double RunSeconds(string? provenance) =>
        double.TryParse(ProvenanceValue(provenance, "run_seconds"), CultureInfo.InvariantCulture, out var s) ? s : 0;

    private static string? ProvenanceValue(string? provenance, string key)
    {
        if (provenance is null) return null;
        using var json = JsonDocument.Parse(provenance);
        return json.RootElement.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }
}
