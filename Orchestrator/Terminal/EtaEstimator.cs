using Studies.Orchestrator.Studies;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Terminal;

/// <summary>One trial still to run (or running), as the ETA sees it: its speed kind, epochs per phase and the cost model's guess per epoch.</summary>
/// <param name="Kind">Trials of one kind train at one speed (same data, model shape, phases, device and threads; seeds and learning rates apart).</param>
public sealed record EtaTrial(string TrialId, string Kind, IReadOnlyList<int> PhaseEpochs, IReadOnlyList<double> ModelEpochSeconds)
{
    public static EtaTrial Of(string trialId, TrialSpec spec) => new(trialId, KindOf(spec),
        spec.Schedule.Select(p => p.Epochs).ToList(),
        spec.Schedule.Select((_, i) => DryRun.EstimatePhaseEpochSeconds(spec, i)).ToList());

    /// <summary>What sets a trial's epoch time: data, model shape, each phase's loss and batch, device and threads.</summary>
    public static string KindOf(TrialSpec spec) =>
        $"{spec.Data.Source}|{SpecJson.Canonical(spec.Data.Options)}|{spec.Model.Kind}|{string.Join('x', spec.Model.Hidden)}|{spec.Device}|{spec.Threads}|"
        + $"{spec.Evaluation.ValidationEvery}|" + string.Join(";", spec.Schedule.Select(p => $"{p.Loss}:{p.Batch?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "full"}"));
}

/// <summary>
/// The remaining time of a run from measured epoch rates, available from the first epoch on. Each trial's time is
/// split into a start (claim to first epoch: data loading, and for a slot's first trial the worker's start), its
/// epochs (seconds per epoch per kind and phase, measured between consecutive epochs) and its end (last epoch to
/// result: the per-mass evaluation). Trials of a kind or phase not yet seen take the cost model's time per epoch
/// scaled by what was measured so far (the median ratio measured/model). The remaining trials are then dealt to the
/// slots in claim order, each to the slot that frees first, and the ETA is when the last slot is done.
/// The worker start is kept apart: it is paid once per slot (long-lived workers), so a slot's first trial does not
/// set the start time of the later ones once a later one has started. Times are seconds on any monotonic clock.
/// </summary>
public sealed class EtaEstimator(int slots)
{
    private sealed class Running(EtaTrial trial, double started, bool firstOnSlot)
    {
        public EtaTrial Trial { get; } = trial;
        public double Started { get; } = started;
        public bool FirstOnSlot { get; } = firstOnSlot;
        public double? FirstEpochAt;
        public double? LastEpochAt;
        public int Phase;
        /// <summary>Epochs done, counted over all phases.</summary>
        public int EpochsDone;
        public int EpochsDoneInPhase;
    }

    private readonly Lock gate = new();
    private readonly List<EtaTrial> queued = [];
    private readonly Dictionary<string, Running> running = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (double Sum, int Count)> epochSeconds = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<double>> startSeconds = new(StringComparer.Ordinal);
    private readonly List<double> firstStartSeconds = [];
    private readonly Dictionary<string, List<double>> endSeconds = new(StringComparer.Ordinal);
    private readonly HashSet<string> slotsSeen = new(StringComparer.Ordinal);
    private readonly int slots = Math.Max(1, slots);

    /// <summary>The trials the run will start, in the order it claims them.</summary>
    public void Plan(IEnumerable<EtaTrial> trials)
    {
        lock (gate) queued.AddRange(trials);
    }

    public void Started(string trialId, string slot, double now)
    {
        lock (gate)
        {
            var index = queued.FindIndex(t => t.TrialId == trialId);
            if (index < 0) return;
            var trial = queued[index];
            queued.RemoveAt(index);
            running[trialId] = new Running(trial, now, slotsSeen.Add(slot));
        }
    }

