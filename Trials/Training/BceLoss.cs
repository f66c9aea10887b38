using Studies.Trials.Components;
using Studies.Trials.Engine;
using Studies.Trials.Models;

namespace Studies.Trials.Training;

/// <summary>
/// Weighted binary cross-entropy per batch, <c>sum_j w_j BCE(f_j, y_j) / sum_j w_j</c>
/// (methods.md section 3), computed on logits for numerical stability. Without balanced batches
/// the weights follow <see cref="BceOptions.Weighting"/>: <c>cross-section</c> (default) uses the
/// physical weights with the signal total scaled to the background total, as in the Punzi-net;
/// <c>balanced</c> gives each class the same total with every event of a class weighing the same
/// (rate-blind within a class); <c>none</c> weighs every event 1 (the Lovász paper's rate-blind BCE).
/// With balanced batches every drawn event weighs 1. <see cref="BceOptions.Events"/> <c>in-windows</c>
/// drops background outside every trained mass's window (weight 0, as the Punzi-net reference's BCE
/// stage trains only on events in some window); without a window variable it changes nothing.
/// </summary>
public sealed class BceLoss : IPhaseLoss
{
    public static readonly LossEntry Entry = new("bce", "Weighted binary cross-entropy, per batch.",
        [
            OptionSpec.Choice("weighting", ["cross-section", "balanced", "none"],
                "Event weights without balanced batches: `cross-section` (physical weights, signal total scaled to the background total, as in the Punzi-net), `balanced` (each class the same total, every event of a class the same weight), `none` (every event 1: the Lovász paper's rate-blind BCE); ignored with balanced batches.",
                "cross-section"),
            OptionSpec.Choice("events", ["all", "in-windows", "in-windows-all"],
                "`in-windows`: background outside every trained mass's window (2 widths either side of its centre) is dropped, signal is kept; `in-windows-all`: every event outside every trained window is dropped, signal too (what the Punzi-net reference's BCE stage trains on); no effect without a window variable.",
                "all"),
        ],
        c => new BceLoss(c.Set, c.BalancedBatches, LossOptions.Bce(c.Phase.LossOptions)));

    private readonly TrainingSet set;
    private readonly Tensor weights;

    public BceLoss(TrainingSet set, bool balancedBatches, BceOptions? options = null)
    {
        options ??= BceOptions.Default;
        this.set = set;
        var keep = KeptEvents(set, options);
        var w = new float[set.Count];
        if (balancedBatches)
        {
            for (var k = 0; k < set.Count; k++) w[k] = keep[k] ? 1f : 0f;
        }
        else
        {
            double signal = 0, background = 0, signalEvents = 0, backgroundEvents = 0;
            for (var k = 0; k < set.Count; k++)
            {
                if (!keep[k]) continue;
                var weight = set.Data.Weight[set.Events[k]];
                if (set.IsSignal[k]) { signal += weight; signalEvents++; }
                else { background += weight; backgroundEvents++; }
            }
            var factor = signal > 0 && background > 0 ? background / signal : 1;
            for (var k = 0; k < set.Count; k++)
            {
                if (!keep[k]) continue;
                w[k] = options.Weighting switch
                {
                    "cross-section" => (float)(set.Data.Weight[set.Events[k]] * (set.IsSignal[k] ? factor : 1)),
                    // Each class sums to half the kept events, so the weights stay near 1.
                    "balanced" => (float)((signalEvents + backgroundEvents) / (2 * (set.IsSignal[k] ? signalEvents : backgroundEvents))),
                    "none" => 1f,
                    var other => throw new ArgumentException($"bce loss option 'weighting': '{other}' is not cross-section, balanced or none"),
                };
            }
        }
        EventWeights = w;
        using var scope = TensorScope.Begin();
        weights = TensorScope.Detach(scope.MoveToOuter(Torch.Tensor(w, [set.Count, 1], set.Features.Device)));
    }

    /// <summary>The weights as a tensor [events, 1] on the set's device (a fused pack reads all its members' BCE at once).</summary>
    internal Tensor Weights => weights;

    /// <summary>The weight each event of the set carries in the loss (0: dropped), by position in the set.</summary>
    public IReadOnlyList<float> EventWeights { get; }

    /// <summary>Which events of the set the loss sees: all; with <c>in-windows</c> signal plus background inside some trained window; with <c>in-windows-all</c> only events inside some trained window.</summary>
    private static bool[] KeptEvents(TrainingSet set, BceOptions options)
    {
        var keep = Enumerable.Repeat(true, set.Count).ToArray();
        if (options.Events == "all") return keep;
        if (options.Events is not ("in-windows" or "in-windows-all"))
            throw new ArgumentException($"bce loss option 'events': '{options.Events}' is not all, in-windows or in-windows-all");
        // in-windows keeps all signal (deviation from the reference, which drops out-of-window
        // signal as well: in-windows-all); both keep an event inside any trained mass's window.
        var signalToo = options.Events == "in-windows-all";
        if (set.Data.Window is not { } v || set.Data.Windows is not { } windows) return keep;
        var trained = set.Data.TrainedMasses;
        for (var k = 0; k < set.Count; k++)
        {
            if (set.IsSignal[k] && !signalToo) continue;
            var x = (double)v[set.Events[k]];
            keep[k] = trained.Any(m => windows.Contains(m, x, options.NSigma));
        }
        return keep;
    }

    public Tensor Compute(ClassifierModel model, long[]? positions)
    {
        if (positions is null)
            return Torch.BinaryCrossEntropyWithLogits(set.Logits(model, null), set.Labels, weights, Reduction.Sum) / weights.Sum();
        var index = Torch.Tensor(positions, device: set.Features.Device);
        var w = weights.IndexSelect(0, index);
        // A batch of dropped events only (in-windows) contributes nothing rather than 0/0.
        return Torch.BinaryCrossEntropyWithLogits(set.Logits(model, index), set.Labels.IndexSelect(0, index), w, Reduction.Sum) / w.Sum().ClampMin(1e-30);
    }

    public void Dispose() => weights.Dispose();
}

/// <summary>The BCE phase's options (<c>loss_options</c> of a <c>bce</c> phase).</summary>
/// <param name="Weighting"><c>cross-section</c> (default), <c>balanced</c> or <c>none</c>.</param>
/// <param name="Events"><c>all</c> (default), <c>in-windows</c> (background in some trained window) or <c>in-windows-all</c> (every event in some trained window, the reference).</param>
/// <param name="NSigma">Half-width of the windows in resolutions, as the Punzi loss's (2).</param>
public sealed record BceOptions(string Weighting = "cross-section", string Events = "all", double NSigma = 2)
{
    public static readonly BceOptions Default = new();
}
