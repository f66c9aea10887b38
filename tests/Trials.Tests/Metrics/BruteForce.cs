using Studies.Trials.Metrics;

namespace Studies.Trials.Tests.Metrics;

/// <summary>Direct, quadratic-time definitions the fast metrics are checked against.</summary>
internal static class BruteForce
{
    /// <summary>Random scores drawn from a few values, so ties between and within classes are common.</summary>
    public static MassSample TiedSample(Random random, int count, int distinctScores, double signalFraction = 0.4, double zeroWeightFraction = 0.05)
    {
        var score = new double[count];
        var isSignal = new bool[count];
        var weight = new double[count];
        for (var i = 0; i < count; i++)
        {
            isSignal[i] = random.NextDouble() < signalFraction;
            // Signal sits a little higher, so the metrics are far from their trivial values.
            var level = random.Next(distinctScores) + (isSignal[i] ? random.Next(distinctScores / 2 + 1) : 0);
            score[i] = Math.Min(level, distinctScores - 1) / (double)(distinctScores - 1);
            weight[i] = random.NextDouble() < zeroWeightFraction ? 0 : 0.2 + 2 * random.NextDouble();
        }
        return new MassSample(score, isSignal, weight);
    }

    /// <summary>Every cut a scan should consider: each distinct score and +inf (nothing passes).</summary>
    public static double[] Cuts(params MassSample[] samples) =>
        [double.PositiveInfinity, .. samples.SelectMany(s => s.Score).Distinct().OrderByDescending(x => x)];

    public static (double Signal, double Background) Passing(MassSample sample, double cut)
    {
        double s = 0, b = 0;
        for (var i = 0; i < sample.Count; i++)
        {
            if (!(sample.Score[i] >= cut)) continue;
            if (sample.IsSignal[i]) s += sample.Weight[i];
            else b += sample.Weight[i];
        }
        return (s, b);
    }

    public static (double Signal, double Background) Totals(MassSample sample) => Passing(sample, double.NegativeInfinity);

    /// <summary>Pairwise: sum over (signal, background) pairs of w_s w_b ([s > b] + [s == b] / 2).</summary>
    public static double RocAuc(MassSample sample)
    {
        double sum = 0;
        for (var i = 0; i < sample.Count; i++)
        {
            if (!sample.IsSignal[i]) continue;
            for (var j = 0; j < sample.Count; j++)
            {
                if (sample.IsSignal[j]) continue;
                var win = sample.Score[i] > sample.Score[j] ? 1.0 : sample.Score[i] == sample.Score[j] ? 0.5 : 0.0;
                sum += sample.Weight[i] * sample.Weight[j] * win;
            }
        }
        var (sTot, bTot) = Totals(sample);
        return sum / (sTot * bTot);
    }

    /// <summary>Average precision from per-threshold recall and precision, each summed directly.</summary>
    public static double AveragePrecision(MassSample sample)
    {
        var (sTot, bTot) = Totals(sample);
        double ap = 0, previousRecall = 0;
        foreach (var cut in Cuts(sample).Skip(1))
        {
            var (s, b) = Passing(sample, cut);
            double tpr = s / sTot, fpr = b / bTot;
            if (tpr > previousRecall) ap += (tpr - previousRecall) * tpr / (tpr + fpr);
            previousRecall = tpr;
        }
        return ap;
    }

    /// <summary>ROC points (fpr, tpr) at every cut, nothing-passes first.</summary>
    public static (double Fpr, double Tpr)[] RocPoints(MassSample sample)
    {
        var (sTot, bTot) = Totals(sample);
        return Cuts(sample).Select(c => Passing(sample, c)).Select(p => (p.Background / bTot, p.Signal / sTot)).ToArray();
    }

    /// <summary>The highest signal efficiency on the piecewise-linear ROC curve at the given background efficiency.</summary>
    public static double SignalEfficiencyAt(MassSample sample, double fpr)
    {
        var points = RocPoints(sample);
        var best = double.NaN;
        for (var k = 1; k < points.Length; k++)
        {
            var (f0, t0) = points[k - 1];
            var (f1, t1) = points[k];
            if (fpr < f0 || fpr > f1) continue;
            var t = f1 == f0 ? Math.Max(t0, t1) : t0 + (t1 - t0) * (fpr - f0) / (f1 - f0);
            if (double.IsNaN(best) || t > best) best = t;
        }
        return best;
    }
}