    /// <param name="phase">0-based phase of the epoch that just ended.</param>
    public void Epoch(string trialId, int phase, double now)
    {
        lock (gate)
        {
            if (!running.TryGetValue(trialId, out var r)) return;
            if (r.LastEpochAt is { } last && phase == r.Phase)
                Add(epochSeconds, RateKey(r.Trial, phase), now - last);
            if (phase != r.Phase) r.EpochsDoneInPhase = 0;
            if (r.FirstEpochAt is null)
            {
                r.FirstEpochAt = now;
                // The first epoch itself is in this interval; once its rate is known the start is what is left (below).
            }
            r.Phase = phase;
            r.EpochsDone++;
            r.EpochsDoneInPhase++;
            r.LastEpochAt = now;
        }
    }

    /// <summary>The trial ended. <paramref name="requeued"/>: it will run again (a retry), so it goes back to the queue.</summary>
    public void Ended(string trialId, double now, bool requeued)
    {
        lock (gate)
        {
            if (!running.Remove(trialId, out var r)) return;
            if (r.FirstEpochAt is { } first && !requeued)
            {
                var start = first - r.Started - EpochTime(r.Trial, 0);
                (r.FirstOnSlot ? firstStartSeconds : startSeconds.GetOrAdd(r.Trial.Kind)).Add(Math.Max(0, start));
                if (r.EpochsDone >= r.Trial.PhaseEpochs.Sum()) endSeconds.GetOrAdd(r.Trial.Kind).Add(Math.Max(0, now - r.LastEpochAt!.Value));
            }
            if (requeued) queued.Add(r.Trial);
        }
    }

    /// <summary>Seconds until the last trial is done; null while nothing has been measured.</summary>
    public double? RemainingSeconds(double now)
    {
        lock (gate)
        {
            if (epochSeconds.Count == 0 && !running.Values.Any(r => r.FirstEpochAt is not null)) return queued.Count == 0 && running.Count == 0 ? 0 : null;
            var free = new PriorityQueue<int, double>();
            var busy = new List<double>();
            foreach (var r in running.Values) busy.Add(RunningLeft(r, now));
            busy.Sort();
            for (var i = 0; i < slots; i++) free.Enqueue(i, i < busy.Count ? busy[i] : 0);
            // More running trials than slots (another orchestrator's slots): their time is shared out as well.
            var extra = busy.Skip(slots).Sum();
            var end = 0.0;
            var pending = queued.Select(t => TrialTime(t)).ToList();
            if (extra > 0) pending.Insert(0, extra);
            foreach (var seconds in pending)
            {
                free.TryDequeue(out var slot, out var at);
                free.Enqueue(slot, at + seconds);
            }
            while (free.TryDequeue(out _, out var at)) end = Math.Max(end, at);
            return end;
        }
    }

    /// <summary>The measured seconds per epoch of a kind's phase (null: not measured yet); for tests and the benchmark.</summary>
    public double? MeasuredEpochSeconds(EtaTrial trial, int phase)
    {
        lock (gate) return epochSeconds.TryGetValue(RateKey(trial, phase), out var s) ? s.Sum / s.Count : null;
    }

    private double RunningLeft(Running r, double now)
    {
        var t = r.Trial;
        if (r.FirstEpochAt is null)
        {
            // Not at its first epoch yet: its whole time, less what it has been running.
            return Math.Max(0, TrialTime(t, r.FirstOnSlot) - (now - r.Started));
        }
        var left = 0.0;
        for (var p = r.Phase; p < t.PhaseEpochs.Count; p++)
        {
            var epochs = p == r.Phase ? Math.Max(0, t.PhaseEpochs[p] - r.EpochsDoneInPhase) : t.PhaseEpochs[p];
            left += epochs * EpochTime(t, p);
        }
        // The epoch under way has been running since the last one ended.
        left = Math.Max(0, left - (now - r.LastEpochAt!.Value));
        return left + EndTime(t);
    }

