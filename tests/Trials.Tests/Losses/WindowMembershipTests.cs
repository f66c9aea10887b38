using Studies.Trials.Losses;

namespace Studies.Trials.Tests.Losses;

public sealed class WindowMembershipTests
{
    private static HashSet<(long Event, long Window)> Pairs(WindowMembership m)
    {
        var set = new HashSet<(long, long)>();
        for (var q = 0; q < m.Events.Length; q++) Assert.True(set.Add((m.Events[q], m.Windows[q])), $"pair {q} listed twice");
        return set;
    }

    private static HashSet<(long Event, long Window)> BruteForce(double[] v, double[] masses, Func<double, double> width, double nSigma)
    {
        var set = new HashSet<(long, long)>();
        for (var j = 0; j < v.Length; j++)
        {
            for (var i = 0; i < masses.Length; i++)
            {
                if (Math.Abs(v[j] - masses[i] * masses[i]) < nSigma * width(masses[i])) set.Add((j, i));
            }
        }
        return set;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Sparse_membership_equals_the_brute_force_check_with_overlaps_and_empty_events(int seed)
    {
        var rng = new Random(seed);
        var masses = Enumerable.Range(0, 12).Select(_ => 0.2 + 3 * rng.NextDouble()).ToArray();
        Func<double, double> width = m => 0.05 + 0.2 * m; // wide at high mass: overlapping windows
        var v = Enumerable.Range(0, 3000).Select(_ => -2 + 14 * rng.NextDouble()).ToArray();
        // Events exactly on window edges, to check the strict inequality both ways.
        v[0] = masses[0] * masses[0] + 2 * width(masses[0]);
        v[1] = masses[1] * masses[1] - 2 * width(masses[1]);
        v[2] = masses[2] * masses[2];

        var sparse = WindowMembership.Build(v, masses, width, 2);
        var expected = BruteForce(v, masses, width, 2);
        var actual = Pairs(sparse);

        Assert.Equal(expected.Count, actual.Count);
        Assert.True(expected.SetEquals(actual));
        Assert.Equal(expected.Count, sparse.PairCount);
        // The data really exercise overlaps and events in no window.
        var perEvent = expected.GroupBy(p => p.Event).ToDictionary(g => g.Key, g => g.Count());
        Assert.Contains(perEvent.Values, c => c >= 2);
        Assert.True(perEvent.Count < v.Length, "some events should lie in no window");
    }

    [Fact]
    public void Single_precision_window_variable_gives_the_same_pairs_as_its_double_values()
    {
        var rng = new Random(7);
        var masses = new[] { 1.0, 1.5, 2.0, 2.2 };
        Func<double, double> width = m => 0.1 * m;
        var vf = Enumerable.Range(0, 500).Select(_ => (float)(5 * rng.NextDouble())).ToArray();
        var sparse = WindowMembership.Build(vf, masses, width, 2);
        var expected = BruteForce(vf.Select(x => (double)x).ToArray(), masses, width, 2);
        Assert.True(expected.SetEquals(Pairs(sparse)));
        Assert.NotEmpty(expected);
    }

    [Fact]
    public void Bad_input_is_refused_with_a_message_naming_it()
    {
        var nan = Assert.Throws<ArgumentException>(() => WindowMembership.Build(new[] { 1.0, double.NaN }, [1.0], _ => 0.1, 2));
        Assert.Contains("event 1", nan.Message);
        var width = Assert.Throws<ArgumentException>(() => WindowMembership.Build(new[] { 1.0 }, [1.0, 2.0], m => m > 1.5 ? 0 : 0.1, 2));
        Assert.Contains("trained mass 1", width.Message);
    }
}
