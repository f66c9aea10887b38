using Studies.Orchestrator.Terminal;

namespace Studies.Orchestrator.Tests.Terminal;

/// <summary>The ETA on made-up timelines whose remaining time is known exactly (every number below is worked out by hand).</summary>
public sealed class EtaEstimatorTests
{
    private static EtaTrial Trial(string id, string kind = "k", int epochs = 10) => new(id, kind, [epochs], [0.01]);

    private const string Cheap = "data|cheap|bce:1024";

    /// <summary>
    /// One slot: trial a of the cheap kind, then b of <paramref name="second"/>, ten epochs each (multiply-add models 0.01 s
    /// and <paramref name="secondModel"/>), calibrated with <paramref name="epochs"/> and <paramref name="ends"/> (none when
    /// null); a's first two epochs measured at 1 s each.
    /// </summary>
    private static EtaEstimator CheapThen(string second, double secondModel, IReadOnlyDictionary<string, IReadOnlyList<double>>? epochs,
        IReadOnlyDictionary<string, double>? ends = null)
    {
        var eta = new EtaEstimator(slots: 1);
        eta.Plan([new EtaTrial("a", Cheap, [10], [0.01]), new EtaTrial("b", second, [10], [secondModel])]);
        if (epochs is not null) eta.Calibrate(epochs, ends);
        eta.Started("a", "cpu#0", 0);
        eta.Epoch("a", 0, 1, seconds: 1);
        eta.Epoch("a", 0, 2, seconds: 1);
        return eta;
    }

    /// <summary>
    /// Two slots, four trials of one kind: a worker start of 3 s per slot, a start (data) of 2 s, ten 1-s epochs and an end
    /// (evaluation) of 1 s. Both slots' first trials reach their first epoch at 6 s.
    /// </summary>
    [Fact]
    public void From_the_first_epoch_on_the_eta_counts_the_worker_start_once_per_slot_and_becomes_exact_once_a_trial_ended()
    {
        var eta = new EtaEstimator(slots: 2);
        eta.Plan([Trial("a"), Trial("b"), Trial("c"), Trial("d")]);
        Assert.Null(eta.RemainingSeconds(0));
        eta.Started("a", "cpu#0", 0);
        eta.Started("b", "cpu#1", 0);
        eta.WorkerStarted("a", 3);
        eta.WorkerStarted("b", 3);
        Assert.Null(eta.RemainingSeconds(5));
        eta.Epoch("a", 0, 6, seconds: 1);
        eta.Epoch("b", 0, 6, seconds: 1);
        // Running: 9 epochs + an end not measured yet (taken as long as the start, 2 s) = 11 s. Queued: 2 + 10 + 2 = 14 s each,
        // one per slot after the running ones: 11 + 14 = 25 s. (Exactly: 9 + 1 + 13 = 23 s; the end is not known yet.)
        Assert.Equal(25, eta.RemainingSeconds(6)!.Value, 9);
        // Three more epochs: the running trials' epochs are counted down, no worker start is charged to the queued trials again.
        for (var t = 7; t <= 9; t++)
        {
            eta.Epoch("a", 0, t, seconds: 1);
            eta.Epoch("b", 0, t, seconds: 1);
        }
        Assert.Equal(22, eta.RemainingSeconds(9)!.Value, 9);
        for (var t = 10; t <= 15; t++)
        {
            eta.Epoch("a", 0, t, seconds: 1);
            eta.Epoch("b", 0, t, seconds: 1);
        }
        eta.Ended("a", 16, requeued: false);
        eta.Ended("b", 16, requeued: false);
        // Start 2 s (6 - 0 - 1 epoch - 3 worker start), ten epochs, end 1 s, measured: 13 s left, on both slots at once.
        Assert.Equal(13, eta.RemainingSeconds(16)!.Value, 9);
        eta.Started("c", "cpu#0", 16);
        eta.Started("d", "cpu#1", 16);
        Assert.Equal(12, eta.RemainingSeconds(17)!.Value, 9);
    }

    [Fact]
    public void A_kind_not_seen_yet_takes_the_cost_model_scaled_by_what_phases_like_it_measured()
    {
        var eta = new EtaEstimator(slots: 1);
        // The cost model says 0.01 s per epoch for both kinds; kind "k" measures 0.5 s: kind "other" is taken as 0.5 s too.
        eta.Plan([new EtaTrial("a", "data|k|bce:1024", [4], [0.01]), new EtaTrial("b", "data|other|bce:1024", [10], [0.02])]);
        eta.Started("a", "cpu#0", 0);
        eta.Epoch("a", 0, 1, seconds: 0.5);
        // a: start 0.5 s (1 - 0.5), 3 epochs left 1.5 s, end taken as the start 0.5 s = 2 s; b: 0.5 + 10 x 1.0 (twice the model)
        // + its end, at least one of its epochs, 1.0 = 11.5 s.
        Assert.Equal(13.5, eta.RemainingSeconds(1)!.Value, 9);
    }

