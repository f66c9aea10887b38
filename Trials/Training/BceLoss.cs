using Studies.Trials.Components;
using Studies.Trials.Engine;
using Studies.Trials.Models;

namespace Studies.Trials.Training;

/// <summary>
/// Weighted binary cross-entropy per batch, <c>sum_j w_j BCE(f_j, y_j) / sum_j w_j</c>
/// (methods.md section 3), computed on logits for numerical stability. Without balanced batches
/// the class balance comes from the weights: physical weights with the signal total scaled to the
/// background total, as in the Punzi-net; with balanced batches every drawn event weighs 1.
/// </summary>
public sealed class BceLoss : IPhaseLoss
{
    public static readonly LossEntry Entry = new("bce", "Weighted binary cross-entropy, per batch.", [],
        c => new BceLoss(c.Set, c.BalancedBatches));

    private readonly TrainingSet set;
    private readonly Tensor weights;

    public BceLoss(TrainingSet set, bool balancedBatches)
    {
        this.set = set;
        var w = new float[set.Count];
        if (balancedBatches)
        {
            Array.Fill(w, 1f);
        }
        else
        {
            double signal = 0, background = 0;
            for (var k = 0; k < set.Count; k++)
            {
                var weight = set.Data.Weight[set.Events[k]];
                if (set.IsSignal[k]) signal += weight; else background += weight;
            }
            var factor = signal > 0 && background > 0 ? background / signal : 1;
            for (var k = 0; k < set.Count; k++)
                w[k] = (float)(set.Data.Weight[set.Events[k]] * (set.IsSignal[k] ? factor : 1));
        }
        using var scope = TensorScope.Begin();
        weights = TensorScope.Detach(scope.MoveToOuter(Torch.Tensor(w, [set.Count, 1], set.Features.Device)));
    }

    public Tensor Compute(ClassifierModel model, long[]? positions)
    {
        if (positions is null)
            return Torch.BinaryCrossEntropyWithLogits(set.Logits(model, null), set.Labels, weights, Reduction.Sum) / weights.Sum();
        var index = Torch.Tensor(positions, device: set.Features.Device);
        var w = weights.IndexSelect(0, index);
        return Torch.BinaryCrossEntropyWithLogits(set.Logits(model, index), set.Labels.IndexSelect(0, index), w, Reduction.Sum) / w.Sum();
    }

    public void Dispose() => weights.Dispose();
}
