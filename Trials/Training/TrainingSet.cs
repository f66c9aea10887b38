using Studies.Trials.Data;
using Studies.Trials.Engine;
using Studies.Trials.Models;

namespace Studies.Trials.Training;

/// <summary>
/// The events of one split that a phase trains or selects on, as tensors on the trial's device:
/// features, labels, the (scaled) mass each event is shown to a parametric net with, loss weights
/// and process indices. Held-out signal is never in it.
/// </summary>
public sealed class TrainingSet : IDisposable
{
    public TrainingSet(TrialData data, long[] events, MassEncoding massEncoding, Device device)
    {
        Data = data;
        Events = events;
        MassEncoding = massEncoding;
        var n = events.Length;
        var d = data.FeatureCount;
        var features = new float[n * d];
        var labels = new float[n];
        var process = new long[n];
        IsSignal = new bool[n];
        MassIndex = new int[n];
        Process = new int[n];
        Mass = new double[n];
        for (var k = 0; k < n; k++)
        {
            var i = events[k];
            Array.Copy(data.Features, i * d, features, (long)k * d, d);
            IsSignal[k] = data.IsSignal[i];
            labels[k] = IsSignal[k] ? 1 : 0;
            Process[k] = data.Process[i];
            process[k] = data.Process[i];
            Mass[k] = data.Mass[i];
            MassIndex[k] = IsSignal[k] ? Array.FindIndex(data.TrainedMasses, m => TrialData.SameMass(m, data.Mass[i])) : -1;
        }
        using var scope = TensorScope.Begin();
        Features = scope.MoveToOuter(Torch.Tensor(features, [n, d], device));
        Labels = scope.MoveToOuter(Torch.Tensor(labels, [n, 1], device));
        ProcessIndex = scope.MoveToOuter(Torch.Tensor(process, device: device));
        TensorScope.Detach(Features);
        TensorScope.Detach(Labels);
        TensorScope.Detach(ProcessIndex);
    }

    public TrialData Data { get; }
    /// <summary>Indices into the data set, by position in this set.</summary>
    public long[] Events { get; }
    /// <summary>How a mass becomes the net's mass input.</summary>
    public MassEncoding MassEncoding { get; }
    public int Count => Events.Length;
    public bool[] IsSignal { get; }
    /// <summary>Index into the trained masses for signal; -1 for background.</summary>
    public int[] MassIndex { get; }
    public int[] Process { get; }
    /// <summary>Signal: generated mass; background: the assigned mass (see <see cref="AssignBackgroundMasses"/>).</summary>
    public double[] Mass { get; }
    public Tensor Features { get; }
    public Tensor Labels { get; }
    public Tensor ProcessIndex { get; }
    /// <summary>The mass input m~ of every event, [n, 1].</summary>
    public Tensor? ScaledMass { get; private set; }

    /// <summary>Every tensor of the set, named (for the device placement check).</summary>
    public IEnumerable<(string Name, Tensor Tensor)> NamedTensors(string prefix = "")
    {
        yield return (prefix + "features", Features);
        yield return (prefix + "labels", Labels);
        yield return (prefix + "process", ProcessIndex);
        if (ScaledMass is not null) yield return (prefix + "scaled_mass", ScaledMass);
    }

    /// <summary>
    /// Background has no mass of its own (methods.md section 4): <c>identical</c> draws it from the
    /// trained masses, <c>uniform</c> from their continuous range. <c>stored</c> (not in methods.md;
    /// for files such as HEPMASS that ship a mass on every background row) uses the file's own
    /// value as it is, which may be a held-out mass: the user asked for the file's choice.
    /// </summary>
    public void AssignBackgroundMasses(string mode, Generator generator)
    {
        if (mode == "stored")
        {
            AssignStoredBackgroundMasses();
            return;
        }
        Draw(mode, generator, Count, k => k);
        SetScaledMass(Mass);
    }

