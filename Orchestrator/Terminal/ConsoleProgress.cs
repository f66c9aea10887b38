using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Terminal;

/// <summary>
/// Live progress of a study run: one bar per running trial (epoch of total, device, loss), k/N
/// done and an ETA. On a terminal it redraws in place (Spectre.Console); otherwise (CI, a log
/// file) it prints one line per finished trial.
/// </summary>
public sealed class ConsoleProgress : IExecutionObserver
{
    private readonly ConcurrentDictionary<string, (TrialProgress? Progress, string Device, Stopwatch Clock)> running = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private int total;
    private int alreadyDone;
    private int done;
    private readonly bool interactive;
    private readonly IAnsiConsole console;

    public ConsoleProgress(IAnsiConsole console)
    {
        this.console = console;
        interactive = console.Profile.Capabilities.Interactive && !System.Console.IsOutputRedirected;
    }

    public void RunStarting(string study, int total, int alreadyFinished, string plan)
    {
        this.total = total;
        alreadyDone = alreadyFinished;
        console.MarkupLineInterpolated($"[bold]{study}[/]: {total} trials, {alreadyFinished} already finished; {plan}");
    }

    public void TrialStarted(TrialRow trial, DeviceSlot slot)
    {
        running[trial.TrialId] = (null, slot.Device, Stopwatch.StartNew());
        if (!interactive) console.MarkupLineInterpolated($"[grey]start[/] {trial.TrialId} on {slot.Device}  {Axes(trial)}");
    }

    public void TrialProgress(TrialProgress progress)
    {
        if (running.TryGetValue(progress.TrialId, out var entry)) running[progress.TrialId] = entry with { Progress = progress };
    }

    public void TrialEnded(string trialId, TrialState state, string? error)
    {
        running.TryRemove(trialId, out var entry);
        if (state.IsFinal()) Interlocked.Increment(ref done);
        var colour = state switch { TrialState.Completed => "green", TrialState.Queued => "yellow", TrialState.Interrupted => "yellow", _ => "red" };
        var seconds = entry.Clock?.Elapsed.TotalSeconds ?? 0;
        var detail = error is null ? "" : $": {error.Split('\n')[0]}";
        if (state == TrialState.Queued) detail = $" (will retry){detail}";
        console.MarkupLineInterpolated($"[{colour}]{state.Name(),-11}[/] {trialId} {seconds,6:F1} s  [{colour}]{Truncate(detail, 160)}[/]  {done + alreadyDone}/{total}");
    }

    /// <summary>Redraws the live view until <paramref name="work"/> finishes.</summary>
    public async Task<T> ShowWhile<T>(Task<T> work)
    {
        if (!interactive) return await work;
        T result = default!;
        await console.Live(Render()).AutoClear(true).StartAsync(async ctx =>
        {
            while (!work.IsCompleted)
            {
                ctx.UpdateTarget(Render());
                await Task.WhenAny(work, Task.Delay(250));
            }
            result = await work;
        });
        return result;
    }

    private Spectre.Console.Rendering.IRenderable Render()
    {
        var finished = done + alreadyDone;
        var elapsed = clock.Elapsed;
        var rate = done > 0 ? elapsed.TotalSeconds / done : double.NaN;
        var eta = double.IsFinite(rate) ? TimeSpan.FromSeconds(rate * Math.Max(0, total - finished)).ToString(@"hh\:mm\:ss") : "--:--:--";
        var table = new Table().Border(TableBorder.Simple).AddColumns("trial", "device", "progress", "epoch", "loss", "val_loss");
        foreach (var (id, (progress, device, _)) in running.OrderBy(r => r.Key))
        {
            var epoch = progress?.Epoch ?? 0;
            var of = Math.Max(1, progress?.TotalEpochs ?? 1);
            var bar = new string('█', (int)(20.0 * epoch / of)).PadRight(20, '░');
            table.AddRow(id, device, bar, $"{epoch}/{of}", Format(progress, "loss"), Format(progress, "val_loss"));
        }
        return new Rows(new Markup($"[bold]{finished}/{total}[/] trials done, {running.Count} running, elapsed {elapsed:hh\\:mm\\:ss}, ETA {eta}"), table);
    }

    private static string Format(TrialProgress? p, string metric) =>
        p is not null && p.Metrics.TryGetValue(metric, out var v) ? v.ToString("G4", System.Globalization.CultureInfo.InvariantCulture) : "";

    private static string Axes(TrialRow trial) => string.Join(", ", trial.Axes.Select(a => $"{a.Key}={a.Value}"));

    private static string Truncate(string s, int n) => s.Length <= n ? s : s[..n] + "...";
}

/// <summary>Progress as log lines, for the hosted service (no terminal to redraw).</summary>
public sealed class LoggingProgress(ILogger logger) : IExecutionObserver
{
    public void RunStarting(string study, int total, int alreadyFinished, string plan) =>
        logger.LogInformation("{Study}: {Total} trials, {Finished} already finished; {Plan}", study, total, alreadyFinished, plan);

    public void TrialStarted(TrialRow trial, DeviceSlot slot) => logger.LogInformation("start {Trial} on {Device}", trial.TrialId, slot.Device);

    public void TrialEnded(string trialId, TrialState state, string? error)
    {
        if (error is null) logger.LogInformation("{State} {Trial}", state.Name(), trialId);
        else logger.LogWarning("{State} {Trial}: {Error}", state.Name(), trialId, error.Split('\n')[0]);
    }
}

/// <summary>Observers for the foreground <c>studies run</c>: a live Spectre table.</summary>
public sealed class ConsoleProgressFactory(IAnsiConsole console) : IExecutionObserverFactory
{
    public IExecutionObserver Create(string study) => new ConsoleProgress(console);
}

/// <summary>Observers for <c>studies serve</c>: log lines.</summary>
public sealed class LoggingProgressFactory(ILoggerFactory loggers) : IExecutionObserverFactory
{
    public IExecutionObserver Create(string study) => new LoggingProgress(loggers.CreateLogger("Studies.Progress"));
}
