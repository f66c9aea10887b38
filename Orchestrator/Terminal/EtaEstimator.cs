using Studies.Orchestrator.Studies;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Terminal;

/// <summary>
/// One trial still to run (or running), as the ETA sees it: its speed kind, epochs per phase and the multiply-add model's
/// guess per epoch (<see cref="DryRun.EstimatePhaseEpochSeconds"/>; replaced by the calibrated model, see <see cref="EtaEstimator.Calibrate"/>).
/// </summary>
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
/// result: the per-mass evaluation), and the time between a slot's trials (measured from one trial's end to the slot's
/// next start). Trials of a kind or phase not yet seen take the cost model's time per epoch (and end)
/// scaled by what was measured so far (the median ratio measured/model). The cost model is the calibrated one
/// (<see cref="EpochCostModel"/>: a few steps of each model shape timed at the run's start) once <see cref="Calibrate"/> has
/// it, so a kind not measured yet is taken to cost what its shape costs relative to the kinds measured; until then, and for
/// kinds it could not calibrate, the multiply-add model. The remaining trials are then dealt to the
/// slots in claim order, each to the slot that frees first, and the ETA is when the last slot is done.
/// One-off costs are kept apart from what every trial pays: the worker start is paid once per slot (long-lived workers,
/// which also run a warm-up trial before they are ready), and a slot's first trial's start, end and first epoch of each
/// phase (where the worker meets that code first) are used only until a later trial, or a later epoch, has been measured.
/// Times are seconds on any monotonic clock.
/// </summary>
public sealed class EtaEstimator(int slots)
{
    private sealed class Running(EtaTrial trial, double started, bool firstOnSlot, string slot)
    {
        public EtaTrial Trial { get; } = trial;
        public string Slot { get; } = slot;
        public double Started { get; } = started;
        public bool FirstOnSlot { get; } = firstOnSlot;
        public double? FirstEpochAt;
        /// <summary>The first epoch's own seconds, as the worker timed it (null: not reported).</summary>
        public double? FirstEpochSeconds;
        public double? LastEpochAt;
        public int Phase;
        /// <summary>Epochs done, counted over all phases.</summary>
        public int EpochsDone;
        public int EpochsDoneInPhase;
        /// <summary>Seconds a worker started for this trial took (0 when it ran on a worker already up).</summary>
        public double WorkerStart;
    }

    private readonly Lock gate = new();
    private readonly List<EtaTrial> queued = [];
    private readonly Dictionary<string, Running> running = new(StringComparer.Ordinal);
    // Medians, not means: on a loaded machine one epoch now and then takes many times the others (the process was not scheduled).
    private readonly Dictionary<string, List<double>> epochSeconds = new(StringComparer.Ordinal);
    /// <summary>
    /// First epochs of a phase in a slot's first trial: the worker meets that phase's loss and model code for the first time
    /// (compiling it, the tensor library's first use), so they are slower than the rest. Used only while a kind's phase has
    /// no other epoch measured. (lovasz-toy before this, bench eta at load ~23: the ETA at the first epoch was 172.5 s for
    /// 21.8 s left.)
    /// </summary>
    private readonly Dictionary<string, List<double>> coldEpochSeconds = new(StringComparer.Ordinal);
    private readonly List<double> firstEndSeconds = [];
    private readonly Dictionary<string, List<double>> startSeconds = new(StringComparer.Ordinal);
    private readonly List<double> firstStartSeconds = [];
    private readonly Dictionary<string, List<double>> endSeconds = new(StringComparer.Ordinal);
    private readonly HashSet<string> slotsSeen = new(StringComparer.Ordinal);
    private readonly int slots = Math.Max(1, slots);
    /// <summary>Calibrated seconds per epoch per phase, by kind (<see cref="Calibrate"/>).</summary>
    private readonly Dictionary<string, IReadOnlyList<double>> calibrated = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> calibratedEnd = new(StringComparer.Ordinal);
    /// <summary>Calibrated / multiply-add model over the calibrated kinds (median): puts a kind not calibrated on the calibrated scale.</summary>
    private double uncalibratedScale = 1;