    private double TrialTime(EtaTrial t) => TrialTime(t, firstOnSlot: false);

    private double TrialTime(EtaTrial t, bool firstOnSlot) =>
        StartTime(t, firstOnSlot) + t.PhaseEpochs.Select((epochs, p) => epochs * EpochTime(t, p)).Sum() + EndTime(t);

    private double StartTime(EtaTrial t, bool firstOnSlot)
    {
        if (!firstOnSlot && startSeconds.TryGetValue(t.Kind, out var own)) return Median(own);
        var any = startSeconds.Values.SelectMany(s => s).ToList();
        if (!firstOnSlot && any.Count > 0) return Median(any);
        // Only slots' first trials measured so far: they carry the worker's start, an overestimate for later trials.
        if (firstStartSeconds.Count > 0) return Median(firstStartSeconds);
        // Nothing finished yet: the running trials' time from claim to first epoch, less that epoch.
        var observed = running.Values.Where(r => r.FirstEpochAt is not null)
            .Select(r => Math.Max(0, r.FirstEpochAt!.Value - r.Started - EpochTime(r.Trial, 0))).ToList();
        return observed.Count > 0 ? Median(observed) : 0;
    }

    private double EndTime(EtaTrial t)
    {
        if (endSeconds.TryGetValue(t.Kind, out var own)) return Median(own);
        var any = endSeconds.Values.SelectMany(s => s).ToList();
        // Not measured: the end's evaluation costs about one epoch's validation; take one epoch of the last phase.
        return any.Count > 0 ? Median(any) : t.PhaseEpochs.Count > 0 ? EpochTime(t, t.PhaseEpochs.Count - 1) : 0;
    }

    /// <summary>Seconds per epoch of a trial's phase: measured for its kind, else the cost model scaled by the measured/model ratio.</summary>
    private double EpochTime(EtaTrial t, int phase)
    {
        if (phase < 0 || phase >= t.PhaseEpochs.Count) return 0;
        if (epochSeconds.TryGetValue(RateKey(t, phase), out var s)) return s.Sum / s.Count;
        var ratios = new List<double>();
        foreach (var (key, (sum, count)) in epochSeconds)
        {
            var model = ModelSeconds(key);
            if (model > 0) ratios.Add(sum / count / model);
        }
        if (ratios.Count == 0)
        {
            // Only first epochs so far: a running trial's claim-to-first-epoch time bounds its epoch time from above.
            var firstEpochs = running.Values.Where(r => r.FirstEpochAt is not null && r.Trial.ModelEpochSeconds.Count > 0 && r.Trial.ModelEpochSeconds[0] > 0)
                .Select(r => (r.FirstEpochAt!.Value - r.Started) / r.Trial.ModelEpochSeconds[0]).ToList();
            if (firstEpochs.Count == 0) return 0;
            ratios = firstEpochs;
        }
        return Median(ratios) * t.ModelEpochSeconds[phase];
    }

    private readonly Dictionary<string, double> modelSecondsByKey = new(StringComparer.Ordinal);

    private string RateKey(EtaTrial t, int phase)
    {
        var key = $"{t.Kind}#{phase}";
        if (phase < t.ModelEpochSeconds.Count) modelSecondsByKey[key] = t.ModelEpochSeconds[phase];
        return key;
    }

    private double ModelSeconds(string key) => modelSecondsByKey.GetValueOrDefault(key);

    private static void Add(Dictionary<string, (double Sum, int Count)> to, string key, double seconds)
    {
        var (sum, count) = to.GetValueOrDefault(key);
        to[key] = (sum + seconds, count + 1);
    }

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToList();
        var n = sorted.Count;
        return n == 0 ? 0 : n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}

internal static class DictionaryExtensions
{
    public static List<double> GetOrAdd(this Dictionary<string, List<double>> d, string key) =>
        d.TryGetValue(key, out var list) ? list : d[key] = [];
}
