using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Terminal;

/// <summary>
/// Progress of a study run in the foreground. Each running trial is named by the compared axes and its seed
/// ("punzi, pnn, seed 2") with its phase (index and loss), epoch of total, training loss, validation loss and the
/// latest validation value of the headline metric. Every finished trial gets one line with its headline at trained
/// and held-out masses and the best trial so far (as Optuna's "value ... best is trial k"). On a terminal the running
/// trials are a live table under those lines; in log mode (not a terminal, or <c>--progress log</c>) a summary line
/// with the ETA is printed every <see cref="SummaryEvery"/> instead. The ETA comes from measured epoch rates
/// (<see cref="EtaEstimator"/>), so it is there from the first epoch on.
/// </summary>
public sealed class ConsoleProgress(TerminalOutput output) : IExecutionObserver
{
    private sealed class Row(string label, string device, Stopwatch clock)
    {
        public string Label { get; } = label;
        public string Device { get; } = device;
        public Stopwatch Clock { get; } = clock;
        public TrialProgress? Progress;
        public double? Headline;
        public IReadOnlyList<string> Phases = [];
    }

    private readonly ConcurrentDictionary<string, Row> running = new();
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private readonly Lock gate = new();
    private EtaEstimator eta = new(1);
    private RunOverview run = new("", 0, 0, "");
    private string headline = MetricNames.SigmaMinBestCut;
    private int done;
    private int total;
    private int alreadyDone;
    private readonly Dictionary<TrialState, int> ended = new();
    private (double Score, string Label, int Number)? best;

