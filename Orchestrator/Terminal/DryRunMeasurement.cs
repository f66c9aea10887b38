using System.Diagnostics;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Studies;
using Studies.Orchestrator.Terminal;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Terminal;

/// <summary>What one kind of trial costs on this host, measured: start (data), seconds per epoch per phase, end (evaluation).</summary>
/// <param name="EpochSeconds">Per phase: an ordinary epoch.</param>
/// <param name="PhaseStartSeconds">Per phase: what its first epoch costs beyond an ordinary one (setting up its loss).</param>
/// <param name="EvaluationSeconds">Per phase: one validation of the phase's selection metric (every <c>validation_every</c> epochs and at its end).</param>
public sealed record KindCost(double StartSeconds, IReadOnlyList<double> EpochSeconds, IReadOnlyList<double> PhaseStartSeconds,
    IReadOnlyList<double> EvaluationSeconds, double EndSeconds)
{
    /// <summary>Seconds of a whole trial of this kind with the epochs of <paramref name="spec"/>.</summary>
    public double TrialSeconds(TrialSpec spec)
    {
        var total = StartSeconds + EndSeconds;
        for (var p = 0; p < spec.Schedule.Count; p++)
        {
            var phase = spec.Schedule[p];
            total += PhaseStartSeconds[p] + phase.Epochs * EpochSeconds[p] + Evaluations(spec, p) * EvaluationSeconds[p];
        }
        return total;
    }

    /// <summary>How many epochs of a phase compute its selection metric (the trial runner's rule: every validation_every epochs and the last).</summary>
    public static int Evaluations(TrialSpec spec, int phase)
    {
        var p = spec.Schedule[phase];
        var extra = new[] { p.KeepBest, p.EarlyStopping?.Metric }.Any(m => m is not null and not (MetricNames.Loss or MetricNames.ValidationLoss));
        if (!extra) return 0;
        var every = spec.Evaluation.ValidationEvery;
        return every > 0 ? p.Epochs / every + (p.Epochs % every == 0 ? 0 : 1) : 1;
    }
}

/// <summary>
/// The dry run's duration, calibrated by a short measurement on this host instead of assumed throughputs: one trial of
/// each kind (<see cref="EtaTrial.KindOf"/>) is trained in this process with three epochs per phase, timed per epoch,
/// and one worker is started and timed. Trials of different kinds share nothing, so a kind's three epochs tell its
/// ordinary epoch (the second), the extra of an epoch that evaluates the selection metric (the third, the phase's last,
/// less the second, when the second does not evaluate) and the phase's set-up (the first, less the second). Each of
/// those is one epoch's time, and on a loaded machine one epoch now and then takes twice the others; so each kind's
/// costs are then pooled with those of the kinds that share its data and schedule and differ only in the model (the
/// median over them), each scaled by the ETA's calibrated cost model (<see cref="EpochCostModel"/>: the ratio of the two
/// models' epochs), as the ETA scales a measured kind to one not measured yet. A study's time is then its trials' costs
/// dealt to the slots in the order they run, plus one worker start per slot.
/// </summary>
public static class DryRunMeasurement
{
    private const int EpochsPerPhase = 3;

    public static (double Seconds, double MeasuredIn, IReadOnlyDictionary<string, KindCost> Costs, double WorkerStart) Estimate(
        IReadOnlyList<PlannedTrial> trials, int slots, ITrialRunner runner, WorkerCommandLine? worker, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var measured = new Dictionary<string, KindCost>(StringComparer.Ordinal);
        var groups = new Dictionary<string, string>(StringComparer.Ordinal);
        // As many copies at once as the run has slots (up to the cores): the run's trials share the cores, the memory
        // bandwidth and the machine's other load with each other, and one trial measured alone ran its epochs about twice
        // as fast as the run's (bench eta at load ~23 on 2 cores: dry run / actual 0.44-0.54 measured one at a time).
        var copies = Math.Clamp(slots, 1, Environment.ProcessorCount);
        foreach (var trial in trials)
        {
            ct.ThrowIfCancellationRequested();
            var kind = EtaTrial.KindOf(trial.Spec);
            if (measured.ContainsKey(kind)) continue;
            measured[kind] = MeasureAtOnce(trial.Spec, runner, copies, ct);
            groups[kind] = EtaTrial.KindOf(trial.Spec with { Model = new ModelSpec() });
        }
        var costs = Pool(measured, groups, EpochCostModel.Calibrate(trials.Select(t => t.Spec), budgetSeconds: 3, ct).EpochSeconds);
        var workerStart = worker is null ? 0 : WorkerStartSeconds(worker, trials[0].Spec.Device, copies);
        var seconds = EtaEstimator.Deal(trials.Select(t => costs[EtaTrial.KindOf(t.Spec)].TrialSeconds(t.Spec)), Math.Max(1, slots), []) + workerStart;
        return (seconds, clock.Elapsed.TotalSeconds, costs, workerStart);
    }

