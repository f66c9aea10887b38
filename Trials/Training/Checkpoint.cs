using System.Security.Cryptography;
using System.Text;
using Studies.Trials.Engine;
using Studies.Trials.Models;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>The bookkeeping of a run at an epoch boundary, saved beside the tensors.</summary>
public sealed record CheckpointState
{
    public required string SpecHash { get; init; }
    public required string Slot { get; init; }
    public required int Phase { get; init; }
    /// <summary>Epochs of <see cref="Phase"/> already done.</summary>
    public required int EpochsDoneInPhase { get; init; }
    public required int GlobalEpoch { get; init; }
    public required double LearningRate { get; init; }
    public required double PlateauBest { get; init; }
    public required int PlateauBadEpochs { get; init; }
    public required double EarlyBest { get; init; }
    public required int EarlyEpochs { get; init; }
    public required bool PhaseStopped { get; init; }
    public required double PhaseSeconds { get; init; }
    public double BestValue { get; init; } = double.NaN;
    public int BestEpoch { get; init; }
    public int BestPhase { get; init; } = -1;
    public required IReadOnlyList<EpochRecord> Epochs { get; init; }
    public required IReadOnlyList<PhaseTiming> Phases { get; init; }
    /// <summary>The device type (<c>cuda</c>) whose generator state (dropout on the GPU) is in device_generator.pt; null: none saved.</summary>
    public string? DeviceGenerator { get; init; }
}

/// <summary>
/// Saves and restores a run at an epoch boundary: parameters, optimiser state, the generator's
/// state, background mass assignment, the best-epoch snapshot and the bookkeeping. Two slots are
/// written alternately and <c>checkpoint.json</c> is replaced atomically last, so a crash while
/// saving leaves the previous checkpoint intact.
/// </summary>
public sealed class Checkpoint(string directory)
{
    private string StatePath => Path.Combine(directory, "checkpoint.json");

    public static string HashOf(TrialSpec spec) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(SpecJson.Serialize(spec with { Device = "", Threads = 0 }))))[..16].ToLowerInvariant();

    public CheckpointState? TryLoadState(string specHash)
    {
        if (!File.Exists(StatePath)) return null;
        var state = SpecJson.Deserialize<CheckpointState>(File.ReadAllText(StatePath));
        return state.SpecHash == specHash ? state : null;
    }

    /// <param name="deviceGenerator">The trial's generator on its GPU (dropout masks there), if any.</param>
    public void Save(CheckpointState state, ClassifierModel model, Optimizer optimizer, Generator generator, double[] trainMasses,
        IReadOnlyList<Tensor>? best, Generator? deviceGenerator = null)
    {
        var slotDir = Path.Combine(directory, state.Slot);
        Directory.CreateDirectory(slotDir);
        state = state with { DeviceGenerator = deviceGenerator is null ? null : DeviceKind(deviceGenerator.Device) };
        model.Save(Path.Combine(slotDir, "model.pt"));
        optimizer.Save(Path.Combine(slotDir, "optim.pt"));
        using (var scope = TensorScope.Begin())
        {
            Torch.Save(Path.Combine(slotDir, "state.pt"),
                [("generator", generator.GetState()), ("train_masses", Torch.Tensor(trainMasses))]);
            if (best is not null) Torch.Save(Path.Combine(slotDir, "best.pt"), best.Select((t, i) => ($"p{i}", t)).ToList());
            if (deviceGenerator is not null) Torch.Save(Path.Combine(slotDir, "device_generator.pt"), [("state", deviceGenerator.GetState())]);
        }
        var temp = StatePath + ".tmp";
        File.WriteAllText(temp, SpecJson.Serialize(state));
        File.Move(temp, StatePath, overwrite: true);
    }

    /// <summary>
    /// Restores a checkpoint written on any device: tensors are stored from CPU copies and copied
    /// into the trial's own (already placed) tensors, and the optimiser state is read onto its
    /// parameters' device. The GPU generator's stream continues only on the same kind of device;
    /// a trial resumed on another kind keeps its fresh seeded one (dropout masks then differ from
    /// an uninterrupted run, as they would anyway: CPU and CUDA draw different numbers).
    /// </summary>
    public void Restore(CheckpointState state, ClassifierModel model, Optimizer optimizer, Generator generator, double[] trainMasses,
        IReadOnlyList<Tensor>? best, Generator? deviceGenerator = null)
    {
        var slotDir = Path.Combine(directory, state.Slot);
        model.Load(Path.Combine(slotDir, "model.pt"));
        optimizer.Load(Path.Combine(slotDir, "optim.pt"));
        using var scope = TensorScope.Begin();
        var generatorState = generator.GetState();
        var masses = Torch.Zeros([trainMasses.Length], ScalarType.Float64);
        Torch.Load(Path.Combine(slotDir, "state.pt"), [("generator", generatorState), ("train_masses", masses)]);
        generator.SetState(generatorState);
        masses.ToArray<double>().CopyTo(trainMasses, 0);
        if (best is not null && File.Exists(Path.Combine(slotDir, "best.pt")))
            Torch.Load(Path.Combine(slotDir, "best.pt"), best.Select((t, i) => ($"p{i}", t)).ToList());
        var deviceGeneratorPath = Path.Combine(slotDir, "device_generator.pt");
        if (deviceGenerator is not null && state.DeviceGenerator == DeviceKind(deviceGenerator.Device) && File.Exists(deviceGeneratorPath))
        {
            var deviceState = deviceGenerator.GetState();
            Torch.Load(deviceGeneratorPath, [("state", deviceState)]);
            deviceGenerator.SetState(deviceState);
        }
    }

    private static string DeviceKind(Device device) => device.Type.ToString().ToLowerInvariant();

    public static string OtherSlot(string? slot) => slot == "a" ? "b" : "a";
}
