using Studies.Trials.Engine;

namespace Studies.Trials.Losses;

/// <summary>
/// The weighted binary cross-entropy of methods section 3: <c>sum_j w_j BCE(f_j, y_j) / sum_j w_j</c>
/// per batch.
/// </summary>
/// <remarks>
/// It takes the pre-sigmoid score (logit) rather than the probability f: libtorch's
/// <c>binary_cross_entropy_with_logits</c> evaluates <c>log(1 + exp(-|F|))</c> forms that stay exact
/// where <c>sigmoid(F)</c> rounds to 0 or 1 in single precision (|F| above ~17), whereas
/// <c>log(f)</c> on a saturated probability gives -inf (clamped to -100 by libtorch) and a zero
/// gradient. The value is the same as the BCE on <c>f = sigmoid(F)</c> wherever both are finite.
/// </remarks>
public static class WeightedBce
{
    /// <summary>
    /// The weighted mean BCE of a batch, a differentiable scalar.
    /// </summary>
    /// <param name="logits">Pre-sigmoid scores F, shape [n] or [n, 1].</param>
    /// <param name="labels">1 for signal, 0 for background, same element count and floating type.</param>
    /// <param name="weights">Per-event weights w_j ≥ 0, same element count and floating type.</param>
    public static Tensor Loss(Tensor logits, Tensor labels, Tensor weights)
    {
        var n = logits.NumEl;
        if (labels.NumEl != n)
            throw new ArgumentException($"weighted BCE: labels hold {labels.NumEl} elements but logits hold {n}", nameof(labels));
        if (weights.NumEl != n)
            throw new ArgumentException($"weighted BCE: weights hold {weights.NumEl} elements but logits hold {n}", nameof(weights));
        if (n == 0) throw new ArgumentException("weighted BCE: the batch is empty", nameof(logits));
        var f = logits.Reshape(-1);
        var w = weights.Reshape(-1);
        return Torch.BinaryCrossEntropyWithLogits(f, labels.Reshape(-1), w, Reduction.Sum) / w.Sum();
    }
}