    /// <summary>
    /// Draws new masses for the background events at <paramref name="positions"/> only (the
    /// per-batch redraw of the AffinePNN reference) and returns the batch's mass input, [n, 1]; the
    /// whole-set mass tensor is not rebuilt, so a redraw costs O(batch). Stored masses are the
    /// file's own and are never redrawn.
    /// </summary>
    public Tensor RedrawBatchMasses(string mode, Generator generator, long[] positions)
    {
        if (mode != "stored") Draw(mode, generator, positions.Length, k => positions[k]);
        return Torch.Tensor(positions.Select(k => (float)MassEncoding.Encode(Mass[k])).ToArray(), [positions.Length, 1], Features.Device);
    }

    private void Draw(string mode, Generator generator, int n, Func<int, long> position)
    {
        var trained = Data.TrainedMasses;
        if (mode is not ("identical" or "uniform")) throw new ArgumentException($"unknown background mass assignment '{mode}' (identical, uniform, stored)");
        using var scope = TensorScope.Begin();
        var draws = Torch.Rand([n], generator, ScalarType.Float64).ToArray<double>();
        for (var k = 0; k < n; k++)
        {
            var at = position(k);
            if (IsSignal[at]) continue;
            Mass[at] = mode == "identical"
                ? trained[Math.Min(trained.Length - 1, (int)(draws[k] * trained.Length))]
                : trained.Min() + draws[k] * (trained.Max() - trained.Min());
        }
    }

    /// <summary>While set, <see cref="Logits"/> of a batch takes this mass input instead of the stored one (per-batch redraws).</summary>
    public Tensor? BatchMass { get; set; }

    private void AssignStoredBackgroundMasses()
    {
        var stored = Data.StoredMass
            ?? throw new Data.DataException("model.background_mass 'stored' needs a data file with a mass column; this data source generates its events (use identical or uniform)");
        for (var k = 0; k < Count; k++)
        {
            if (IsSignal[k]) continue;
            var m = stored[Events[k]];
            if (!double.IsFinite(m))
                throw new Data.DataException($"model.background_mass 'stored': background event {Events[k] + 1} of the data set has no stored mass (empty or null mass cell); give every background row a mass, or use identical or uniform");
            Mass[k] = m;
        }
        SetScaledMass(Mass);
    }

    /// <summary>Sets every event's mass input (restoring a checkpoint, or evaluating at one hypothesis).</summary>
    public void SetScaledMass(double[] masses)
    {
        ScaledMass?.Dispose();
        if (!ReferenceEquals(masses, Mass)) Array.Copy(masses, Mass, Count);
        using var scope = TensorScope.Begin();
        ScaledMass = scope.MoveToOuter(Torch.Tensor(masses.Select(m => (float)MassEncoding.Encode(m)).ToArray(), [Count, 1], Features.Device));
        TensorScope.Detach(ScaledMass);
    }

    /// <summary>Logits of the model for the events at the given positions (all when null).</summary>
    public Tensor Logits(ClassifierModel model, Tensor? positions)
    {
        if (positions is null) return model.Logits(Features, ScaledMass);
        return model.Logits(Features.IndexSelect(0, positions), BatchMass ?? ScaledMass?.IndexSelect(0, positions));
    }

    public void Dispose()
    {
        Features.Dispose();
        Labels.Dispose();
        ProcessIndex.Dispose();
        ScaledMass?.Dispose();
    }
}

/// <summary>A loss of one phase over a <see cref="TrainingSet"/> (methods.md section 3).</summary>
public interface IPhaseLoss : IDisposable
{
    /// <summary>The loss of the batch at <paramref name="positions"/> (null: the whole set).</summary>
    Tensor Compute(ClassifierModel model, long[]? positions);

    /// <summary>Whether the batch plan may cut the set into batches (false for losses defined on the full set only).</summary>
    bool SupportsBatches => true;
}
