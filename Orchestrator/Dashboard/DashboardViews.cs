using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Reporting;
using Studies.Orchestrator.Storage;
using Studies.Reports.Analysis;
using Studies.Reports.Input;
using Studies.Reports.Rendering;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Dashboard;

/// <summary>
/// What each dashboard page shows, as JSON the page's script renders: the queue and studies, one
/// study (trials, failures, live curves), one trial (spec, phases, per-mass metrics, log tail).
/// Charts are Reports' own Vega-Lite specs: the live curves are <see cref="Charts.TrainingCurve"/>
/// over the epochs running trials recorded so far (the orchestrator writes them with each
/// heartbeat), and a study's report charts are those of
/// <see cref="ReportComposer"/>, exactly as report.html draws them.
/// </summary>
public sealed class DashboardViews(DashboardStore store, bool readOnly)
{
    /// <summary>Report charts are recomposed at most this often while trials keep completing.</summary>
    public static readonly TimeSpan ChartRefresh = TimeSpan.FromSeconds(10);

    private const int LogTailLines = 60;
    private const int MaxErrorLines = 60;
    private const int CollectEveryTrials = 200;
    private const string LiveMetric = MetricNames.Loss;

    // What one view reads at most, whatever the study's size: a page of the trial table, the running trials the ETA and
    // the live curves look at, the problems listed. The rest is counted by the store, not read.
    /// <summary>Rows of the trial table per page (<c>?from=N</c> pages on).</summary>
    public const int TrialsPerPage = 200;
    /// <summary>Running trials whose heartbeats the ETA projects from before a trial completed.</summary>
    public const int RunningForEta = 200;
    /// <summary>Running trials drawn as live curves (each curve is downsampled already).</summary>
    public const int LiveCurves = 24;
    /// <summary>Failed, diverged and interrupted trials listed with their reasons; the rest are counted.</summary>
    public const int ProblemsShown = 50;
    /// <summary>
    /// Completed trials up to which the report's charts are composed live: composing reads every completed trial's result
    /// (bench dashboard: 1,000 trials composed within the page's budget); beyond it the page says to write the report.
    /// </summary>
    public const int ChartTrialLimit = 2000;

    private readonly ConcurrentDictionary<(long Study, string Trial), (double? FinishedAt, double Score)> scores = new();
    private readonly ConcurrentDictionary<long, ChartSet> charts = new();
    private readonly SemaphoreSlim chartGate = new(1, 1);

    private sealed record ChartSet(int Completed, DateTime ComposedAt, string Json);

    public bool ReadOnly => readOnly;

    public async Task<JsonObject> OverviewAsync(CancellationToken ct)
    {
        var studies = new JsonArray();
        foreach (var study in await store.StudiesAsync(ct))
        {
            var counts = await store.CountsAsync(study, ct);
            studies.Add(new JsonObject
            {
                ["name"] = study.Name,
                ["description"] = study.Settings.Description,
                ["cancelled"] = study.Cancelled,
                ["updated"] = study.UpdatedAt,
                ["counts"] = Counts(counts),
                ["total"] = counts.Total,
                ["eta"] = await EtaAsync(study, counts, null, ct),
            });
        }
        var queue = new StudyQueue(store.Workspace.Queue);
        return new JsonObject
        {
            ["page"] = "overview",
            ["workspace"] = store.Workspace.Root,
            ["readOnly"] = readOnly,
            ["states"] = States(),
            ["studies"] = studies,
            ["queue"] = new JsonObject
            {
                ["waiting"] = Files(queue.Directory),
                ["running"] = Files(queue.Running),
                ["failed"] = Files(queue.Failed),
            },
        };
    }