    /// <summary>
    /// The calibrated cost model's seconds per epoch per phase, by kind (<see cref="EpochCostModel.Calibrate(IEnumerable{Trials.Specs.TrialSpec}, double, CancellationToken, Trials.Components.ComponentCatalog?)"/>):
    /// from now on the cost model of those kinds; kinds left out keep the multiply-add model, scaled to the calibrated one
    /// (the median ratio of the two over the calibrated kinds of the plan), so that both stand on one scale.
    /// </summary>
    /// <param name="endSeconds">The model's seconds of a trial's end by kind: a kind whose end is not measured yet takes it,
    /// scaled as the measured ends (or, before any, the measured epochs) stand to the model.</param>
    public void Calibrate(IReadOnlyDictionary<string, IReadOnlyList<double>> epochSeconds, IReadOnlyDictionary<string, double>? endSeconds = null)
    {
        lock (gate)
        {
            foreach (var (kind, seconds) in epochSeconds) calibrated[kind] = seconds;
            foreach (var (kind, seconds) in endSeconds ?? new Dictionary<string, double>()) calibratedEnd[kind] = seconds;
            var ratios = queued.Concat(running.Values.Select(r => r.Trial)).Where(t => calibrated.ContainsKey(t.Kind))
                .SelectMany(t => t.ModelEpochSeconds.Select((m, p) => m > 0 && p < calibrated[t.Kind].Count ? calibrated[t.Kind][p] / m : double.NaN))
                .Where(double.IsFinite).ToList();
            if (ratios.Count > 0) uncalibratedScale = Median(ratios);
        }
    }

    /// <summary>The cost model's seconds per epoch of a trial's phase: calibrated, else the multiply-add model on the calibrated scale.</summary>
    private double Model(EtaTrial t, int phase) =>
        calibrated.TryGetValue(t.Kind, out var own) && phase < own.Count ? own[phase]
        : phase < t.ModelEpochSeconds.Count ? t.ModelEpochSeconds[phase] * uncalibratedScale : 0;

    /// <summary>The trials the run will start, in the order it claims them.</summary>
    public void Plan(IEnumerable<EtaTrial> trials)
    {
        lock (gate) queued.AddRange(trials);
    }

    /// <summary>Prefix of the placeholders of an adaptive search's trials not proposed yet (<see cref="Proposed"/> replaces them).</summary>
    public const string UnproposedPrefix = "unproposed:";

    /// <summary>
    /// A trial an adaptive search proposed during the run: it takes the place of one placeholder of a trial to come
    /// (the first of its kind, else the first), so the remaining work neither shrinks to nothing nor counts it twice.
    /// </summary>
    public void Proposed(EtaTrial trial)
    {
        lock (gate)
        {
            if (queued.Any(t => t.TrialId == trial.TrialId) || running.ContainsKey(trial.TrialId)) return;
            var placeholder = queued.FindIndex(t => t.TrialId.StartsWith(UnproposedPrefix, StringComparison.Ordinal) && t.Kind == trial.Kind);
            if (placeholder < 0) placeholder = queued.FindIndex(t => t.TrialId.StartsWith(UnproposedPrefix, StringComparison.Ordinal));
            if (placeholder >= 0) queued.RemoveAt(placeholder);
            queued.Insert(0, trial);
        }
    }

    public void Started(string trialId, string slot, double now)
    {
        lock (gate)
        {
            var index = queued.FindIndex(t => t.TrialId == trialId);
            if (index < 0) return;
            var trial = queued[index];
            queued.RemoveAt(index);
            running[trialId] = new Running(trial, now, slotsSeen.Add(slot), slot);
            if (slotFreedAt.Remove(slot, out var freed)) gapSeconds.Add(Math.Max(0, now - freed));
        }
    }

