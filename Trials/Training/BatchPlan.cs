using Studies.Trials.Engine;

namespace Studies.Trials.Training;

/// <summary>
/// Which events make up each batch of an epoch (methods.md section 4). Without balancing, a
/// seeded shuffle cut into batches (or the whole set for full batch). With balancing, batches are
/// drawn with replacement, half signal and half background: <c>class</c> uniformly within each
/// class, <c>signal</c> with an equal share per trained mass, <c>background</c> with an equal share
/// per background process, <c>full</c> both. Positions refer to the training set, not the data set.
/// </summary>
public static class BatchPlan
{
    public static readonly string[] Balances = ["none", "class", "signal", "background", "full"];

    public static List<long[]> Epoch(int count, int? batch, string balance, bool[] isSignal, int[] massIndex, int[] process, Generator generator)
    {
        var size = batch ?? count;
        if (balance == "none")
        {
            if (size >= count) return [Enumerable.Range(0, count).Select(i => (long)i).ToArray()];
            using var scope = TensorScope.Begin();
            var order = Torch.Randperm(count, generator).ToArray<long>();
            var batches = new List<long[]>();
            for (var start = 0; start < count; start += size) batches.Add(order.AsSpan(start, Math.Min(size, count - start)).ToArray());
            return batches;
        }
        if (Array.IndexOf(Balances, balance) < 0) throw new ArgumentException($"unknown balance '{balance}' ({string.Join(", ", Balances)})");

        var signalGroups = Groups(count, i => isSignal[i], i => balance is "signal" or "full" ? massIndex[i] : 0);
        var backgroundGroups = Groups(count, i => !isSignal[i], i => balance is "background" or "full" ? process[i] : 0);
        if (signalGroups.Count == 0 || backgroundGroups.Count == 0) throw new InvalidOperationException("balanced batches need both signal and background events");
        var result = new List<long[]>();
        for (var drawn = 0; drawn < count; drawn += size)
        {
            var n = Math.Min(size, count - drawn);
            var half = n / 2;
            result.Add(Draw(signalGroups, half, generator).Concat(Draw(backgroundGroups, n - half, generator)).ToArray());
        }
        return result;
    }

    private static List<long[]> Groups(int count, Func<int, bool> include, Func<int, int> key) =>
        Enumerable.Range(0, count).Where(include).GroupBy(key).OrderBy(g => g.Key).Select(g => g.Select(i => (long)i).ToArray()).ToList();

    /// <summary>n events with replacement, spread equally over the groups (remainder to the first groups).</summary>
    private static List<long> Draw(List<long[]> groups, int n, Generator generator)
    {
        var drawn = new List<long>(n);
        using var scope = TensorScope.Begin();
        for (var g = 0; g < groups.Count; g++)
        {
            var share = n / groups.Count + (g < n % groups.Count ? 1 : 0);
            if (share == 0) continue;
            foreach (var p in Torch.RandInt(0, groups[g].Length, [share], generator).ToArray<long>()) drawn.Add(groups[g][p]);
        }
        return drawn;
    }
}