    /// <param name="from">The first row of the trial table's page (0-based; pages of <see cref="TrialsPerPage"/>).</param>
    public async Task<JsonObject?> StudyAsync(string name, CancellationToken ct, int from = 0)
    {
        var study = await store.StudyAsync(name, ct);
        if (study is null) return null;
        var record = StudyRecords.Describe(study);
        var counts = await store.CountsAsync(study, ct);
        from = Math.Clamp(from, 0, Math.Max(0, counts.Total - 1));
        var page = await store.PageAsync(study, TrialStates.All, TrialsPerPage, from, ct);
        var running = await store.PageAsync(study, [TrialState.Running], RunningForEta, 0, ct);
        var problems = await store.PageAsync(study, TrialStates.All.Where(st => st.IsProblem()).ToList(), ProblemsShown, 0, ct);
        await FillScoresAsync(study, page.Trials, TimeSpan.FromMilliseconds(200), ct);
        var liveCurves = new List<(TrialRow Trial, IReadOnlyList<EpochRecord> Epochs)>();
        foreach (var t in running.Trials.Take(LiveCurves))
        {
            var epochs = await store.EpochsAsync(study, t, ct);
            if (epochs.Count > 0) liveCurves.Add((t, epochs));
        }
        var loaded = liveCurves.ToDictionary(c => c.Trial.TrialId, c => c.Epochs, StringComparer.Ordinal);
        var rows = new JsonArray();
        foreach (var t in page.Trials)
        {
            var row = TrialFields(t, loaded.GetValueOrDefault(t.TrialId) ?? []);
            row["headline"] = Score(study, t) is { } s && double.IsFinite(s) ? Format.Value(s) : null;
            rows.Add(row);
        }
        var failures = new JsonArray(problems.Trials.Select(t => (JsonNode)new JsonObject
        {
            ["id"] = t.TrialId, ["state"] = t.State.Name(), ["attempts"] = t.Attempts, ["error"] = t.Error ?? "no reason recorded",
        }).ToArray());
        return new JsonObject
        {
            ["page"] = "study",
            ["name"] = study.Name,
            ["description"] = record.Description,
            ["cancelled"] = study.Cancelled,
            ["readOnly"] = readOnly,
            ["headline"] = record.Headline,
            ["states"] = States(),
            ["counts"] = Counts(counts),
            ["total"] = counts.Total,
            ["eta"] = await EtaAsync(study, counts, running, ct),
            ["trials"] = rows,
            ["trialsFrom"] = from,
            ["trialsPerPage"] = TrialsPerPage,
            ["failures"] = failures,
            ["failuresTotal"] = problems.Total,
            ["live"] = liveCurves.Count == 0 ? null : LiveData(record, liveCurves,
                "of the running trials (live)" + (running.Total > liveCurves.Count ? $"; {liveCurves.Count} of {running.Total} drawn" : "")),
            ["best"] = await BestAsync(study, record, ct),
            ["chartsVersion"] = ChartedTrials(counts),
        };
    }

    public async Task<JsonObject?> TrialAsync(string name, string trialId, CancellationToken ct)
    {
        var study = await store.StudyAsync(name, ct);
        if (study is null) return null;
        var trial = await store.TrialAsync(study, trialId, ct);
        if (trial is null) return null;
        var record = StudyRecords.Describe(study);
        var result = trial.State is TrialState.Completed or TrialState.Diverged || trial.LastEpoch is > 0 ? await store.ResultAsync(study, trial, ct) : null;
        var epochs = await store.EpochsAsync(study, trial, ct);
        var view = TrialFields(trial, epochs);
        view["page"] = "trial";
        view["study"] = study.Name;
        view["error"] = trial.Error;
        view["spec"] = Pretty(trial.SpecJson);
        view["phases"] = result is null ? new JsonArray() : new JsonArray(result.Phases.Select(ph => (JsonNode)new JsonObject
            {
                ["phase"] = ph.Phase + 1, ["loss"] = ph.Loss, ["epochs"] = ph.Epochs, ["seconds"] = Math.Round(ph.Seconds, 2),
            }).ToArray());
        view["masses"] = result is null ? null : MassTable(result);
        view["curve"] = epochs.Count == 0 ? null : LiveData(record, [(trial, epochs)], trial.State == TrialState.Running ? "(live)" : "(recorded)");
        view["log"] = LogTail(study.Name, trial.TrialId);
        return view;
    }