    /// <summary>
    /// One slot, two trials of ten epochs. The slot's first trial meets the code cold: its first epoch takes 3 s, the others
    /// 1 s. Once a warm epoch is measured the cold one no longer sets the rate (a median of both would say 2 s an epoch).
    /// </summary>
    [Fact]
    public void A_slots_first_epoch_sets_the_rate_only_until_a_warm_epoch_is_measured()
    {
        var eta = new EtaEstimator(slots: 1);
        eta.Plan([Trial("a"), Trial("b")]);
        eta.Started("a", "cpu#0", 0);
        eta.Epoch("a", 0, 3, seconds: 3);
        // Only the cold epoch: 9 x 3 s + an end of one epoch (no start measured: 3 - 0 - 3) = 30 s; b: 10 x 3 + 3 = 33 s.
        Assert.Equal(63, eta.RemainingSeconds(3)!.Value, 9);
        eta.Epoch("a", 0, 4, seconds: 1);
        // Warm: 8 x 1 + 1 = 9 s; b: 10 x 1 + 1 = 11 s.
        Assert.Equal(20, eta.RemainingSeconds(4)!.Value, 9);
        Assert.Equal(1, eta.MeasuredEpochSeconds(Trial("b"), 0));
    }

    /// <summary>
    /// One slot, three trials of two 1-s epochs. The slot's first trial starts in 4 s (its data, and the code met cold) and
    /// ends in 3 s; the second starts in 0.5 s and ends in 0.5 s, as every later trial will. Once the second has ended the
    /// third is taken to need 0.5 + 2 + 0.5 s: the first trial's start and end are not mixed in (medians of both: 4.25 s).
    /// </summary>
    [Fact]
    public void A_slots_first_trial_sets_start_and_end_only_until_a_later_trial_ended()
    {
        var eta = new EtaEstimator(slots: 1);
        eta.Plan([Trial("a", epochs: 2), Trial("b", epochs: 2), Trial("c", epochs: 2)]);
        eta.Started("a", "cpu#0", 0);
        eta.Epoch("a", 0, 5, seconds: 1);
        eta.Epoch("a", 0, 6, seconds: 1);
        eta.Ended("a", 9, requeued: false);
        // Only the first trial measured: b and c as it was, 4 + 2 + 3 = 9 s each.
        Assert.Equal(18, eta.RemainingSeconds(9)!.Value, 9);
        eta.Started("b", "cpu#0", 9);
        eta.Epoch("b", 0, 10.5, seconds: 1);
        eta.Epoch("b", 0, 11.5, seconds: 1);
        eta.Ended("b", 12, requeued: false);
        Assert.Equal(3, eta.RemainingSeconds(12)!.Value, 9);
    }

    /// <summary>
    /// A study mixing a cheap kind and an expensive one (as gaussian-pnn's pnn and affine-pnn: equal multiply-adds, an
    /// epoch of the second twice as long). One slot; only the cheap kind's epochs are measured (1 s each) when the ETA is read.
    /// The calibrated model (0.02 s against 0.04 s an epoch) takes the expensive kind's epochs for 2 s; the multiply-add model
    /// alone, equal for both, would take them for 1 s.
    /// </summary>
    [Fact]
    public void After_only_cheap_epochs_were_measured_an_expensive_kind_takes_the_calibrated_ratio()
    {
        EtaEstimator Timeline(bool calibrated) => CheapThen("data|dear|bce:1024", 0.01,
            calibrated ? new Dictionary<string, IReadOnlyList<double>> { [Cheap] = [0.02], ["data|dear|bce:1024"] = [0.04] } : null);
        // a: 8 epochs of 1 s and an end (not measured: one epoch, 1 s) = 9 s. b: no start (a's start was 0 s), 10 epochs of
        // 1 s x 0.04 / 0.02 = 2 s, an end of one epoch, 2 s = 22 s. Together 31 s.
        Assert.Equal(31, Timeline(calibrated: true).RemainingSeconds(2)!.Value, 9);
        // Without the calibration: b as a, 10 x 1 + 1 = 11 s, 20 s in all.
        Assert.Equal(20, Timeline(calibrated: false).RemainingSeconds(2)!.Value, 9);
    }

    /// <summary>
    /// A kind the calibration left out (here "other") keeps its multiply-add model, put on the calibrated scale (the calibrated
    /// kind's calibrated / multiply-add ratio, 2), so it stands in the same proportion to the measured kind as by multiply-adds.
    /// </summary>
    [Fact]
    public void A_kind_left_out_of_the_calibration_keeps_its_multiply_add_model_on_the_calibrated_scale()
    {
        var eta = CheapThen("data|other|bce:1024", 0.03, new Dictionary<string, IReadOnlyList<double>> { [Cheap] = [0.02] });
        // a: 9 s as above. b: 0.03 x 2 = 0.06 s by the model, 1 / 0.02 = 50 times that measured: 3 s an epoch, 10 x 3 + 3 = 33 s.
        // (Unscaled it would be 0.03 x 50 = 1.5 s an epoch, half its multiply-add proportion to a.)
        Assert.Equal(42, eta.RemainingSeconds(2)!.Value, 9);
    }