    /// <summary>A worker was started for the trial and took <paramref name="seconds"/> to be ready: once per slot, not part of the trial's start.</summary>
    public void WorkerStarted(string trialId, double seconds)
    {
        lock (gate)
        {
            if (running.TryGetValue(trialId, out var r)) r.WorkerStart = seconds;
            workerStarts.Add(seconds);
        }
    }

    private readonly List<double> workerStarts = [];
    /// <summary>
    /// When each slot's last trial ended, and the seconds from there to the slot's next trial: the result recorded, the next
    /// trial claimed and sent, the worker's clean-up between trials. Every trial but a slot's first pays it, and nothing else
    /// counts it (lovasz-toy, 1/10 events, 20 trials of ~3 s: 0.6 s a trial at load ~20, the ETA after 10 % was -27 % without it).
    /// </summary>
    private readonly Dictionary<string, double> slotFreedAt = new(StringComparer.Ordinal);
    private readonly List<double> gapSeconds = [];

    /// <param name="phase">0-based phase of the epoch that just ended.</param>
    /// <param name="seconds">The epoch's own seconds as the worker timed them; null: the time since the previous epoch is taken (not for a first epoch).</param>
    public void Epoch(string trialId, int phase, double now, double? seconds = null)
    {
        lock (gate)
        {
            if (!running.TryGetValue(trialId, out var r)) return;
            if (phase != r.Phase) r.EpochsDoneInPhase = 0;
            var rates = r.FirstOnSlot && r.EpochsDoneInPhase == 0 ? coldEpochSeconds : epochSeconds;
            if (seconds is { } own && double.IsFinite(own) && own >= 0) rates.GetOrAdd(RateKey(r.Trial, phase)).Add(own);
            else if (r.LastEpochAt is { } last && phase == r.Phase) rates.GetOrAdd(RateKey(r.Trial, phase)).Add(now - last);
            // The first epoch's time from the claim holds the start; once the epoch's rate is known the start is what is left (below).
            if (r.FirstEpochAt is null && seconds is { } firstOwn && double.IsFinite(firstOwn) && firstOwn >= 0) r.FirstEpochSeconds = firstOwn;
            r.FirstEpochAt ??= now;
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
            slotFreedAt[r.Slot] = now;
            if (r.FirstEpochAt is { } first && !requeued)
            {
                var start = first - r.Started - (r.FirstEpochSeconds ?? EpochTime(r.Trial, 0)) - r.WorkerStart;
                // A slot's first trial meets the data, model and evaluation code first (and, without a reported worker start,
                // holds the worker's start-up): its start and end are kept apart, used only until a later trial has ended.
                (r.FirstOnSlot ? firstStartSeconds : startSeconds.GetOrAdd(r.Trial.Kind)).Add(Math.Max(0, start));
                if (r.EpochsDone >= r.Trial.PhaseEpochs.Sum())
                    (r.FirstOnSlot ? firstEndSeconds : endSeconds.GetOrAdd(r.Trial.Kind)).Add(Math.Max(0, now - r.LastEpochAt!.Value));
            }
            if (requeued) queued.Add(r.Trial);
        }
    }

    /// <summary>Seconds until the last trial is done; null while nothing has been measured.</summary>
    public double? RemainingSeconds(double now)
    {
        lock (gate)
        {
            if (epochSeconds.Count == 0 && coldEpochSeconds.Count == 0 && !running.Values.Any(r => r.FirstEpochAt is not null))
                return queued.Count == 0 && running.Count == 0 ? 0 : null;
            var busy = running.Values.Select(r => RunningLeft(r, now)).ToList();
            return Deal(queued.Select(TrialTime), slots, busy);
        }
    }

