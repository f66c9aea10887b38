namespace Studies.Trials.Metrics;

/// <summary>
/// The scored events of ONE mass hypothesis, as copied out of the network: classifier score, class
/// and weight per event. Signal weights are efficiency contributions (scale / N_gen of the mass), so
/// the weight of passing signal sums to the absolute efficiency eps; background weights are expected
/// event yields. Ranking metrics (ROC, PR) normalise each class separately, so a uniform factor on
/// either class (e.g. background 1/K) does not change them.
/// </summary>
public sealed class MassSample
{
    public IReadOnlyList<double> Score => _score;
    public IReadOnlyList<bool> IsSignal => _isSignal;
    public IReadOnlyList<double> Weight => _weight;
    public int Count => _score.Length;

    internal readonly double[] _score;
    internal readonly bool[] _isSignal;
    internal readonly double[] _weight;

    /// <summary>
    /// Scores must be finite (a +inf score would pass the "nothing passes" cut, which is +inf);
    /// weights finite; negative weights (NLO Monte Carlo) are allowed: cumulative sums may then
    /// decrease, and every scan takes each cut's own sums rather than assuming they grow.
    /// The arrays are copied, so later changes by the caller cannot invalidate the checks.
    /// </summary>
    public MassSample(IReadOnlyList<double> score, IReadOnlyList<bool> isSignal, IReadOnlyList<double> weight)
    {
        ArgumentNullException.ThrowIfNull(score);
        ArgumentNullException.ThrowIfNull(isSignal);
        ArgumentNullException.ThrowIfNull(weight);
        if (isSignal.Count != score.Count || weight.Count != score.Count)
            throw new ArgumentException(
                $"MassSample: array lengths differ (Score {score.Count}, IsSignal {isSignal.Count}, Weight {weight.Count}).");
        _score = Copy(score);
        _isSignal = Copy(isSignal);
        _weight = Copy(weight);
        for (var i = 0; i < _score.Length; i++)
        {
            if (!double.IsFinite(_score[i]))
                throw new ArgumentException($"MassSample: Score[{i}] = {_score[i]} is not a finite number.", nameof(score));
            if (!double.IsFinite(_weight[i]))
                throw new ArgumentException($"MassSample: Weight[{i}] = {_weight[i]} is not a finite number.", nameof(weight));
        }
    }

    private static T[] Copy<T>(IReadOnlyList<T> source) => source is T[] array ? (T[])array.Clone() : [.. source];

    /// <summary>All events with one weight: convenient for ranking metrics on unweighted data.</summary>
    public static MassSample Unweighted(IReadOnlyList<double> score, IReadOnlyList<bool> isSignal) =>
        new(score, isSignal, Enumerable.Repeat(1.0, score.Count).ToArray());
}
