using Studies.Trials.Components;
using Studies.Trials.Engine;
using Studies.Trials.Models;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Tests.Components;

/// <summary>
/// A toy loss written the way a new loss is added: this one file (the loss and its registry entry).
/// The Brier score <c>mean((sigmoid(f) - y)^2)</c>, per batch, with one option to show that options
/// reach both the study reader and the loss.
/// </summary>
public sealed class BrierLoss(TrainingSet set, double scale) : IPhaseLoss
{
    public static readonly LossEntry Entry = new("brier", "Brier score (a test's toy loss).",
        [OptionSpec.Positive("scale", "Multiplies the loss.", "1")],
        c => new BrierLoss(c.Set, c.Phase.LossOptions["scale"]?.GetValue<double>() ?? 1));

    public Tensor Compute(ClassifierModel model, long[]? positions)
    {
        if (positions is null) return Score(set.Logits(model, null), set.Labels);
        var index = Torch.Tensor(positions, device: set.Features.Device);
        return Score(set.Logits(model, index), set.Labels.IndexSelect(0, index));
    }

    private Tensor Score(Tensor logits, Tensor labels) => logits.Sigmoid().Sub(labels).Square().Mean().Mul(scale);

    public void Dispose()
    {
    }
}
