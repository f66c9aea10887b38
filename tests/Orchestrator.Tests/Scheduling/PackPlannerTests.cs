using Studies.Orchestrator.Scheduling;

namespace Studies.Orchestrator.Tests.Scheduling;

/// <summary><c>fuse: auto</c>'s pack size, against a brute force over every pack size.</summary>
public sealed class PackPlannerTests
{
    private static IEnumerable<string?> Keys(params (string? Key, int Count)[] groups) => groups.SelectMany(g => Enumerable.Repeat(g.Key, g.Count));

    [Theory]
    [InlineData(8, 2, 16, 4)] // two packs of four, not seven and one
    [InlineData(32, 2, 16, 16)] // bench fusion's scan on 2 slots
    [InlineData(64, 2, 16, 16)] // capped
    [InlineData(7, 2, 16, 4)] // four and three
    [InlineData(4, 1, 16, 4)] // one idle slot takes them all
    [InlineData(2, 2, 16, 1)] // a pair would leave a slot idle: unfused
    [InlineData(1, 1, 16, 1)]
    public void One_kind_is_split_evenly_over_the_idle_slots(int trials, int idle, int most, int expected) =>
        Assert.Equal(expected, PackPlanner.AutoMembers(Keys(("a", trials)), "a", idle, most));

    [Fact]
    public void Several_kinds_each_fill_a_slot_and_trials_that_cannot_be_fused_count_as_one_each()
    {
        // The quickstart: six kinds of two seeds on two slots: each kind a pack of two.
        Assert.Equal(2, PackPlanner.AutoMembers(Keys(("a", 2), ("b", 2), ("c", 2), ("d", 2), ("e", 2), ("f", 2)), "a", 2, 16));
        // Three unfusable trials already feed three of four idle slots: the 8 of kind a may fill the fourth as one pack.
        Assert.Equal(8, PackPlanner.AutoMembers(Keys(("a", 8), (null, 3)), "a", 4, 16));
    }

    [Fact]
    public void The_size_is_the_largest_that_feeds_every_idle_slot_by_brute_force()
    {
        var random = new Random(5);
        for (var round = 0; round < 200; round++)
        {
            var groups = Enumerable.Range(0, random.Next(1, 4)).Select(g => ((string?)$"k{g}", random.Next(1, 40))).Append((null, random.Next(0, 3))).ToArray();
            var idle = random.Next(1, 6);
            var size = PackPlanner.AutoMembers(Keys(groups), "k0", idle, 16);
            // Brute force: the packs a size makes, every pack of a kind as large as an even split allows.
            int Packs(int k) => groups.Sum(g => g.Item1 is null ? g.Item2 : (g.Item2 + k - 1) / k);
            var best = Enumerable.Range(2, 15).Where(k => Packs(k) >= idle).DefaultIfEmpty(1).Max();
            var mine = groups[0].Item2;
            var even = best == 1 ? 1 : (mine + (mine + best - 1) / best - 1) / ((mine + best - 1) / best);
            Assert.Equal(even, size);
            Assert.True(size <= 16);
            if (size > 1) Assert.True(Packs(size) >= idle, $"round {round}: size {size} leaves a slot idle");
        }
    }
}