    /// <summary>
    /// When the last of <paramref name="trialSeconds"/> (in the order they start) is done on <paramref name="slots"/> slots,
    /// each trial going to the slot that frees first, the slots first busy for <paramref name="busy"/> (running trials).
    /// </summary>
    public static double Deal(IEnumerable<double> trialSeconds, int slots, IReadOnlyList<double> busy)
    {
        var free = new PriorityQueue<int, double>();
        var sorted = busy.Order().ToList();
        for (var i = 0; i < slots; i++) free.Enqueue(i, i < sorted.Count ? sorted[i] : 0);
        // More running trials than slots (another orchestrator's): their time is shared out as well.
        foreach (var extra in sorted.Skip(slots)) Take(extra);
        foreach (var seconds in trialSeconds) Take(seconds);
        var end = 0.0;
        while (free.TryDequeue(out _, out var at)) end = Math.Max(end, at);
        return end;

        void Take(double seconds)
        {
            free.TryDequeue(out var slot, out var at);
            free.Enqueue(slot, at + seconds);
        }
    }

    /// <summary>What has been measured so far, in words (medians): for the benchmark, to tell where an estimate went wrong.</summary>
    public string Describe()
    {
        lock (gate)
        {
            static string M(IEnumerable<double> v) => v.Any() ? Median(v.ToList()).ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "-";
            return $"worker start {M(workerStarts)} s; a slot's first trial: start {M(firstStartSeconds)} s, end {M(firstEndSeconds)} s, first epochs of a phase "
                + string.Join("/", coldEpochSeconds.Values.Select(M)) + $" s; later trials: start {M(startSeconds.Values.SelectMany(x => x))} s, "
                + $"end {M(endSeconds.Values.SelectMany(x => x))} s; between trials {M(gapSeconds)} s; epochs " + string.Join(", ", epochSeconds.Select(e => $"{e.Key[(e.Key.LastIndexOf('|') + 1)..]} {M(e.Value)} s x{e.Value.Count}"))
                + (calibrated.Count == 0 ? "; not calibrated" : "; calibrated model, s per epoch by kind: " + string.Join(", ", calibrated.Values.Select(v => string.Join("/", v.Select(x => x.ToString("F3", System.Globalization.CultureInfo.InvariantCulture))))));
        }
    }

    /// <summary>The measured seconds per epoch of a kind's phase (null: not measured yet); for tests and the benchmark.</summary>
    public double? MeasuredEpochSeconds(EtaTrial trial, int phase)
    {
        lock (gate) return epochSeconds.TryGetValue(RateKey(trial, phase), out var s) ? Median(s) : null;
    }

