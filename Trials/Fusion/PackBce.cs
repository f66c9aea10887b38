using Studies.Trials.Engine;
using Studies.Trials.Training;

namespace Studies.Trials.Fusion;

/// <summary>
/// The BCE of every member at once, when all members train with <see cref="BceLoss"/>: labels and weights of
/// the members' sets laid end to end, each step's events read with one index, and each member's
/// <c>sum_j w_j BCE(F_j, y_j) / sum_j w_j</c> over its own row (the same formula as <see cref="BceLoss.Compute"/>).
/// Asking each member's loss in turn costs about ten small libtorch calls per member and step; this costs ten in all.
/// </summary>
internal sealed class PackBce : IDisposable
{
    private readonly Tensor labels, weights;
    private readonly long[] offsets;

    private PackBce(IReadOnlyList<TrainingContext> runs)
    {
        using var scope = TensorScope.Begin();
        labels = TensorScope.Detach(scope.MoveToOuter(Torch.Cat(runs.Select(r => r.Train.Labels.Reshape(-1, 1)).ToList())));
        weights = TensorScope.Detach(scope.MoveToOuter(Torch.Cat(runs.Select(r => ((BceLoss)r.Loss).Weights.Reshape(-1, 1)).ToList())));
        offsets = new long[runs.Count];
        for (var k = 1; k < runs.Count; k++) offsets[k] = offsets[k - 1] + runs[k - 1].Train.Count;
    }

    /// <summary>Null unless every member's loss is a <see cref="BceLoss"/>.</summary>
    public static PackBce? For(IReadOnlyList<TrainingContext> runs) => runs.All(r => r.Loss is BceLoss) ? new PackBce(runs) : null;

    /// <summary>Each member's loss [members] for scores [members, n, 1] of batches of n events each.</summary>
    public Tensor Losses(Tensor logits, IReadOnlyList<PackBatch> batches)
    {
        var n = batches[0].Positions.Length;
        var index = new long[batches.Count * n];
        for (var k = 0; k < batches.Count; k++)
        for (var i = 0; i < n; i++) index[k * n + i] = offsets[k] + batches[k].Positions[i];
        var at = Torch.Tensor(index, device: labels.Device);
        var y = labels.IndexSelect(0, at).Reshape(batches.Count, n, 1);
        var w = weights.IndexSelect(0, at).Reshape(batches.Count, n, 1);
        var sum = Torch.BinaryCrossEntropyWithLogits(logits, y, w, Reduction.None).Sum(1).Reshape(-1);
        // As BceLoss: a batch of dropped events only contributes nothing rather than 0/0.
        return sum / w.Sum(1).Reshape(-1).ClampMin(1e-30);
    }

    public void Dispose()
    {
        labels.Dispose();
        weights.Dispose();
    }
}

/// <summary>
/// A pack member's validation loss: the value the pack computed for all members at once (<see cref="NativePackStep.ValidationLosses"/>)
/// when there is one for this epoch, otherwise its own loss object's.
/// </summary>
internal sealed class PrecomputedLoss(IPhaseLoss inner) : IPhaseLoss
{
    public IPhaseLoss Inner { get; } = inner;
    /// <summary>The next whole-set value, used once.</summary>
    public float? Next { get; set; }

    public bool SupportsBatches => Inner.SupportsBatches;

    public Tensor Compute(Models.ClassifierModel model, long[]? positions)
    {
        if (positions is null && Next is { } value)
        {
            Next = null;
            return Torch.Scalar(value);
        }
        return Inner.Compute(model, positions);
    }

    public void Dispose() => Inner.Dispose();
}