    /// <summary>
    /// Each calibrated kind's costs as the median over the calibrated kinds of its group (<paramref name="groups"/>: same
    /// data and schedule, another model), its own among them: epochs and evaluations scaled per phase by the calibrated
    /// ratio (this kind's model / theirs), the start (data), the phases' set-up and the end as they were measured. Kinds
    /// not calibrated keep their own measurement.
    /// </summary>
    public static Dictionary<string, KindCost> Pool(IReadOnlyDictionary<string, KindCost> measured, IReadOnlyDictionary<string, string> groups,
        IReadOnlyDictionary<string, IReadOnlyList<double>> calibrated)
    {
        var pooled = new Dictionary<string, KindCost>(StringComparer.Ordinal);
        foreach (var (kind, own) in measured)
        {
            if (!calibrated.TryGetValue(kind, out var model))
            {
                pooled[kind] = own;
                continue;
            }
            var peers = measured.Where(m => groups[m.Key] == groups[kind] && calibrated.ContainsKey(m.Key)).ToList();
            double Ratio(string peer, int p) => calibrated[peer] is var theirs && p < theirs.Count && p < model.Count && theirs[p] > 0 ? model[p] / theirs[p] : 1;
            IReadOnlyList<double> Scaled(Func<KindCost, IReadOnlyList<double>> part) =>
                part(own).Select((_, p) => Median(peers.Select(peer => part(peer.Value)[p] * Ratio(peer.Key, p)))).ToList();
            IReadOnlyList<double> AsMeasured(Func<KindCost, IReadOnlyList<double>> part) =>
                part(own).Select((_, p) => Median(peers.Select(peer => part(peer.Value)[p]))).ToList();
            pooled[kind] = new KindCost(Median(peers.Select(p => p.Value.StartSeconds)), Scaled(c => c.EpochSeconds), AsMeasured(c => c.PhaseStartSeconds),
                Scaled(c => c.EvaluationSeconds), Median(peers.Select(p => p.Value.EndSeconds)));
        }
        return pooled;
    }

    /// <summary><paramref name="copies"/> measurements of the kind at once; each part of the cost is their median.</summary>
    public static KindCost MeasureAtOnce(TrialSpec spec, ITrialRunner runner, int copies, CancellationToken ct)
    {
        if (copies <= 1) return Measure(spec, runner, ct);
        var runs = Enumerable.Range(0, copies).Select(_ => Task.Run(() => Measure(spec, runner, ct), ct)).ToArray();
        Task.WaitAll(runs, ct);
        var costs = runs.Select(r => r.Result).ToList();
        IReadOnlyList<double> Each(Func<KindCost, IReadOnlyList<double>> part) =>
            Enumerable.Range(0, part(costs[0]).Count).Select(i => Median(costs.Select(c => part(c)[i]))).ToList();
        return new KindCost(Median(costs.Select(c => c.StartSeconds)), Each(c => c.EpochSeconds), Each(c => c.PhaseStartSeconds),
            Each(c => c.EvaluationSeconds), Median(costs.Select(c => c.EndSeconds)));
    }

    private static double Median(IEnumerable<double> values) => EtaEstimator.Median(values.ToList());