    /// <summary>How often log mode prints its summary line.</summary>
    public TimeSpan SummaryEvery { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Measures the cost model of the trials to run (seconds per epoch per phase, by kind: <see cref="EpochCostModel"/>);
    /// run in the background at the run's start, while the workers start, and handed to the ETA when done. Null: the ETA
    /// keeps the multiply-add model (tests, whose timelines are made up).
    /// </summary>
    public Func<IReadOnlyList<TrialSpec>, CancellationToken, CalibratedKinds>? Calibration { get; init; }

    /// <summary>The background calibration of the latest run (null: none); for the benchmark, which reports what it measured.</summary>
    public Task? Calibrating { get; private set; }

    /// <summary>
    /// The calibration <c>studies run</c> uses: every shape of the run, rounds of a few steps each for up to 1.5 s, so that
    /// it is there by the first epoch (the workers' start took 4-8 s at load 13-35 on 2 cores).
    /// </summary>
    public static CalibratedKinds Calibrate(IReadOnlyList<TrialSpec> specs, CancellationToken ct) =>
        EpochCostModel.Calibrate(specs, budgetSeconds: 1.5, ct);

    /// <summary>
    /// The calibrations still running in this process. The calibration drives libtorch on its own thread: a process that
    /// exits under it runs libtorch's static destructors while it still works ("corrupted double-linked list", exit 134,
    /// when a second Ctrl+C stopped a run 0.2 s after it started). So the process's exit stops them and waits.
    /// </summary>
    private static readonly List<(CancellationTokenSource Stop, Task Work)> Running = [];

    static ConsoleProgress() => AppDomain.CurrentDomain.ProcessExit += (_, _) => StopCalibrations();

    private static void StopCalibrations()
    {
        (CancellationTokenSource Stop, Task Work)[] running;
        lock (Running) running = [.. Running];
        foreach (var (stop, work) in running)
        {
            stop.Cancel();
            // A step of the calibration is milliseconds; the wait is bounded so that an exit is never held up for long.
            work.Wait(TimeSpan.FromSeconds(5));
        }
    }

    private double Now => clock.Elapsed.TotalSeconds;

    public void RunStarting(RunOverview overview)
    {
        run = overview;
        total = overview.Total;
        alreadyDone = overview.AlreadyFinished;
        headline = overview.Settings.Headline ?? MetricNames.SigmaMinBestCut;
        var estimator = eta = new EtaEstimator(overview.Slots);
        var specs = overview.Trials.Where(t => !t.State.IsFinal()).OrderBy(t => t.Ordinal).Select(t => (t.TrialId, Spec: SpecJson.Deserialize<TrialSpec>(t.SpecJson)))
            .Concat(overview.Unproposed.Select((spec, i) => (TrialId: $"{EtaEstimator.UnproposedPrefix}{i}", Spec: spec))).ToList();
        estimator.Plan(specs.Select(t => EtaTrial.Of(t.TrialId, t.Spec)));
        if (Calibration is { } calibrate && specs.Count > 0)
        {
            var stop = new CancellationTokenSource();
            // Its own thread, not the thread pool's: 1.5 s of work on a pool thread delayed the run's heartbeats past a
            // 3 s lease when eight runs started at once on 2 cores (StoreSafetyTests: a trial claimed twice).
            var work = Task.Factory.StartNew(() =>
            {
                try
                {
                    var calibrated = calibrate(specs.Select(t => t.Spec).ToList(), stop.Token);
                    estimator.Calibrate(calibrated.EpochSeconds, calibrated.EndSeconds);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    // The ETA keeps the multiply-add model: a worse estimate, never a failed run.
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            lock (Running) Running.Add((stop, work));
            // (The source is not disposed: it holds no timer, and the exit handler may still cancel it.)
            Calibrating = work.ContinueWith(_ => { lock (Running) Running.RemoveAll(r => r.Work == work); }, TaskScheduler.Default);
        }
        output.Line($"{overview.Study}: {overview.Total} trials, {overview.AlreadyFinished} already finished; {overview.Plan}", "bold");
    }

    public void RunStarting(string study, int total, int alreadyFinished, string plan) => RunStarting(new RunOverview(study, total, alreadyFinished, plan));

    public void TrialStarted(TrialRow trial, DeviceSlot slot)
    {
        var row = new Row(TrialLabels.Of(run.Settings.Compare, trial.Axes), slot.Device, Stopwatch.StartNew());
        try
        {
            var spec = SpecJson.Deserialize<TrialSpec>(trial.SpecJson);
            row.Phases = spec.Schedule.Select(p => p.Loss).ToList();
            // A trial an adaptive search proposed during the run takes the place of one of the trials still to come.
            if (trial.Ordinal >= SearchOrdinals.First) eta.Proposed(EtaTrial.Of(trial.TrialId, spec));
        }
        catch (System.Text.Json.JsonException)
        {
            // A spec this build cannot read shows no phase names; the run itself reports the problem.
        }
        running[trial.TrialId] = row;
        eta.Started(trial.TrialId, slot.ToString(), Now);
    }

    public void TrialProgress(TrialProgress progress)
    {
        if (!running.TryGetValue(progress.TrialId, out var row)) return;
        if (progress.Epoch == 0)
        {
            if (progress.Metrics.TryGetValue(WorkerMessage.WorkerStartSecondsKey, out var start)) eta.WorkerStarted(progress.TrialId, start);
            return;
        }
        row.Progress = progress;
        if (progress.Metrics.TryGetValue(headline, out var value) && double.IsFinite(value)) row.Headline = value;
        eta.Epoch(progress.TrialId, progress.Phase, Now, progress.Metrics.TryGetValue(WorkerMessage.EpochSecondsKey, out var seconds) ? seconds : null);
    }

    public void TrialEnded(string trialId, TrialState state, string? error) => Finish(trialId, null, state, error, null);

    public void TrialFinished(TrialRow trial, TrialState state, string? error, TrialResult? result) => Finish(trial.TrialId, trial, state, error, result);

    private void Finish(string trialId, TrialRow? trial, TrialState state, string? error, TrialResult? result)
    {
        running.TryRemove(trialId, out var row);
        eta.Ended(trialId, Now, requeued: !state.IsFinal());
        string line;
        string colour;
        lock (gate)
        {
            if (state.IsFinal()) done++;
            ended[state] = ended.GetValueOrDefault(state) + 1;
            var number = done + alreadyDone;
            var label = row?.Label ?? (trial is null ? trialId : TrialLabels.Of(run.Settings.Compare, trial.Axes));
            var seconds = row?.Clock.Elapsed.TotalSeconds ?? RecordedSeconds(trial);
            var what = state.IsFinal() ? $"trial {number}/{total} {state.Name()}" : state == TrialState.Queued ? "retrying" : state.Name();
            var head = $"{what}: {label} ({Short(trialId)})" + (seconds is { } s ? $" {(state.IsFinal() ? "in" : "after")} {s:F1} s" : "");
            colour = state switch { TrialState.Completed => "green", TrialState.Queued or TrialState.Interrupted => "yellow", TrialState.Pruned => "grey", _ => "red" };
            if (state == TrialState.Completed && result is not null)
            {
                var (trained, heldout) = TrialLabels.Headline(result, headline);
                var score = double.IsFinite(heldout) ? heldout : trained;
                if (double.IsFinite(score) && (best is null || TrialLabels.Better(headline, score, best.Value.Score))) best = (score, label, number);
                line = $"{head}: {TrialLabels.HeadlineText(headline, trained, heldout)}" + (best is { } b
                    ? $"; best so far: trial {b.Number} ({b.Label}) {TrialLabels.Number(b.Score)}{(double.IsFinite(heldout) ? " held-out" : "")}"
                    : "");
            }
            else
            {
                var detail = error is null ? "" : error.Split('\n')[0];
                line = detail.Length == 0 ? head : $"{head}: {Truncate(detail, 200)}";
            }
        }
        output.Line(line, colour);
    }

    /// <summary>
    /// The run time of a trial this process did not start (a cluster task ran it): as the task recorded it, else from its
    /// start to its end; null when neither is known (then no time is printed rather than "0.0 s").
    /// </summary>
    public static double? RecordedSeconds(TrialRow? trial) =>
        trial?.Seconds is { } s ? s : trial is { StartedAt: { } from, FinishedAt: { } to } && to >= from ? to - from : null;

    /// <summary>Shows the live view (or, in log mode, the periodic summary line) until <paramref name="work"/> finishes.</summary>
    public async Task<T> ShowWhile<T>(Task<T> work)
    {
        if (!output.Live)
        {
            while (!work.IsCompleted)
            {
                var tick = Task.Delay(SummaryEvery);
                if (await Task.WhenAny(work, tick) == tick) output.Line(Summary());
            }
            return await work;
        }
        T result = default!;
        // Cropped to the screen: rows pushed off the top into the scroll-back could not be cleared when the view ends.
        await output.Console.Live(Render()).AutoClear(true).Overflow(VerticalOverflow.Crop).Cropping(VerticalOverflowCropping.Bottom).StartAsync(async ctx =>
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

    /// <summary>"12:03:44 7/12 done (1 diverged), 2 running, elapsed 00:05:12, ETA 00:03:40 (about 12:07:24)".</summary>
    public string Summary()
    {
        string counts;
        lock (gate)
        {
            var problems = ended.Where(e => e.Key != TrialState.Completed && e.Value > 0).Select(e => $"{e.Value} {e.Key.Name()}").ToList();
            counts = $"{done + alreadyDone}/{total} done" + (problems.Count > 0 ? $" ({string.Join(", ", problems)})" : "");
        }
        var remaining = eta.RemainingSeconds(Now);
        var etaText = remaining is { } s ? $"ETA {TrialLabels.Clock(TimeSpan.FromSeconds(Math.Round(s)))} (about {DateTime.Now.AddSeconds(s):HH:mm:ss})" : "ETA after the first epoch";
        return $"{DateTime.Now:HH:mm:ss} {counts}, {running.Count} running, elapsed {TrialLabels.Clock(clock.Elapsed)}, {etaText}"
            + (best is { } b ? $"; best so far: trial {b.Number} ({b.Label}) {headline} {TrialLabels.Number(b.Score)}" : "");
    }

    /// <summary>The estimated seconds left (null until the first epoch), for the benchmark.</summary>
    public double? RemainingSeconds() => eta.RemainingSeconds(Now);

    /// <summary>What the ETA has measured, for the benchmark.</summary>
    public string DescribeEta() => eta.Describe();

    private Spectre.Console.Rendering.IRenderable Render()
    {
        var table = new Table().Border(TableBorder.Simple)
            .AddColumns("trial", "device", "phase", "progress", "epoch", "loss", "val_loss", headline);
        var rows = running.OrderBy(r => r.Value.Label, StringComparer.Ordinal).ThenBy(r => r.Key, StringComparer.Ordinal).ToList();
        // The view fits the screen: a header, the table's head and border, one row per trial, a line for the rest.
        var room = Math.Max(1, output.Console.Profile.Height - 6);
        foreach (var (id, row) in rows.Take(rows.Count > room ? room - 1 : room))
        {
            var p = row.Progress;
            var epoch = p?.Epoch ?? 0;
            var of = Math.Max(1, p?.TotalEpochs ?? 1);
            var bar = new string('█', (int)(12.0 * Math.Min(epoch, of) / of)).PadRight(12, '░');
            var phase = p is null ? "starting" : $"{p.Phase + 1}/{row.Phases.Count} {(p.Phase < row.Phases.Count ? row.Phases[p.Phase] : "")}";
            table.AddRow(Markup.Escape(row.Label), Markup.Escape(row.Device), Markup.Escape(phase), bar, p is null ? "" : $"{epoch}/{of}",
                Format(p, MetricNames.Loss), Format(p, MetricNames.ValidationLoss), row.Headline is { } h ? TrialLabels.Number(h) : "");
        }
        if (rows.Count > room) table.AddRow($"... and {rows.Count - room + 1} more", "", "", "", "", "", "", "");
        return new Rows(new Text(Summary()), table);
    }

    private static string Format(TrialProgress? p, string metric) =>
        p is not null && p.Metrics.TryGetValue(metric, out var v) ? TrialLabels.Number(v) : "";

    private static string Short(string trialId) => trialId.Length <= 8 ? trialId : trialId[..8];

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

/// <summary>Observers for the foreground <c>studies run</c>: a live Spectre table, or log lines.</summary>
public sealed class ConsoleProgressFactory(TerminalOutput output, TimeSpan? summaryEvery = null) : IExecutionObserverFactory
{
    /// <summary>The observer of the latest run (the ETA benchmark reads its estimate).</summary>
    public ConsoleProgress? Latest { get; private set; }

    public IExecutionObserver Create(string study) =>
        Latest = new ConsoleProgress(output) { SummaryEvery = summaryEvery ?? TimeSpan.FromSeconds(60), Calibration = ConsoleProgress.Calibrate };
}

/// <summary>Observers for <c>studies serve</c>: log lines.</summary>
public sealed class LoggingProgressFactory(ILoggerFactory loggers) : IExecutionObserverFactory
{
    public IExecutionObserver Create(string study) => new LoggingProgress(loggers.CreateLogger("Studies.Progress"));
}