    /// <summary>What a trial shows on every page: state, attempt, device, time, axes; the heartbeat's phase and epoch while it runs, its last epoch once finished.</summary>
    private static JsonObject TrialFields(TrialRow t, IReadOnlyList<EpochRecord> epochs) => new()
    {
        ["id"] = t.TrialId,
        ["state"] = t.State.Name(),
        ["attempts"] = t.Attempts,
        ["device"] = t.Device,
        ["phase"] = t.State == TrialState.Running && t.Phase is { } p ? p + 1 : null,
        ["epoch"] = t.State == TrialState.Running ? epochs.LastOrDefault()?.Epoch ?? t.Epoch : t.LastEpoch,
        ["seconds"] = t.Seconds,
        ["axes"] = string.Join(", ", t.Axes.Select(a => $"{a.Key}={a.Value}")),
    };

    /// <summary>
    /// The report's charts of the study (as report.html draws them), composed again when more trials
    /// completed, at most every <see cref="ChartRefresh"/>; null when the study is unknown.
    /// </summary>
    public async Task<string?> ChartsAsync(string name, CancellationToken ct)
    {
        var study = await store.StudyAsync(name, ct);
        if (study is null) return null;
        await chartGate.WaitAsync(ct);
        try
        {
            var completed = ChartedTrials(await store.CountsAsync(study, ct));
            if (charts.TryGetValue(study.Id, out var cached)
                && (cached.Completed == completed || DateTime.UtcNow - cached.ComposedAt < ChartRefresh))
                return cached.Json;
            if (completed > ChartTrialLimit)
                return Empty(completed, $"{completed} completed trials: the report's charts are drawn here up to {ChartTrialLimit}; " +
                    $"write the report (the button above, or `studies report {study.Name}`) and open it");
            var json = completed == 0 ? Empty(completed) : await ComposeAsync(study, completed, ct);
            // Composing a large study leaves a large heap behind: give it back rather than keep it
            // resident. (The records were only referenced by ComposeAsync's state machine, gone now.)
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            charts[study.Id] = new ChartSet(completed, DateTime.UtcNow, json);
            return json;
        }
        finally
        {
            chartGate.Release();
        }
    }

    /// <summary>
    /// The trials the charts draw: completed ones, and pruned ones (a search's optimisation history shows them), so a
    /// search whose latest trials were pruned redraws its history too.
    /// </summary>
    private static int ChartedTrials(StateCounts counts) => counts.Count(TrialState.Completed) + counts.Count(TrialState.Pruned);

    private async Task<string> ComposeAsync(StudyRow study, int completed, CancellationToken ct)
    {
        // Loading a result allocates several times what is kept of it; a full collection every few
        // hundred trials keeps that garbage from piling up into the process's peak memory
        // (bench dashboard, 1,000 trials: peak 289 MB without, see the README for with).
        var loaded = 0;
        var pool = new CompactMetrics.Pool();
        var record = await store.RecordAsync(study, result =>
        {
            if (++loaded % CollectEveryTrials == 0) GC.Collect(2, GCCollectionMode.Forced, blocking: true);
            return ChartData(result, pool);
        }, ct);
        if (record is null) return Empty(completed);
        foreach (var t in record.Trials)
        {
            if (t.Result is { Outcome: TrialOutcome.Completed } r)
                scores[(study.Id, t.TrialId)] = (null, Ranking.TrialScore(r, record.Headline));
        }
        var document = ReportComposer.Compose(new ReportInput { Studies = [record] });
        var list = new JsonArray();
        foreach (var section in document.Sections)
            foreach (var chart in section.Blocks.OfType<Chart>())
                list.Add(new JsonObject { ["id"] = chart.Id, ["section"] = section.Title, ["title"] = chart.Title, ["spec"] = chart.Spec.DeepClone() });
        return new JsonObject { ["completed"] = completed, ["charts"] = list }.ToJsonString();
    }

