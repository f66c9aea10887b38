namespace Studies.Trials.Metrics;

/// <summary>
/// One threshold shared by all trained masses, chosen to minimise the mean of their sigma_min
/// (methods.md section 6: the Punzi-net's "single cut for all hypotheses").
/// </summary>
public static class GlobalCut
{
    /// <summary>
    /// The exact minimiser of mean_i sigma_min_i(cut) over every distinct score of the union of the
    /// given scans (plus the "nothing passes" end). Between two consecutive union scores no trained
    /// mass's selection changes, so these candidates are exhaustive; each candidate is the score
    /// itself (pass: score >= cut). Every scan given counts in the mean, so leave out masses that
    /// have no signal. Among equal means the highest threshold wins.
    /// </summary>
    /// <remarks>
    /// Walking the union in descending order moves exactly one mass's cut per (mass, threshold)
    /// pair, so only that mass's term of the sum changes: O(N log N) for the sort and O(N) for the
    /// walk, N the total number of distinct thresholds. The running sum is compensated, and the
    /// mean reported is recomputed directly at the chosen cut.
    /// </remarks>
    public static ScanOptimum Find(IReadOnlyList<CutScan> trained, PunziParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(trained);
        ArgumentNullException.ThrowIfNull(parameters);
        var k = trained.Count;
        if (k == 0) return ScanOptimum.None;

        var total = 0;
        foreach (var scan in trained) total += scan.Count - 1;
        var keys = new double[total];
        var owner = new int[total];
        var at = 0;
        for (var i = 0; i < k; i++)
        {
            var thresholds = trained[i].Thresholds;
            for (var j = 1; j < thresholds.Length; j++, at++)
            {
                keys[at] = thresholds[j];
                owner[at] = i;
            }
        }
        Array.Sort(keys, owner);

        var position = new int[k];
        var sigma = new double[k];
        var sum = new CompensatedSum();
        for (var i = 0; i < k; i++)
        {
            sigma[i] = Sigma(trained[i], 0, parameters);
            sum.Add(sigma[i]);
        }
        var bestMean = sum.Value / k;
        var bestCut = double.PositiveInfinity;
        for (var n = total - 1; n >= 0;)
        {
            var cut = keys[n];
            // Each mass's thresholds are distinct and visited in descending order, so each pair
            // advances its mass by exactly one cut.
            for (; n >= 0 && keys[n] == cut; n--)
            {
                var i = owner[n];
                var next = Sigma(trained[i], ++position[i], parameters);
                sum.Add(-sigma[i]);
                sum.Add(next);
                sigma[i] = next;
            }
            var mean = sum.Value / k;
            if (mean < bestMean)
            {
                bestMean = mean;
                bestCut = cut;
            }
        }
        return new ScanOptimum(MeanAt(trained, bestCut, parameters), bestCut);
    }

    /// <summary>The mean sigma_min of the given scans at one cut.</summary>
    public static double MeanAt(IReadOnlyList<CutScan> scans, double cut, PunziParameters parameters)
    {
        var sum = new CompensatedSum();
        foreach (var scan in scans) sum.Add(PunziSensitivity.AtCut(scan, cut, parameters));
        return sum.Value / scans.Count;
    }

    private static double Sigma(CutScan scan, int index, PunziParameters parameters) =>
        PunziSensitivity.SigmaMinUnchecked(scan.SignalPassing[index], scan.BackgroundPassing[index], parameters);
}
