namespace Studies.Trials.Boosting;

/// <summary>
/// One fitted regression tree in flat arrays: internal node i sends a row left when
/// <c>x[SplitFeature[i]] &lt;= Threshold[i]</c>; a negative child c is leaf <c>~c</c>. Leaf values carry the
/// tree's weight (and the learning rate), so the raw score of an ensemble is its bias plus the sum of leaves.
/// </summary>
public sealed record RegressionTree(int[] SplitFeature, float[] Threshold, int[] Left, int[] Right, double[] LeafValue)
{
    /// <summary>The leaf value of a row; feature index <paramref name="massFeature"/> reads <paramref name="mass"/> (the mass input of a parametric ensemble).</summary>
    public double Evaluate(ReadOnlySpan<float> row, int massFeature, float mass)
    {
        if (Left.Length == 0) return LeafValue[0];
        var node = 0;
        while (node >= 0)
        {
            var f = SplitFeature[node];
            var x = f == massFeature ? mass : row[f];
            node = x <= Threshold[node] ? Left[node] : Right[node];
        }
        return LeafValue[~node];
    }
}

/// <summary>A boosted ensemble: raw score F(x) = <see cref="Bias"/> + sum over trees; the signal probability is sigmoid(F).</summary>
public sealed record TreeEnsemble(double Bias, IReadOnlyList<RegressionTree> Trees)
{
    /// <summary>The raw score of the first <paramref name="rounds"/> trees.</summary>
    public double Score(ReadOnlySpan<float> row, int massFeature, float mass, int rounds)
    {
        var sum = Bias;
        var n = Math.Min(rounds, Trees.Count);
        for (var k = 0; k < n; k++) sum += Trees[k].Evaluate(row, massFeature, mass);
        return sum;
    }

    /// <summary>Tree <paramref name="round"/>'s contribution (0 when the library stopped adding trees before it).</summary>
    public double Round(int round, ReadOnlySpan<float> row, int massFeature, float mass) =>
        round < Trees.Count ? Trees[round].Evaluate(row, massFeature, mass) : 0;
}