    /// <summary>What the report's charts read of a result, compactly: per-mass metrics of the test split at the best epoch (a quarter of them) and the epochs.</summary>
    private static TrialResult ChartData(TrialResult result, CompactMetrics.Pool pool) => result with
    {
        Masses = result.Masses.Where(m => m.Split == SplitKind.Test && m.EpochKind == EpochKind.Best).Select(m => m with { Metrics = pool.Compact(m.Metrics) }).ToList(),
        Epochs = result.Epochs.Select(e => e with { Metrics = pool.Compact(e.Metrics) }).ToList(),
    };

    private static string Empty(int completed, string? note = null) =>
        new JsonObject { ["completed"] = completed, ["charts"] = new JsonArray(), ["note"] = note }.ToJsonString();

    /// <summary>Headline scores of completed trials not scored yet, loaded one trial at a time within a time budget so a large study's first view is not held up.</summary>
    private async Task FillScoresAsync(StudyRow study, IReadOnlyList<TrialRow> trials, TimeSpan budget, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var headline = StudyRecords.Describe(study).Headline;
        foreach (var t in trials)
        {
            if (t.State != TrialState.Completed || Score(study, t) is not null) continue;
            if (clock.Elapsed > budget) return;
            var result = await store.ResultAsync(study, t, ct);
            scores[(study.Id, t.TrialId)] = (t.FinishedAt, Ranking.TrialScore(result, headline));
        }
    }

    private double? Score(StudyRow study, TrialRow trial) =>
        trial.State == TrialState.Completed && scores.TryGetValue((study.Id, trial.TrialId), out var s) && (s.FinishedAt is null || s.FinishedAt == trial.FinishedAt)
            ? s.Score : null;

    /// <summary>
    /// Remaining trials times the measured mean time of a completed trial, divided by the trials
    /// running at once; null before a trial completed or when nothing is left.
    /// </summary>
    public static double? EtaSeconds(IReadOnlyList<TrialRow> trials) => EtaSeconds(trials, StoreClock.Now());

    /// <summary>
    /// As above; before any trial completed, a trial's time is projected from the running trials' heartbeats (seconds
    /// since start per epoch reached, times the epochs of its schedule), so the ETA is there from the first epochs on.
    /// </summary>
    public static double? EtaSeconds(IReadOnlyList<TrialRow> trials, double now)
    {
        var times = trials.Where(t => t.State == TrialState.Completed && t.Seconds is > 0).Select(t => t.Seconds!.Value).ToList();
        var running = trials.Where(t => t.State == TrialState.Running).ToList();
        return EtaSeconds(trials.Count(t => t.State is TrialState.Queued or TrialState.Running or TrialState.Interrupted),
            times.Count > 0 ? times.Average() : null, running, running.Count, now);
    }

    /// <summary>
    /// The ETA from what the store aggregates: <paramref name="remaining"/> trials (queued, running, interrupted), the mean
    /// time of a completed trial, and the running trials (<paramref name="runningCount"/> of them; their first rows in
    /// <paramref name="runningSample"/>, for the projection before a trial completed).
    /// </summary>
    public static double? EtaSeconds(int remaining, double? completedMeanSeconds, IReadOnlyList<TrialRow> runningSample, int runningCount, double now)
    {
        if (remaining == 0) return null;
        var parallel = Math.Max(1, runningCount);
        if (completedMeanSeconds is { } mean) return Math.Round(mean * remaining / parallel);
        var projected = new List<double>();
        foreach (var t in runningSample)
        {
            if (t.StartedAt is not { } started || t.Epoch is not { } epoch || epoch <= 0 || PlannedEpochs(t) is not { } total || total <= 0) continue;
            projected.Add((now - started) / epoch * total);
        }
        return projected.Count == 0 ? null : Math.Round(projected.Average() * remaining / parallel);
    }