    /// <summary>Trains one trial of the kind with three epochs per phase and splits its time (see the class).</summary>
    public static KindCost Measure(TrialSpec spec, ITrialRunner runner, CancellationToken ct)
    {
        var shortened = spec with { Schedule = spec.Schedule.Select(p => p with { Epochs = Math.Min(p.Epochs, EpochsPerPhase) }).ToList() };
        var stamps = new List<(int Phase, double At)>();
        var clock = Stopwatch.StartNew();
        var result = runner.Run(shortened, new TrialRunOptions { OnEpoch = (record, _) => stamps.Add((record.Phase, clock.Elapsed.TotalSeconds)) }, ct);
        var total = clock.Elapsed.TotalSeconds;
        if (result.Outcome == TrialOutcome.Diverged || stamps.Count == 0)
        {
            // Nothing to time per epoch (it diverged at once): the whole of it as its start, epochs as free.
            return new KindCost(total, spec.Schedule.Select(_ => 0.0).ToList(), spec.Schedule.Select(_ => 0.0).ToList(), spec.Schedule.Select(_ => 0.0).ToList(), 0);
        }
        var epoch = new List<double>();
        var setup = new List<double>();
        var evaluation = new List<double>();
        double start = 0;
        var previous = 0.0;
        for (var p = 0; p < spec.Schedule.Count; p++)
        {
            var times = stamps.Where(s => s.Phase == p).Select(s => s.At).ToList();
            var intervals = new List<double>();
            var last = previous;
            foreach (var t in times)
            {
                intervals.Add(t - last);
                last = t;
            }
            previous = times.Count > 0 ? times[^1] : previous;
            // The ordinary epoch: the second; with fewer epochs, the only one there is.
            var ordinary = intervals.Count >= 2 ? intervals[1] : intervals.Count == 1 ? intervals[0] : 0;
            var evaluates = KindCost.Evaluations(shortened, p) > 0;
            // When the second epoch evaluates too (validation_every 1 or 2), the ordinary epoch holds the evaluation already:
            // the third less the second is then noise, only ever added (gaussian-pnn, every epoch evaluating: dry run x1.36-1.47).
            var secondEvaluates = spec.Evaluation.ValidationEvery is 1 or 2;
            var eval = evaluates && intervals.Count >= 3 && !secondEvaluates ? Math.Max(0, intervals[2] - ordinary) : 0;
            // The third then does the second's work: two samples of an ordinary epoch, not one (lovasz-toy's kinds, each alone
            // in its group, one sample each: dry run x0.67 at load ~27).
            if (intervals.Count >= 3 && (!evaluates || secondEvaluates)) ordinary = (intervals[1] + intervals[2]) / 2;
            var first = intervals.Count > 0 ? Math.Max(0, intervals[0] - ordinary) : 0;
            if (p == 0)
            {
                start = first;
                first = 0;
            }
            epoch.Add(ordinary);
            setup.Add(first);
            evaluation.Add(eval);
        }
        return new KindCost(start, epoch, setup, evaluation, Math.Max(0, total - previous));
    }

    /// <summary>Starts <paramref name="copies"/> workers at once, as a run starts its slots; the median of their start times.</summary>
    private static double WorkerStartSeconds(WorkerCommandLine commandLine, string device, int copies)
    {
        var starts = Enumerable.Range(0, Math.Max(1, copies)).Select(_ => Task.Run(() => WorkerStartSeconds(commandLine, device))).ToArray();
        Task.WaitAll(starts);
        return Median(starts.Select(s => s.Result));
    }

    /// <summary>Starts one worker and waits until it says it is ready; its seconds (a slot's first trial pays them once).</summary>
    private static double WorkerStartSeconds(WorkerCommandLine commandLine, string device)
    {
        var clock = Stopwatch.StartNew();
        using var worker = WorkerProcess.Start(commandLine, new DeviceSlot(0, device, 1));
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (worker.Messages.Reader.WaitToReadAsync(limit.Token).AsTask().GetAwaiter().GetResult())
                if (worker.Messages.Reader.TryRead(out var m) && m.Kind == WorkerMessage.Ready) return clock.Elapsed.TotalSeconds;
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            if (!worker.HasExited) worker.Kill();
        }
        return clock.Elapsed.TotalSeconds;
    }
}
