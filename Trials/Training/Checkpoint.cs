using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
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
    public required bool PhaseStopped { get; init; }
    /// <summary>An <see cref="ITrainingController"/> ended the trial at this epoch: a resume goes straight to the final evaluation.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool TrialStopped { get; init; }
    public required double PhaseSeconds { get; init; }
    /// <summary>Each training callback's state by its name (<see cref="ITrainingCallback.Name"/>); null in checkpoints written before the callback loop.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, JsonNode?>? Callbacks { get; init; }

    // Checkpoints written before the callback loop (release 6b2b100 and earlier) kept the callbacks'
    // state in these fields; they are read, never written, and turned into Callbacks by CallbackStates.
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? PlateauBest { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? PlateauBadEpochs { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? EarlyBest { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? EarlyEpochs { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? BestValue { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? BestEpoch { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? BestPhase { get; init; }
    public required IReadOnlyList<EpochRecord> Epochs { get; init; }
    public required IReadOnlyList<PhaseTiming> Phases { get; init; }
    /// <summary>The input standardisation the weights were trained with (null in checkpoints written before it existed).</summary>
    public InputStandardization? Inputs { get; init; }
    /// <summary>The device type (<c>cuda</c>) whose generator state (dropout on the GPU) is in device_generator.pt; null: none saved.</summary>
    public string? DeviceGenerator { get; init; }

    /// <summary>The callbacks' states; for a checkpoint of the release before the callback loop, built from its own fields.</summary>
    public IReadOnlyDictionary<string, JsonNode?> CallbackStates() => Callbacks ?? new Dictionary<string, JsonNode?>
    {
        ["keep_best"] = SpecJson.ToNode(new KeepBestState(BestValue ?? double.NaN, BestEpoch ?? 0, BestPhase ?? -1)),
        ["plateau"] = SpecJson.ToNode(new PlateauState(LearningRate, PlateauBest ?? double.PositiveInfinity, PlateauBadEpochs ?? 0)),
        ["early_stopping"] = SpecJson.ToNode(new EarlyStoppingState(EarlyBest ?? double.NaN, EarlyEpochs ?? 0)),
    };
}

/// <summary>
/// Saves and restores a run at an epoch boundary: parameters, optimiser state, the generator's
/// state, background mass assignment, the best-epoch snapshot and the bookkeeping. Two slots are
/// written alternately, each with its own <c>state.json</c> written after its tensors (and removed
/// before they are overwritten), and <c>checkpoint.json</c> naming the newest slot is replaced
/// atomically last: a crash while saving leaves the previous checkpoint intact, and when the newest
/// one turns out damaged (a truncated file) the other slot is the last good one.
/// </summary>
public sealed class Checkpoint(string directory)
{
    private const string SlotStateFile = "state.json";

    private string StatePath => Path.Combine(directory, "checkpoint.json");

    public static string HashOf(TrialSpec spec) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(SpecJson.Serialize(spec with { Device = "", Threads = 0 }))))[..16].ToLowerInvariant();

    /// <summary>
    /// The checkpoint to resume from, or null to start from scratch. An unreadable
    /// <c>checkpoint.json</c> is reported through <paramref name="warn"/> and replaced by the newest
    /// slot that still has its own state.
    /// </summary>
    public CheckpointState? TryLoadState(string specHash, Action<string>? warn = null)
    {
        if (!File.Exists(StatePath)) return null;
        CheckpointState state;
        try
        {
            state = SpecJson.Deserialize<CheckpointState>(File.ReadAllText(StatePath));
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or IOException)
        {
            var fallback = NewestSlot(specHash, olderThan: int.MaxValue);
            warn?.Invoke($"checkpoint {StatePath} is damaged ({e.Message}); "
                + (fallback is null ? "restarting the trial from scratch" : $"resuming from slot {fallback.Slot} at epoch {fallback.GlobalEpoch}"));
            Point(fallback);
            return fallback;
        }
        return state.SpecHash == specHash ? state : null;
    }

    /// <summary>
    /// Drops the slot of <paramref name="damaged"/> (its files could not be loaded) and points
    /// <c>checkpoint.json</c> at the last good checkpoint before it; returns that one, or null when
    /// the trial must start from scratch.
    /// </summary>
    public CheckpointState? Discard(CheckpointState damaged)
    {
        var slotDir = Path.Combine(directory, damaged.Slot);
        if (Directory.Exists(slotDir)) Directory.Delete(slotDir, recursive: true);
        var fallback = NewestSlot(damaged.SpecHash, olderThan: damaged.GlobalEpoch);
        Point(fallback);
        return fallback;
    }

    /// <summary>Saves into <see cref="CheckpointState.Slot"/>; a failure to write (disk full, read-only) is a <see cref="CheckpointWriteException"/>.</summary>
    /// <param name="deviceGenerator">The trial's generator on its GPU (dropout masks there), if any.</param>
    public void Save(CheckpointState state, ClassifierModel model, Optimizer optimizer, Generator generator, double[] trainMasses,
        IReadOnlyList<Tensor>? best, Generator? deviceGenerator = null)
    {
        var slotDir = Path.Combine(directory, state.Slot);
        try
        {
            Directory.CreateDirectory(slotDir);
            state = state with { DeviceGenerator = deviceGenerator is null ? null : DeviceKind(deviceGenerator.Device) };
            // The slot's state goes first, so a slot with a state.json always has the tensors it names.
            File.Delete(Path.Combine(slotDir, SlotStateFile));
            model.Save(Path.Combine(slotDir, "model.pt"));
            optimizer.Save(Path.Combine(slotDir, "optim.pt"));
            using (var scope = TensorScope.Begin())
            {
                Torch.Save(Path.Combine(slotDir, "state.pt"),
                    [("generator", generator.GetState()), ("train_masses", Torch.Tensor(trainMasses))]);
                if (best is not null) Torch.Save(Path.Combine(slotDir, "best.pt"), best.Select((t, i) => ($"p{i}", t)).ToList());
                else File.Delete(Path.Combine(slotDir, "best.pt"));
                if (deviceGenerator is not null) Torch.Save(Path.Combine(slotDir, "device_generator.pt"), [("state", deviceGenerator.GetState())]);
                else File.Delete(Path.Combine(slotDir, "device_generator.pt"));
            }
            WriteAtomically(Path.Combine(slotDir, SlotStateFile), SpecJson.Serialize(state));
            WriteAtomically(StatePath, SpecJson.Serialize(state));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or TorchException)
        {
            throw new CheckpointWriteException(slotDir, e);
        }
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

    /// <summary>The newest slot whose own state is readable, of this spec and before epoch <paramref name="olderThan"/>.</summary>
    private CheckpointState? NewestSlot(string specHash, int olderThan)
    {
        CheckpointState? newest = null;
        foreach (var slot in new[] { "a", "b" })
        {
            var path = Path.Combine(directory, slot, SlotStateFile);
            if (!File.Exists(path)) continue;
            try
            {
                var state = SpecJson.Deserialize<CheckpointState>(File.ReadAllText(path));
                if (state.SpecHash == specHash && state.Slot == slot && state.GlobalEpoch < olderThan && (newest is null || state.GlobalEpoch > newest.GlobalEpoch))
                    newest = state;
            }
            catch (Exception e) when (e is JsonException or NotSupportedException or IOException)
            {
                // A damaged slot state is no candidate.
            }
        }
        return newest;
    }

    /// <summary>Makes <c>checkpoint.json</c> name <paramref name="state"/>, or removes it (start from scratch).</summary>
    private void Point(CheckpointState? state)
    {
        if (state is null) File.Delete(StatePath);
        else WriteAtomically(StatePath, SpecJson.Serialize(state));
    }

    private static void WriteAtomically(string path, string text)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}

/// <summary>A checkpoint named by <c>checkpoint.json</c> whose files could not be loaded (e.g. truncated by a full disk).</summary>
public sealed class CheckpointDamagedException(Checkpoint checkpoint, CheckpointState state, Exception inner)
    : Exception($"the checkpoint in slot {state.Slot} (epoch {state.GlobalEpoch}) cannot be loaded: {inner.Message}", inner)
{
    public Checkpoint Checkpoint { get; } = checkpoint;
    public CheckpointState State { get; } = state;
}

/// <summary>
/// A checkpoint could not be written (the disk is full, the folder read-only): a fault of the
/// machine, not of the trial. The runner ends the trial as interrupted, so it resumes from its last
/// good checkpoint once the cause is fixed, instead of being recorded as failed.
/// </summary>
public sealed class CheckpointWriteException(string slotDirectory, Exception inner)
    : Exception($"the checkpoint could not be written to {slotDirectory}: {inner.Message}", inner);