    /// <summary>A study's ETA from bounded reads: counts, the store's mean of completed times, a page of running trials.</summary>
    private async Task<double?> EtaAsync(StudyRow study, StateCounts counts, TrialPage? running, CancellationToken ct)
    {
        var remaining = counts.Count(TrialState.Queued) + counts.Count(TrialState.Running) + counts.Count(TrialState.Interrupted);
        if (remaining == 0) return null;
        var (mean, _) = await store.CompletedSecondsAsync(study, ct);
        if (mean is null && running is null) running = await store.PageAsync(study, [TrialState.Running], RunningForEta, 0, ct);
        return EtaSeconds(remaining, mean, running?.Trials ?? [], counts.Count(TrialState.Running), StoreClock.Now());
    }

    /// <summary>Epochs of a trial's schedule (null when its spec cannot be read).</summary>
    private static int? PlannedEpochs(TrialRow trial)
    {
        try
        {
            return Trials.Specs.SpecJson.Deserialize<Trials.Specs.TrialSpec>(trial.SpecJson).Schedule.Sum(p => p.Epochs);
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException or NullReferenceException)
        {
            return null;
        }
    }

    private static JsonObject Counts(StateCounts counts)
    {
        var json = new JsonObject();
        foreach (var state in TrialStates.All) json[state.Name()] = counts.Count(state);
        return json;
    }

    private static JsonArray States() => new(TrialStates.All.Select(s => (JsonNode)s.Name()).ToArray());

