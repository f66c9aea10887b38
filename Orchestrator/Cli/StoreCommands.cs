using System.CommandLine;
using Studies.Orchestrator.Actions;
using System.Globalization;
using Spectre.Console;
using Studies.Orchestrator.Storage;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Cli;

/// <summary><c>studies status | list | cancel | retry</c>: read and steer recorded studies (safe while a run is writing).</summary>
internal static class StoreCommands
{
    private static readonly Argument<string> StudyName = new("study") { Description = "The study's name (its `study:` key)" };

    public static Command List()
    {
        var command = new Command("list", "List recorded studies with their trial counts by state");
        command.SetAction(async (parse, ct) =>
        {
            await using var opened = await CommonOptions.OpenExistingStoreAsync(parse, StoreAccess.ReadOnly, ct);
            if (opened is null) return 1;
            var store = opened.Store;
            var table = new Table().AddColumns(["study", .. TrialStates.All.Select(s => s.Name()), "updated"]);
            foreach (var study in await store.ListStudiesAsync(ct))
            {
                var counts = await store.CountStatesAsync(study.Id, ct);
                table.AddRow([Markup.Escape(study.Name), .. TrialStates.All.Select(s => counts.Count(s).ToString(CultureInfo.InvariantCulture)),
                    DateTimeOffset.FromUnixTimeMilliseconds((long)(study.UpdatedAt * 1000)).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)]);
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// <c>studies check-store</c>: the full integrity check of the store (every page, record and index entry; a command
    /// that writes runs only SQLite's bounded quick check). Exit 0 when sound, 4 with what is wrong.
    /// </summary>
    public static Command CheckStore()
    {
        var command = new Command("check-store", "Check the store's file in full (damage, truncation, another program's database); exit 4 if it is not sound");
        command.SetAction(async (parse, ct) =>
        {
            // Without the quick check of other reading commands: this one reports every problem it finds.
            await using var opened = await CommonOptions.OpenExistingStoreAsync(parse, StoreAccess.ReadOnly, ct, quickCheck: false);
            if (opened is null) return 1;
            string result;
            try
            {
                result = await opened.Store.IntegrityCheckAsync(ct);
            }
            catch (StoreException e) when (e.InnerException is Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 11 or 26 })
            {
                // SQLite stops its check at damage it cannot walk past (a page that is not a page).
                Console.Error.WriteLine($"error: {opened.Store.Location} is damaged ({e.InnerException.Message}); restore it from a backup");
                return ExitCodes.Store;
            }
            if (result == "ok")
            {
                var studies = await opened.Store.ListStudiesAsync(ct);
                Console.WriteLine($"ok: {opened.Store.Location} is sound ({studies.Count} stud{(studies.Count == 1 ? "y" : "ies")})");
                return 0;
            }
            var problems = result.Split('\n');
            Console.Error.WriteLine($"error: {opened.Store.Location} is damaged ({problems.Length} problem{(problems.Length == 1 ? "" : "s")} found" +
                $"{(problems.Length >= 100 ? ", the first 100 shown" : "")}); restore it from a backup. Commands that only read may still export what is intact");
            foreach (var p in problems.Take(20)) Console.Error.WriteLine($"  {Clip(p)}");
            return ExitCodes.Store;
        });
        return command;
    }

    private static string Clip(string line) => line.Length <= 200 ? line : line[..200] + "...";

    public static Command Status()
    {
        var command = new Command("status", "Progress of a study: trials by state, running trials with epoch and device, failures") { StudyName };
        command.SetAction(async (parse, ct) =>
        {
            await using var opened = await CommonOptions.OpenExistingStoreAsync(parse, StoreAccess.ReadOnly, ct);
            if (opened is null) return 1;
            var store = opened.Store;
            var study = await CommonOptions.FindStudyAsync(store, parse.GetValue(StudyName)!, ct);
            if (study is null) return 1;
            // Counts and a bounded page of each list, never every row: a study of 100,000 trials reads as fast as one of 10.
            var counts = await store.CountStatesAsync(study.Id, ct);
            var finished = counts.Finished;
            var byState = string.Join("  ", TrialStates.All.Where(s => counts.Count(s) > 0).Select(s => $"{s.Name()} {counts.Count(s)}"));
            AnsiConsole.MarkupLineInterpolated($"[bold]{study.Name}[/]: {finished}/{counts.Total} finished  {byState}");
            var runningPage = await store.ListTrialsWhereAsync(study.Id, [TrialState.Running], int.MaxValue, ShownRunning, ct);
            var running = runningPage.Trials;
            if (running.Count > 0)
            {
                var table = new Table().Title("running").AddColumns("trial", "device", "where", "phase", "epoch", "attempt", "heartbeat", "axes");
                var now = StoreClock.Now();
                foreach (var t in running)
                {
                    var beat = t.HeartbeatAt is { } h ? $"{now - h:F0} s ago" : "";
                    // A lease that ran out means the owner died (or froze); the next run reclaims the trial.
                    if (t.LeaseExpired(now)) beat += " [yellow](lease expired: resumes at the next run)[/]";
                    table.AddRow(t.TrialId, t.Device ?? "", Markup.Escape(Where(t.Placement)), (t.Phase + 1)?.ToString(CultureInfo.InvariantCulture) ?? "",
                        t.Epoch?.ToString(CultureInfo.InvariantCulture) ?? "", t.Attempts.ToString(CultureInfo.InvariantCulture), beat, Markup.Escape(Axes(t)));
                }
                AnsiConsole.Write(table);
                More(runningPage);
            }
            var badPage = await store.ListTrialsWhereAsync(study.Id, TrialStates.All.Where(s => s.IsProblem()).ToList(), int.MaxValue, ShownProblems, ct);
            if (badPage.Trials.Count > 0)
            {
                var table = new Table().Title("not completed").AddColumns("trial", "state", "attempts", "reason", "axes");
                foreach (var t in badPage.Trials) table.AddRow(t.TrialId, t.State.Name(), t.Attempts.ToString(CultureInfo.InvariantCulture), Markup.Escape(FirstLine(t.Error)), Markup.Escape(Axes(t)));
                AnsiConsole.Write(table);
                More(badPage);
            }
            var stoppedPage = await store.ListTrialsWhereAsync(study.Id, [TrialState.Interrupted, TrialState.Failed], 2, ShownProblems, ct);
            await WriteClusterStopsAsync(store, study, stoppedPage.Trials, ct);
            var outside = await store.CountOutsideDefinitionAsync(study.Id, ct);
            if (outside > 0) AnsiConsole.MarkupLine($"[grey]{outside} recorded trial(s) are outside the current study definition (kept, not run)[/]");
            return 0;
        });
        return command;
    }

    public static Command Cancel()
    {
        var command = new Command("cancel", "Cancel the queued and interrupted trials of a study (running ones finish; records are kept)") { StudyName };
        command.SetAction(async (parse, ct) =>
        {
            await using var opened = await CommonOptions.OpenExistingStoreAsync(parse, StoreAccess.ReadWrite, ct);
            if (opened is null) return 1;
            var store = opened.Store;
            var study = await CommonOptions.FindStudyAsync(store, parse.GetValue(StudyName)!, ct);
            if (study is null) return 1;
            var n = await StudyActions.CancelAsync(store, study, ct);
            Console.WriteLine($"{study.Name}: cancelled {n} trial(s); `studies run` the file again to resume them");
            // A study run on a cluster: its job arrays go too, and their running trials stop (recorded interrupted).
            var jobs = (await store.ListJobsAsync(study.Id, ct)).Where(j => j.Executor == Cluster.SlurmTrialExecutor.Name).Select(j => j.JobId).ToList();
            if (jobs.Count == 0) return 0;
            try
            {
                await new Cluster.SlurmCommands().CancelAsync(jobs, ct);
                Console.WriteLine($"{study.Name}: cancelled Slurm job(s) {string.Join(", ", jobs)}");
                return 0;
            }
            catch (Cluster.SlurmException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    public static Command Retry()
    {
        var failed = new Option<bool>("--failed") { Description = "Also queue failed trials again (attempts keep counting; their retry budget starts over)" };
        var command = new Command("retry", "Queue interrupted (and with --failed, failed) trials of a study again; `studies run` the file to run them") { StudyName, failed };
        command.SetAction(async (parse, ct) =>
        {
            await using var opened = await CommonOptions.OpenExistingStoreAsync(parse, StoreAccess.ReadWrite, ct);
            if (opened is null) return 1;
            var store = opened.Store;
            var study = await CommonOptions.FindStudyAsync(store, parse.GetValue(StudyName)!, ct);
            if (study is null) return 1;
            var n = await StudyActions.RetryAsync(store, study, parse.GetValue(failed), ct);
            Console.WriteLine($"{study.Name}: {n} trial(s) queued again");
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Attempts whose cluster task stopped before they finished (scancel, the time limit, preemption, a node failure): when,
    /// where, Slurm's state for the task and what became of the attempt. Only trials an attempt left unfinished are read.
    /// </summary>
    private static async Task WriteClusterStopsAsync(IStudyStorage store, StudyRow study, IReadOnlyList<TrialRow> trials, CancellationToken ct)
    {
        var table = new Table().Title("attempts stopped on the cluster").AddColumns("trial", "attempt", "job", "node", "slurm state", "outcome");
        foreach (var t in trials.Where(Cluster.SlurmEndStates.MayHaveStoppedAttempts))
        {
            foreach (var a in (await store.ListAttemptsAsync(study.Id, t.TrialId, ct)).Where(Cluster.SlurmEndStates.StoppedOnCluster))
            {
                var job = a.Placement["job"];
                var state = a.Placement.GetValueOrDefault("slurm_state", "");
                if (a.Placement.GetValueOrDefault("slurm_reason") is { } reason) state += $" ({reason})";
                table.AddRow(t.TrialId, a.Attempt.ToString(CultureInfo.InvariantCulture), Markup.Escape(job), Markup.Escape(a.Placement.GetValueOrDefault("node", "")),
                    Markup.Escape(state), Markup.Escape(a.Outcome!));
            }
        }
        if (table.Rows.Count > 0) AnsiConsole.Write(table);
    }

    /// <summary>Rows of each list `status` shows; the rest are counted.</summary>
    private const int ShownRunning = 200, ShownProblems = 50;

    private static void More(TrialPage page)
    {
        if (page.Total > page.Trials.Count) AnsiConsole.MarkupLine($"[grey]... and {page.Total - page.Trials.Count} more[/]");
    }

    /// <summary>Host and, on a cluster, job and node of the current attempt.</summary>
    private static string Where(IReadOnlyDictionary<string, string>? placement) =>
        placement is null ? "" : string.Join(" ", new[] { "host", "job", "node", "slurm_state" }.Where(placement.ContainsKey).Select(k => placement[k]));

    private static string Axes(TrialRow t) => string.Join(", ", t.Axes.Select(a => $"{a.Key}={a.Value}"));

    private static string FirstLine(string? s) => s is null ? "" : s.Split('\n')[0];
}
