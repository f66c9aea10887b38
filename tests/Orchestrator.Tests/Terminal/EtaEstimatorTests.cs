using Studies.Orchestrator.Terminal;

namespace Studies.Orchestrator.Tests.Terminal;

/// <summary>The ETA on made-up timelines whose remaining time is known exactly (every number below is worked out by hand).</summary>
public sealed class EtaEstimatorTests
{
    private static EtaTrial Trial(string id, string kind = "k", int epochs = 10) => new(id, kind, [epochs], [0.01]);

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

    [Fact]
    public void Trials_are_dealt_to_the_slot_that_frees_first()
    {
        Assert.Equal(10, EtaEstimator.Deal([4, 4, 4], slots: 2, busy: [2, 6]));
        Assert.Equal(12, EtaEstimator.Deal([4, 4, 4], slots: 1, busy: []));
        Assert.Equal(0, EtaEstimator.Deal([], slots: 3, busy: []));
    }
}