    /// <summary>
    /// Every metric the running (or one recorded) trials have recorded per epoch, as rows the page draws one metric at a
    /// time (the metric is chosen on the page, so switching it needs no request): one line per trial, named by the compared
    /// axes and its seed, its method as the legend's group; phase starts as dashed rules.
    /// </summary>
    private static JsonObject LiveData(StudyRecord study, IReadOnlyList<(TrialRow Trial, IReadOnlyList<EpochRecord> Epochs)> trials, string title)
    {
        var rows = new JsonArray();
        var rules = new JsonArray();
        var metrics = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (trial, epochs) in trials)
        {
            var method = MethodGroups.MethodName(study, new TrialRecord { TrialId = trial.TrialId, State = trial.State, Axes = trial.Axes });
            var label = Terminal.TrialLabels.Of(study.CompareAxes, trial.Axes);
            var name = $"{label} ({trial.TrialId[..Math.Min(8, trial.TrialId.Length)]})";
            foreach (var metric in epochs.SelectMany(e => e.Metrics.Keys).Distinct().Where(k => k is not ProgressOnlyMetric))
            {
                metrics.Add(metric);
                var points = epochs.Where(e => e.Metrics.TryGetValue(metric, out var v) && double.IsFinite(v)).Select(e => new CurvePoint(e.Epoch, e.Metrics[metric])).ToList();
                foreach (var p in ReportMath.Downsample(points, TrainingCurves.MaxPointsPerCurve))
                    rows.Add(new JsonObject { ["trial"] = name, ["method"] = method, ["metric"] = metric, ["epoch"] = p.Epoch, ["value"] = p.Value });
            }
            for (var i = 1; i < epochs.Count; i++)
                if (epochs[i].Phase != epochs[i - 1].Phase) rules.Add(new JsonObject { ["trial"] = name, ["epoch"] = epochs[i].Epoch - 0.5, ["phase"] = epochs[i].Phase + 1 });
        }
        return new JsonObject
        {
            ["title"] = title,
            ["metrics"] = new JsonArray(metrics.Select(m => (JsonNode)m).ToArray()),
            ["default"] = metrics.Contains(LiveMetric) ? LiveMetric : metrics.FirstOrDefault(),
            ["rows"] = rows,
            ["phases"] = rules,
        };
    }

    /// <summary>What the worker sends with each epoch for progress bars, not a metric of the trial.</summary>
    private const string ProgressOnlyMetric = "total_epochs";

    /// <summary>
    /// The best completed trial by the headline so far (held-out masses where there are any), among the trials scored so far
    /// (those the trial table or the charts loaded: all of a study of one page); only that trial's row is read.
    /// </summary>
    private async Task<JsonObject?> BestAsync(StudyRow study, StudyRecord record, CancellationToken ct)
    {
        var higher = Trials.Training.MetricDirection.HigherIsBetter(record.Headline);
        while (true)
        {
            var scored = scores.Where(s => s.Key.Study == study.Id && double.IsFinite(s.Value.Score)).ToList();
            if (scored.Count == 0) return null;
            var best = higher ? scored.MaxBy(x => x.Value.Score) : scored.MinBy(x => x.Value.Score);
            var trial = await store.TrialAsync(study, best.Key.Trial, ct);
            if (trial is null || Score(study, trial) is not { } score)
            {
                // Run again since it was scored, or gone from the definition: not a result of this study any more.
                scores.TryRemove(best.Key, out _);
                continue;
            }
            return new JsonObject
            {
                ["id"] = trial.TrialId,
                ["label"] = Terminal.TrialLabels.Of(record.CompareAxes, trial.Axes),
                ["value"] = Format.Value(score),
                ["of"] = scored.Count,
            };
        }
    }

    /// <summary>Test-split metrics at the best epoch, one row per mass.</summary>
    private static JsonObject MassTable(TrialResult result)
    {
        var masses = result.Masses.Where(m => m.Split == SplitKind.Test && m.EpochKind == EpochKind.Best).OrderBy(m => m.Mass).ToList();
        var metrics = masses.SelectMany(m => m.Metrics.Keys).Distinct().Where(k => !k.EndsWith(MetricNames.OptimalSuffix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        var rows = new JsonArray();
        foreach (var m in masses)
        {
            var row = new JsonArray(Format.Value(m.Mass), m.Heldout ? "held-out" : "trained");
            foreach (var k in metrics) row.Add(m.Metrics.TryGetValue(k, out var v) ? Format.Value(v) : Format.Missing);
            rows.Add(row);
        }
        return new JsonObject { ["header"] = new JsonArray(["mass", "mass kind", .. metrics.Select(k => (JsonNode)k)]), ["rows"] = rows };
    }

    private string LogTail(string study, string trialId)
    {
        var path = Path.Combine(store.Workspace.Artifacts(study), trialId, "worker.log");
        if (!File.Exists(path)) return "";
        try
        {
            // The worker may be writing it: share the file, read the end.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.Seek(Math.Max(0, stream.Length - 64 * 1024), SeekOrigin.Begin);
            using var reader = new StreamReader(stream);
            var lines = reader.ReadToEnd().Split('\n');
            return string.Join('\n', lines.TakeLast(LogTailLines));
        }
        catch (IOException e)
        {
            return $"(cannot read {path}: {e.Message})";
        }
    }

    private static JsonArray Files(string directory)
    {
        if (!Directory.Exists(directory)) return [];
        var files = Directory.GetFiles(directory, "*.y*ml").Order(StringComparer.Ordinal).ToList();
        return new JsonArray(files.Select(f =>
        {
            var error = f + ".error.txt";
            return (JsonNode)new JsonObject
            {
                ["file"] = Path.GetFileName(f),
                // The whole message: "7 problems in the study file:" is followed by the problems, one per line.
                ["error"] = File.Exists(error) ? string.Join('\n', File.ReadLines(error).Take(MaxErrorLines)) : null,
            };
        }).ToArray());
    }

    private static string Pretty(string json)
    {
        try
        {
            return JsonNode.Parse(json)?.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) ?? json;
        }
        catch (JsonException)
        {
            return json;
        }
    }

    internal static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