    /// <summary>
    /// No trial has ended: each kind's end comes from the calibrated model (0.1 and 0.3 s) at the rate the epochs measured
    /// (1 s an epoch for a 0.02-s model: 50 times), not from one epoch's time.
    /// </summary>
    [Fact]
    public void Before_a_trial_ended_its_end_is_the_calibrated_end_at_the_measured_rate()
    {
        var eta = CheapThen("data|dear|bce:1024", 0.01, new Dictionary<string, IReadOnlyList<double>> { [Cheap] = [0.02], ["data|dear|bce:1024"] = [0.04] },
            new Dictionary<string, double> { [Cheap] = 0.1, ["data|dear|bce:1024"] = 0.3 });
        // a: 8 x 1 + 0.1 x 50 = 13 s; b: 10 x 2 + 0.3 x 50 = 35 s.
        Assert.Equal(48, eta.RemainingSeconds(2)!.Value, 9);
    }

    /// <summary>
    /// One slot: trial a ends at 3 s and b starts at 4 s (the result recorded, b claimed and sent). That second between
    /// trials is paid again before c: c takes 1 + 2 epochs + its end 1 = 4 s after b's 2 s left.
    /// </summary>
    [Fact]
    public void The_time_between_a_slots_trials_is_counted_for_every_trial_to_come()
    {
        var eta = new EtaEstimator(slots: 1);
        eta.Plan([Trial("a", epochs: 2), Trial("b", epochs: 2), Trial("c", epochs: 2)]);
        eta.Started("a", "cpu#0", 0);
        eta.Epoch("a", 0, 1, seconds: 1);
        eta.Epoch("a", 0, 2, seconds: 1);
        eta.Ended("a", 3, requeued: false);
        eta.Started("b", "cpu#0", 4);
        eta.Epoch("b", 0, 5, seconds: 1);
        Assert.Equal(6, eta.RemainingSeconds(5)!.Value, 9);
    }

    [Fact]
    public void Trials_are_dealt_to_the_slot_that_frees_first()
    {
        Assert.Equal(10, EtaEstimator.Deal([4, 4, 4], slots: 2, busy: [2, 6]));
        Assert.Equal(12, EtaEstimator.Deal([4, 4, 4], slots: 1, busy: []));
        Assert.Equal(0, EtaEstimator.Deal([], slots: 3, busy: []));
    }

    /// <summary>
    /// An adaptive search: three trials not proposed yet stand in the plan as placeholders. A proposed trial takes the place
    /// of one, so the remaining work counts every trial to come once: before any proposal, after one and while it runs.
    /// </summary>
    [Fact]
    public void A_proposed_trial_takes_the_place_of_one_trial_to_come()
    {
        var eta = new EtaEstimator(slots: 1);
        eta.Plan(Enumerable.Range(0, 3).Select(i => new EtaTrial($"{EtaEstimator.UnproposedPrefix}{i}", "data|k|bce:1024", [4], [0.01])));
        eta.Proposed(new EtaTrial("p0", "data|k|bce:1024", [4], [0.01]));
        eta.Started("p0", "cpu#0", 0);
        eta.Epoch("p0", 0, 1, seconds: 1);
        // p0: 3 epochs left 3 s + its end (taken as its start, 0 s) ; two placeholders left: 2 x (0 + 4 x 1 + 1) with at least one epoch's end.
        var afterOne = eta.RemainingSeconds(1)!.Value;
        Assert.InRange(afterOne, 3 + 2 * 4, 3 + 2 * 6);
        // Proposed again (a resumed run sees it recorded) it changes nothing; a second proposal replaces a second placeholder.
        eta.Proposed(new EtaTrial("p0", "data|k|bce:1024", [4], [0.01]));
        Assert.Equal(afterOne, eta.RemainingSeconds(1)!.Value, 9);
        eta.Proposed(new EtaTrial("p1", "data|k|bce:1024", [4], [0.01]));
        Assert.Equal(afterOne, eta.RemainingSeconds(1)!.Value, 9);
        // Without the placeholders the same run would show only the running trial's time.
        var bare = new EtaEstimator(slots: 1);
        bare.Proposed(new EtaTrial("p0", "data|k|bce:1024", [4], [0.01]));
        bare.Started("p0", "cpu#0", 0);
        bare.Epoch("p0", 0, 1, seconds: 1);
        Assert.True(bare.RemainingSeconds(1)!.Value < afterOne - 7);
    }
}
