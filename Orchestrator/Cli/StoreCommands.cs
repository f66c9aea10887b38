using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Studies.Orchestrator.Actions;
using Studies.Orchestrator.Storage;

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
            await using var store = await CommonOptions.OpenExistingStoreAsync(parse, ct);
            if (store is null) return 1;
            var table = new Table().AddColumns(["study", .. TrialState.All, "updated"]);
            foreach (var study in await store.ListStudiesAsync(ct))
            {
                var counts = await store.CountStatesAsync(study.Id, ct);
                table.AddRow([Markup.Escape(study.Name), .. TrialState.All.Select(s => counts.Count(s).ToString(CultureInfo.InvariantCulture)),
                    DateTimeOffset.FromUnixTimeMilliseconds((long)(study.UpdatedAt * 1000)).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)]);
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    public static Command Status()
    {
        var command = new Command("status", "Progress of a study: trials by state, running trials with epoch and device, failures") { StudyName };
        command.SetAction(async (parse, ct) =>
        {
            await using var store = await CommonOptions.OpenExistingStoreAsync(parse, ct);
            if (store is null) return 1;
            var study = await CommonOptions.FindStudyAsync(store, parse.GetValue(StudyName)!, ct);
            if (study is null) return 1;
            var trials = (await store.ListTrialsAsync(study.Id, ct)).Where(t => t.InDefinition).ToList();
            var counts = await store.CountStatesAsync(study.Id, ct);
            var finished = counts.Count(TrialState.Completed) + counts.Count(TrialState.Failed) + counts.Count(TrialState.Diverged);
            var byState = string.Join("  ", TrialState.All.Where(s => counts.Count(s) > 0).Select(s => $"{s} {counts.Count(s)}"));
            AnsiConsole.MarkupLineInterpolated($"[bold]{study.Name}[/]: {finished}/{counts.Total} finished  {byState}");
            var running = trials.Where(t => t.State == TrialState.Running).ToList();
            if (running.Count > 0)
            {
                var table = new Table().Title("running").AddColumns("trial", "device", "phase", "epoch", "attempt", "heartbeat", "axes");
                foreach (var t in running)
                {
                    var beat = t.HeartbeatAt is { } h ? $"{StudyStore.Now() - h:F0} s ago" : "";
                    table.AddRow(t.TrialId, t.Device ?? "", (t.Phase + 1)?.ToString(CultureInfo.InvariantCulture) ?? "", t.Epoch?.ToString(CultureInfo.InvariantCulture) ?? "",
                        t.Attempts.ToString(CultureInfo.InvariantCulture), beat, Markup.Escape(Axes(t)));
                }
                AnsiConsole.Write(table);
            }
            var bad = trials.Where(t => t.State is TrialState.Failed or TrialState.Diverged or TrialState.Interrupted).ToList();
            if (bad.Count > 0)
            {
                var table = new Table().Title("not completed").AddColumns("trial", "state", "attempts", "reason", "axes");
                foreach (var t in bad) table.AddRow(t.TrialId, t.State, t.Attempts.ToString(CultureInfo.InvariantCulture), Markup.Escape(FirstLine(t.Error)), Markup.Escape(Axes(t)));
                AnsiConsole.Write(table);
            }
            var outside = (await store.ListTrialsAsync(study.Id, ct)).Count(t => !t.InDefinition);
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
            await using var store = await CommonOptions.OpenExistingStoreAsync(parse, ct);
            if (store is null) return 1;
            var study = await CommonOptions.FindStudyAsync(store, parse.GetValue(StudyName)!, ct);
            if (study is null) return 1;
            var cancelled = await StudyActions.CancelAsync(store, study, ct);
            Console.WriteLine($"{study.Name}: cancelled {cancelled} trial(s); `studies run` the file again to resume them");
            return 0;
        });
        return command;
    }

    public static Command Retry()
    {
        var failed = new Option<bool>("--failed") { Description = "Also queue failed trials again (their attempts start over)" };
        var command = new Command("retry", "Queue interrupted (and with --failed, failed) trials of a study again; `studies run` the file to run them") { StudyName, failed };
        command.SetAction(async (parse, ct) =>
        {
            await using var store = await CommonOptions.OpenExistingStoreAsync(parse, ct);
            if (store is null) return 1;
            var study = await CommonOptions.FindStudyAsync(store, parse.GetValue(StudyName)!, ct);
            if (study is null) return 1;
            var n = await StudyActions.RetryAsync(store, study, parse.GetValue(failed), ct);
            Console.WriteLine($"{study.Name}: {n} trial(s) queued again");
            return 0;
        });
        return command;
    }

    private static string Axes(TrialRow t) => string.Join(", ", t.Axes.Select(a => $"{a.Key}={a.Value}"));

    private static string FirstLine(string? s) => s is null ? "" : s.Split('\n')[0];
}