    private double RunningLeft(Running r, double now)
    {
        var t = r.Trial;
        if (r.FirstEpochAt is null)
        {
            // Not at its first epoch yet: its whole time (its worker's start included), less what it has been running.
            var workerStart = r.FirstOnSlot && workerStarts.Count > 0 ? Median(workerStarts) : 0;
            return Math.Max(0, workerStart + TrialTime(t, r.FirstOnSlot && workerStarts.Count == 0) - (now - r.Started));
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

    private double TrialTime(EtaTrial t) => (gapSeconds.Count > 0 ? Median(gapSeconds) : 0) + TrialTime(t, firstOnSlot: false);

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
            .Select(r => Math.Max(0, r.FirstEpochAt!.Value - r.Started - (r.FirstEpochSeconds ?? EpochTime(r.Trial, 0)) - r.WorkerStart)).ToList();
        return observed.Count > 0 ? Median(observed) : 0;
    }

    private double EndTime(EtaTrial t)
    {
        if (endSeconds.TryGetValue(t.Kind, out var own)) return Median(own);
        if (calibratedEnd.TryGetValue(t.Kind, out var model) && model > 0)
        {
            // The evaluation at the end scores every mass of both splits: it is as long as the model says, at the rate the
            // measured ends (else epochs) run at. (gaussian-pnn, 1/10 events: ends of 0.6-0.8 s, taken for one epoch's 0.15 s
            // before a trial ended, which was most of the ETA's -25 % after 10 % of the epochs.)
            var ratios = endSeconds.Where(e => calibratedEnd.GetValueOrDefault(e.Key) > 0).Select(e => Median(e.Value) / calibratedEnd[e.Key]).ToList();
            if (ratios.Count == 0) ratios = Ratios(_ => true);
            if (ratios.Count > 0) return Median(ratios) * model;
        }
        var any = endSeconds.Values.SelectMany(s => s).ToList();
        if (any.Count > 0) return Median(any);
        if (firstEndSeconds.Count > 0) return Median(firstEndSeconds);
        // No trial ended yet: the end's per-mass evaluation passes over the whole data set (both splits, two epochs' models),
        // as the start did loading it; taken as long as the start (quickstart's dry run on the 2-core VM at load ~50: the first
        // kind's start 2.0 s and end 1.9 s; later kinds, their data already loaded, start 0.1-0.3 s and end 0.8-1.0 s).
        return Math.Max(StartTime(t, firstOnSlot: false), t.PhaseEpochs.Count > 0 ? EpochTime(t, t.PhaseEpochs.Count - 1) : 0);
    }

    /// <summary>Seconds per epoch of a trial's phase: measured for its kind, else the cost model scaled by the measured/model ratio.</summary>
    private double EpochTime(EtaTrial t, int phase)
    {
        if (phase < 0 || phase >= t.PhaseEpochs.Count) return 0;
        if (epochSeconds.TryGetValue(RateKey(t, phase), out var s)) return Median(s);
        if (coldEpochSeconds.TryGetValue(RateKey(t, phase), out var cold)) return Median(cold);
        // Measured/model ratios of phases like this one (same loss and batch) first: a full-batch phase and a mini-batch
        // one differ far more from the cost model than two mini-batch phases of different nets do.
        var signature = Signature(t, phase);
        var ratios = Ratios(k => keyInfo[k].Signature == signature);
        if (ratios.Count == 0) ratios = Ratios(_ => true);
        if (ratios.Count == 0)
        {
            // Only first epochs so far: a running trial's claim-to-first-epoch time bounds its epoch time from above.
            var firstEpochs = running.Values.Where(r => r.FirstEpochAt is not null && Model(r.Trial, 0) > 0)
                .Select(r => (r.FirstEpochAt!.Value - r.Started) / Model(r.Trial, 0)).ToList();
            if (firstEpochs.Count == 0) return 0;
            ratios = firstEpochs;
        }
        return Median(ratios) * Model(t, phase);
    }

    /// <summary>A measured kind's phase: a trial of it (for its cost model, which calibration may change) and the phase's signature.</summary>
    private readonly Dictionary<string, (EtaTrial Trial, int Phase, string Signature)> keyInfo = new(StringComparer.Ordinal);

    private string RateKey(EtaTrial t, int phase)
    {
        var key = $"{t.Kind}#{phase}";
        if (phase < t.ModelEpochSeconds.Count) keyInfo[key] = (t, phase, Signature(t, phase));
        return key;
    }

    /// <summary>The phase's loss and batch, as the kind spells them.</summary>
    private static string Signature(EtaTrial t, int phase)
    {
        var phases = t.Kind[(t.Kind.LastIndexOf('|') + 1)..].Split(';');
        return phase < phases.Length ? phases[phase] : "";
    }

    private List<double> Ratios(Func<string, bool> which)
    {
        var ratios = new List<double>();
        foreach (var key in epochSeconds.Keys.Union(coldEpochSeconds.Keys))
        {
            var samples = epochSeconds.TryGetValue(key, out var warm) ? warm : coldEpochSeconds[key];
            if (keyInfo.TryGetValue(key, out var info) && Model(info.Trial, info.Phase) is var model && model > 0 && which(key)) ratios.Add(Median(samples) / model);
        }
        return ratios;
    }

    internal static double Median(IReadOnlyList<double> values)
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
