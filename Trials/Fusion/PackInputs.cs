using Studies.Trials.Engine;
using Studies.Trials.Training;

namespace Studies.Trials.Fusion;

/// <summary>
/// The inputs of a fused step: each member's events of its batch, read exactly as its loss would read them
/// (<see cref="TrainingSet.Logits"/>: features and mass at the batch's positions, a per-batch mass redraw, or
/// the Punzi loss's event-mass pairs), stacked into [members, n, d] with shorter batches padded (the padded
/// rows are scored and never used).
/// </summary>
internal sealed class PackInputs(IReadOnlyList<TrainingContext> runs)
{
    private readonly bool usesMass = runs[0].Model.UsesMass;
    // Members with one seed have the same split and draw the same batches: their input is read once.
    private readonly bool sameSeed = runs.All(r => r.Spec.Seed == runs[0].Spec.Seed);

    /// <returns>Features [members, n, d] (or [n, d] when every member reads the same events), masses [members, n, 1] (null
    /// for a net without mass input), and each member's number of real rows.</returns>
    public (Tensor Features, Tensor? Mass, int[] Rows) Of(IReadOnlyList<PackBatch> batches)
    {
        if (!usesMass && sameSeed && batches.All(b => b.Positions.AsSpan().SequenceEqual(batches[0].Positions)))
        {
            var (shared, _) = Read(0, batches[0]);
            var n = (int)shared.Size(0);
            return (shared, null, Enumerable.Repeat(n, runs.Count).ToArray());
        }
        var read = batches.Select((b, k) => Read(k, b)).ToList();
        var rows = read.Select(r => (int)r.Features.Size(0)).ToArray();
        var most = rows.Max();
        var features = Torch.Stack(read.Select(r => Pad(r.Features, most)).ToList());
        var mass = usesMass ? Torch.Stack(read.Select(r => Pad(r.Mass!, most)).ToList()) : null;
        return (features, mass, rows);
    }

    private (Tensor Features, Tensor? Mass) Read(int k, PackBatch batch)
    {
        var (run, set) = (runs[k], runs[k].Train);
        // A full-batch loss (Punzi) scores the whole set, whatever the batch plan drew.
        if (batch.Whole || !run.Loss.SupportsBatches)
        {
            if (run.Loss is PunziPhaseLoss punzi && punzi.PairInputs(run.Model) is { } pairs) return (pairs.Features, pairs.Mass);
            return (set.Features, usesMass ? set.ScaledMass : null);
        }
        var index = Torch.Tensor(batch.Positions, device: set.Features.Device);
        return (set.Features.IndexSelect(0, index), usesMass ? set.BatchMass ?? set.ScaledMass?.IndexSelect(0, index) : null);
    }

    private static Tensor Pad(Tensor t, int rows)
    {
        var have = t.Size(0);
        if (have == rows) return t;
        return Torch.Cat([t, Torch.Zeros([rows - have, t.Size(1)], t.DType, t.Device)]);
    }
}
