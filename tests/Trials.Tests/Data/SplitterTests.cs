using System.Text.Json.Nodes;
using Studies.Trials.Data;
using Studies.Trials.Specs;

namespace Studies.Trials.Tests.Data;

public sealed class SplitterTests
{
    private static readonly EventSet Events = new RecoilToy().Load(new JsonObject
    {
        ["masses"] = new JsonArray(1.0, 2.0, 3.0, 4.0, 5.0), ["signal_per_mass"] = 1000,
        ["background_events"] = new JsonObject { ["mumu"] = 3001, ["taupair"] = 2000, ["eemumu"] = 999 },
    }, 5);

    [Fact]
    public void Splits_are_disjoint_cover_everything_and_follow_the_fractions_in_every_stratum()
    {
        var splits = Splitter.Split(Events, new SplitSpec(0.5, 0.3, 0.2), HoldoutSpec.None, 1);
        var all = splits.Train.Concat(splits.Validation).Concat(splits.Test).ToArray();
        Assert.Equal(Events.Count, all.Length);
        Assert.Equal(Events.Count, all.Distinct().Count());
        foreach (var stratum in Strata())
        {
            int n = stratum.Length;
            var inStratum = stratum.ToHashSet();
            Assert.InRange(splits.Train.Count(inStratum.Contains), (int)(0.5 * n) - 1, (int)(0.5 * n) + 1);
            Assert.InRange(splits.Validation.Count(inStratum.Contains), (int)(0.3 * n) - 1, (int)(0.3 * n) + 1);
            Assert.InRange(splits.Test.Count(inStratum.Contains), (int)(0.2 * n) - 1, (int)(0.2 * n) + 1);
        }
    }

    [Fact]
    public void Splits_are_reproducible_for_a_seed_and_differ_for_another()
    {
        var a = Splitter.Split(Events, new SplitSpec(), HoldoutSpec.None, 3);
        var b = Splitter.Split(Events, new SplitSpec(), HoldoutSpec.None, 3);
        var c = Splitter.Split(Events, new SplitSpec(), HoldoutSpec.None, 4);
        Assert.Equal(a.Train, b.Train);
        Assert.Equal(a.Test, b.Test);
        Assert.NotEqual(a.Train, c.Train);
    }

    [Fact]
    public void Every_second_mass_is_held_out_and_its_signal_never_trains()
    {
        var splits = Splitter.Split(Events, new SplitSpec(), HoldoutSpec.EverySecond, 1);
        Assert.Equal([2.0, 4.0], splits.HeldoutMasses);
        Assert.Equal([1.0, 3.0, 5.0], splits.TrainedMasses);
        Assert.DoesNotContain(splits.Train, i => Events.Label[i] == 1 && (Events.Mass[i] == 2 || Events.Mass[i] == 4));
        // Held-out signal is split between validation and test in their proportion (0.2 : 0.2).
        int validation = splits.Validation.Count(i => Events.Label[i] == 1 && Events.Mass[i] == 2);
        int test = splits.Test.Count(i => Events.Label[i] == 1 && Events.Mass[i] == 2);
        Assert.Equal(1000, validation + test);
        Assert.Equal(500, validation);
        Assert.Equal(600, splits.Train.Count(i => Events.Label[i] == 1 && Events.Mass[i] == 3));
    }

    [Fact]
    public void A_held_out_list_is_matched_within_the_grid_tolerance()
    {
        var splits = Splitter.Split(Events, new SplitSpec(), HoldoutSpec.List(3.0000000001, 5), 1);
        Assert.Equal([3.0, 5.0], splits.HeldoutMasses);
        Assert.Equal([1.0, 2.0, 4.0], splits.TrainedMasses);
    }

    [Fact]
    public void Bad_holdouts_and_fractions_are_errors_that_say_what()
    {
        var e = Assert.Throws<DataException>(() => Splitter.Split(Events, new SplitSpec(), HoldoutSpec.List(2.5), 1));
        Assert.Contains("held-out mass 2.5 is not in the data's mass grid (1, 2, 3, 4, 5)", e.Message);
        e = Assert.Throws<DataException>(() => Splitter.Split(Events, new SplitSpec(), new HoldoutSpec("random"), 1));
        Assert.Contains("unknown holdout kind 'random'", e.Message);
        e = Assert.Throws<DataException>(() => Splitter.Split(Events, new SplitSpec(), HoldoutSpec.List(1, 2, 3, 4, 5), 1));
        Assert.Contains("none is left to train on", e.Message);
        e = Assert.Throws<DataException>(() => Splitter.Split(Events, new SplitSpec(0.6, 0.3, 0.3), HoldoutSpec.None, 1));
        Assert.Contains("add up to 1", e.Message);
        e = Assert.Throws<DataException>(() => Splitter.Split(Events, new SplitSpec(1.2, -0.1, -0.1), HoldoutSpec.None, 1));
        Assert.Contains("'train' must lie in [0, 1]", e.Message);
    }

    private static IEnumerable<int[]> Strata() =>
        Events.Where(_ => true).GroupBy(i => (Events.Process[i], Events.MassIndex[i])).Select(g => g.ToArray());
}
