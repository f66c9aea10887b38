using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Terminal;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary>
/// <c>resources.fuse</c> through the real <c>studies</c> program: the quickstart with <c>fuse: auto</c> records what it
/// records unfused and reaches the same verdict; a fused study SIGKILLed three times resumes each member from its own
/// checkpoint, with nothing lost, duplicated or left running.
/// </summary>
public sealed class FusedStudyTests : IDisposable
{
    /// <summary>The epochs of e2e-fuse.yaml's trials.</summary>
    private const int Epochs = 150;

    private readonly StudiesHome home = new();
    private readonly StudiesHome unfusedHome = new();

    public void Dispose()
    {
        home.Dispose();
        unfusedHome.Dispose();
    }

    private static string Quickstart()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "studies", "quickstart.yaml");
            if (File.Exists(Path.Combine(dir.FullName, "Studies.sln")) && File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("studies/quickstart.yaml not found above the test folder");
    }

    private static async Task<Dictionary<string, (TrialRow Row, TrialResult Result)>> ResultsAsync(StudiesHome at, string study)
    {
        await using var store = await at.OpenStoreAsync();
        var row = (await store.FindStudyAsync(study))!;
        var results = new Dictionary<string, (TrialRow, TrialResult)>();
        foreach (var t in await store.ListTrialsAsync(row.Id)) results[t.TrialId] = (t, await store.LoadResultAsync(row.Id, t));
        return results;
    }

    private static double Relative(double x, double y) => x == y ? 0 : Math.Abs(x - y) / Math.Max(1e-3, Math.Abs(y));

    [Fact]
    public async Task The_quickstart_fused_auto_records_each_trials_results_and_verdict_as_unfused()
    {
        var shipped = Quickstart();
        var text = File.ReadAllText(shipped);
        Assert.Contains("resources: {threads_per_trial: 1}", text);
        var fusedFile = Path.Combine(home.Root, "quickstart.yaml");
        File.WriteAllText(fusedFile, text.Replace("resources: {threads_per_trial: 1}", "resources: {threads_per_trial: 1, fuse: auto}"));

        var fused = await home.RunAsync(TimeSpan.FromMinutes(6), "run", fusedFile, "--progress", "log");
        Assert.True(fused.ExitCode == 0, fused.ToString());
        var unfused = await unfusedHome.RunAsync(TimeSpan.FromMinutes(6), "run", shipped, "--progress", "log");
        Assert.True(unfused.ExitCode == 0, unfused.ToString());

        var a = await ResultsAsync(home, "quickstart");
        var b = await ResultsAsync(unfusedHome, "quickstart");
        // The same trials (fusing is no part of a trial's id), all completed. The dnn trials (3 schedules x 2 seeds) trained in
        // pairs, one pack per schedule; the pnn ones have dropout (the pnn's default), which a pack does not stack: alone.
        Assert.Equal(b.Keys.Order(), a.Keys.Order());
        Assert.Equal(12, a.Count);
        Assert.All(a.Values.Concat(b.Values), t => Assert.Equal(TrialState.Completed, t.Row.State));
        string? Members(TrialRow t) => JsonNode.Parse(t.Provenance!)!["pack_members"]?.GetValue<string>();
        var packed = a.Values.Select(t => $"{t.Row.Axes["model.kind"]} {Members(t.Row) ?? "alone"}").Order().ToList();
        Assert.Equal([.. Enumerable.Repeat("dnn 2", 6), .. Enumerable.Repeat("pnn alone", 6)], packed);
        Assert.All(b.Values, t => Assert.Null(Members(t.Row)));

        // Members match their unfused runs (weights within 1e-5 after 10 steps, tests/Trials.Tests/Fusion), and so do their
        // records, measured here (load ~27): every epoch's training loss within 3.4e-5 (relative), the smooth per-mass
        // metrics (ROC and PR AUC, the significance at a fixed cut, the global cut) within 4.7e-4, each trial's headline (averaged over
        // its trained and over its held-out masses, as progress and the report rank it) within 1.0%. A best-cut metric at one
        // mass moves more (z_best up to 7.5%, sigma_min_best_cut 6.7%): the best cut over a sparse background tail jumps
        // between nearly equal cuts at the smallest change of the scores; the two seeds of a method differ by far more.
        string[] smooth = ["roc_auc", "pr_auc", "z_cut", "global_cut"];
        foreach (var (id, (row, fusedResult)) in a)
        {
            var alone = b[id].Result;
            var what = $"trial {id} ({string.Join(", ", row.Axes.Values)})";
            Assert.Equal(alone.BestEpoch, fusedResult.BestEpoch);
            Assert.Equal(alone.Epochs.Count, fusedResult.Epochs.Count);
            foreach (var (x, y) in fusedResult.Epochs.Zip(alone.Epochs))
                Assert.True(Relative(x.Metrics["loss"], y.Metrics["loss"]) <= 1e-4, $"{what} epoch {y.Epoch}: loss {x.Metrics["loss"]} fused, {y.Metrics["loss"]} alone");
            Assert.Equal(alone.Masses.Select(m => (m.Mass, m.Split, m.EpochKind)), fusedResult.Masses.Select(m => (m.Mass, m.Split, m.EpochKind)));
            foreach (var (x, y) in fusedResult.Masses.Zip(alone.Masses))
            {
                foreach (var metric in smooth.Where(y.Metrics.ContainsKey))
                    Assert.True(Relative(x.Metrics[metric], y.Metrics[metric]) <= 2e-3, $"{what} mass {y.Mass} {y.Split} {y.EpochKind} {metric}: {x.Metrics[metric]} fused, {y.Metrics[metric]} alone");
            }
            var (fusedTrained, fusedHeldout) = TrialLabels.Headline(fusedResult, "sigma_min_best_cut");
            var (trained, heldout) = TrialLabels.Headline(alone, "sigma_min_best_cut");
            Assert.True(Relative(fusedTrained, trained) <= 0.03 && Relative(fusedHeldout, heldout) <= 0.03,
                $"{what}: sigma_min_best_cut {fusedTrained} trained, {fusedHeldout} held-out fused; {trained}, {heldout} alone");
        }

        // The report's verdict, the line before the report path, is the same.
        string Verdict(CliResult run) => run.StdoutLines.Single(l => l.StartsWith("verdict ", StringComparison.Ordinal));
        Assert.Equal(Verdict(unfused), Verdict(fused));
    }

    /// <summary>e2e-fuse's eight trials, each checked completed once (every epoch and per-mass metric recorded once).</summary>
    private async Task<IReadOnlyList<TrialRow>> EightCompletedOnceAsync(IStudyStorage store)
    {
        var study = (await store.FindStudyAsync("e2e-fuse"))!;
        var trials = await store.ListTrialsAsync(study.Id);
        Assert.Equal(8, trials.Count);
        foreach (var t in trials) await RecordChecks.AssertCompletedOnceAsync(home, store, study.Id, t);
        return trials;
    }

    /// <summary>Each trial folder's checkpoint: the epochs it holds (0: none yet).</summary>
    private static IReadOnlyList<(string Trial, int Epochs)> Checkpoints(string trialsFolder)
    {
        if (!Directory.Exists(trialsFolder)) return [];
        var found = new List<(string, int)>();
        foreach (var folder in Directory.GetDirectories(trialsFolder))
        {
            var checkpoint = Path.Combine(folder, "checkpoint.json");
            try
            {
                found.Add((Path.GetFileName(folder), File.Exists(checkpoint) ? JsonNode.Parse(File.ReadAllText(checkpoint))!["global_epoch"]!.GetValue<int>() : 0));
            }
            catch (Exception e) when (e is IOException or System.Text.Json.JsonException)
            {
                found.Add((Path.GetFileName(folder), 0)); // being replaced this moment
            }
        }
        return found;
    }

    [Fact]
    public async Task A_fused_study_killed_three_times_resumes_each_member_from_its_checkpoint_with_nothing_lost_or_duplicated()
    {
        var file = StudiesHome.StudyFile("e2e-fuse.yaml");
        var trialsFolder = Path.Combine(home.Root, "e2e-fuse", "trials");
        var random = new Random(24);
        // Trials killed part-way with a checkpoint: (trial, epochs its checkpoint holds).
        var interrupted = new List<(string Trial, int Epochs)>();
        for (var round = 0; round < 3; round++)
        {
            using var run = home.Start("run", file, "--progress", "log");
            // Killed at a random point of progress: once some member's checkpoint has moved a random number of epochs
            // past where this round found it, short of the end. Not after a random delay: a pack trained all of its (then)
            // 60 epochs in about 2 s on a quiet machine (CI's whole run once ended inside a 0-2 s delay), while a loaded
            // one starts workers slowly.
            var atStart = Checkpoints(trialsFolder).ToDictionary(c => c.Trial, c => c.Epochs);
            var advance = random.Next(2, 25);
            var started = System.Diagnostics.Stopwatch.StartNew();
            while (!run.HasExited && started.Elapsed < TimeSpan.FromSeconds(120)
                   && !Checkpoints(trialsFolder).Any(c => c.Epochs < Epochs && c.Epochs >= atStart.GetValueOrDefault(c.Trial) + advance))
                await Task.Delay(10);
            if (run.HasExited) break;
            run.KillHard();
            await run.WaitAsync(TimeSpan.FromSeconds(90));
            Assert.Empty(await home.WaitForNoWorkersAsync(TimeSpan.FromSeconds(10)));
            interrupted.AddRange(Checkpoints(trialsFolder).Where(c => c.Epochs is > 0 and < Epochs));
        }
        Assert.True(interrupted.Count > 0, "no kill came while a member had a checkpoint part-way");
        // A worker writes its trial's log itself, so what it says after its orchestrator died is there too.
        Assert.Contains(Directory.GetDirectories(trialsFolder), t => File.ReadAllText(Path.Combine(t, "worker.log")).Contains("the orchestrator is gone", StringComparison.Ordinal));

        var last = await home.RunAsync(TimeSpan.FromSeconds(300), "run", file, "--progress", "log");
        Assert.True(last.ExitCode == 0, last.ToString());

        await using var store = await home.OpenStoreAsync();
        var trials = await EightCompletedOnceAsync(store);
        Assert.Equal(0, home.Scalar("SELECT COUNT(*) FROM (SELECT 1 FROM epochs GROUP BY study_id, trial_id, phase, epoch, metric HAVING COUNT(*) > 1)"));
        Assert.Equal("ok", await store.IntegrityCheckAsync());
        Assert.Empty(home.WorkerPids());
        // They ran fused: some attempt trained a pack of four.
        Assert.Contains(trials, t => JsonNode.Parse(t.Provenance!)!["pack_members"]?.GetValue<string>() == "4");

        // Each member killed part-way took up its training right after its checkpoint, not from the start.
        foreach (var (trial, epochs) in interrupted.Distinct())
        {
            var log = File.ReadAllText(Path.Combine(trialsFolder, trial, "worker.log"));
            // A pack's log holds every member's lines, each under its member's id; a trial that ran alone says it unprefixed.
            Assert.True(Regex.IsMatch(log, $"(^|\\n)(worker: )?({trial}: )?resumed from its checkpoint: trains from epoch {epochs + 1}\\b"),
                $"trial {trial} had a checkpoint at epoch {epochs} but its log does not say it resumed there:\n{log}");
        }
    }

    [Fact]
    public async Task A_member_the_pruner_stops_leaves_its_pack_and_the_others_train_to_the_end()
    {
        var run = await home.RunAsync(TimeSpan.FromSeconds(300), "run", StudiesHome.StudyFile("e2e-fuse-search.yaml"), "--progress", "log");
        Assert.True(run.ExitCode == 0, run.ToString());

        await using var store = await home.OpenStoreAsync();
        var study = (await store.FindStudyAsync("e2e-fuse-search"))!;
        var trials = await store.ListTrialsAsync(study.Id);
        var describe = string.Join("\n", trials.Select(t => $"{t.TrialId} {t.State} {t.Error}"));
        Assert.Equal(8, trials.Count);
        Assert.True(trials.All(t => t.State is TrialState.Completed or TrialState.Pruned), describe);
        Assert.True(trials.Any(t => t.State == TrialState.Pruned) && trials.Any(t => t.State == TrialState.Completed), describe);

        // The survivors trained every epoch in the one pack of eight, after the others had left it.
        foreach (var t in trials.Where(t => t.State == TrialState.Completed))
        {
            await RecordChecks.AssertCompletedOnceAsync(home, store, study.Id, t);
            Assert.Equal("8", JsonNode.Parse(t.Provenance!)!["pack_members"]?.GetValue<string>());
        }
        // Each pruned member stopped training where it left the pack (its last recorded epoch), well before the end.
        foreach (var t in trials.Where(t => t.State == TrialState.Pruned))
        {
            var last = (int)home.Scalar("SELECT MAX(epoch) FROM epochs WHERE study_id = $s AND trial_id = $t", ("$s", study.Id), ("$t", t.TrialId));
            Assert.True(last < 120, $"{t.TrialId} trained to epoch {last}");
            Assert.True(TrialStates.PrunedEpoch(t.Error) <= last, t.Error);
            var log = File.ReadAllText(Path.Combine(home.Root, "e2e-fuse-search", "trials", t.TrialId, "worker.log"));
            Assert.Contains($"{t.TrialId}: leaves its pack after epoch {last}: the orchestrator asked it to stop", log);
        }
    }

    [Fact]
    public async Task A_worker_killed_mid_pack_fails_only_that_attempt_of_its_members_which_resume_from_their_checkpoints()
    {
        var file = StudiesHome.StudyFile("e2e-fuse.yaml");
        var trialsFolder = Path.Combine(home.Root, "e2e-fuse", "trials");
        using var run = home.Start("run", file, "--progress", "log");
        // Both packs training, each member with a checkpoint part-way and a fifth of its epochs still ahead (a pack trains
        // an epoch in about 35 ms on a quiet machine: one about to end could finish before the kill). With 60 epochs and
        // a quarter ahead, the two workers' packs, started 1-2 s apart on 2 cores, were never both in range (1 run in 6).
        var started = System.Diagnostics.Stopwatch.StartNew();
        while (!run.HasExited && started.Elapsed < TimeSpan.FromSeconds(120) && Checkpoints(trialsFolder) is var c && !(c.Count == 8 && c.All(x => x.Epochs > 0 && x.Epochs <= Epochs * 4 / 5)))
            await Task.Delay(10);
        Assert.False(run.HasExited, run.Stdout);
        // SIGKILL one pack's worker: its members' attempts crash, and they are retried (after the back-off) from their checkpoints.
        var worker = home.WorkerPids()[0];
        var before = Checkpoints(trialsFolder).Where(c => c.Epochs is > 0 and < Epochs).ToList();
        System.Diagnostics.Process.GetProcessById(worker).Kill();
        var result = await run.WaitAsync(TimeSpan.FromSeconds(300));
        Assert.True(result.ExitCode == 0, result.ToString());

        await using var store = await home.OpenStoreAsync();
        var trials = await EightCompletedOnceAsync(store);
        var retried = trials.Where(t => t.Attempts == 2).ToList();
        Assert.True(retried.Count is > 0 and <= 4, string.Join("\n", trials.Select(t => $"{t.TrialId} attempts {t.Attempts}")));
        Assert.All(trials, t => Assert.True(t.Attempts <= 2, $"{t.TrialId} attempts {t.Attempts}"));
        foreach (var t in retried)
        {
            var log = File.ReadAllText(Path.Combine(trialsFolder, t.TrialId, "worker.log"));
            var resumed = Regex.Match(log, $"(^|\\n)({t.TrialId}: )?resumed from its checkpoint: trains from epoch (?<epoch>\\d+)\\b");
            Assert.True(resumed.Success && int.Parse(resumed.Groups["epoch"].Value, System.Globalization.CultureInfo.InvariantCulture) is > 1 and <= Epochs, $"{t.TrialId}:\n{log}");
        }
        Assert.NotEmpty(before);
        Assert.Empty(await home.WaitForNoWorkersAsync(TimeSpan.FromSeconds(10)));
    }
}
