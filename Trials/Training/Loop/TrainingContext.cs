using System.Diagnostics;
using Studies.Trials.Data;
using Studies.Trials.Engine;
using Studies.Trials.Models;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>
/// Everything one trial's training loop works on, shared by the loop and its callbacks: the trial
/// (data, sets, model, generators) for its whole run, the phase (optimiser, losses) while it runs,
/// and the epoch being finished. The loop owns the tensors; callbacks use them and dispose only
/// what they create.
/// </summary>
public sealed class TrainingContext
{
    public required TrialSpec Spec { get; init; }
    public required TrialRunOptions Options { get; init; }
    public required Generator Generator { get; init; }
    /// <summary>The generator on the trial's GPU (dropout masks there); null on the CPU.</summary>
    public Generator? DeviceGenerator { get; init; }
    /// <summary>The loaded data after the input transform.</summary>
    public required TrialData Data { get; init; }
    public required InputStandardization Inputs { get; init; }
    public MassEncoding MassEncoding => Inputs.Mass;
    public required TrainingSet Train { get; init; }
    /// <summary>The validation events the model is selected on (trained masses only; held-out signal never).</summary>
    public required TrainingSet Selection { get; init; }
    public required ClassifierModel Model { get; init; }
    public required IReadOnlyList<(string Name, Tensor Parameter)> Parameters { get; init; }

    public List<EpochRecord> Epochs { get; init; } = [];
    public List<PhaseTiming> Phases { get; init; } = [];
    /// <summary>Epochs done over all phases (the number of the last finished epoch, 1-based).</summary>
    public int GlobalEpoch { get; set; }
    public int TotalEpochs => Spec.Schedule.Sum(p => p.Epochs);
    /// <summary>The callbacks of this run, in the order they are called.</summary>
    public IReadOnlyList<ITrainingCallback> Callbacks { get; internal set; } = [];

    // The phase.
    public int Phase { get; internal set; }
    public PhaseSpec PhaseSpec => Spec.Schedule[Phase];
    public Optimizer Optimizer { get; internal set; } = null!;
    public IPhaseLoss Loss { get; internal set; } = null!;
    public IPhaseLoss ValidationLoss { get; internal set; } = null!;
    /// <summary>The first epoch (0-based, within the phase) still to train: a resumed phase starts later.</summary>
    public int StartEpoch { get; set; }
    /// <summary>Seconds the phase ran before a resume.</summary>
    public double PreviousSeconds { get; set; }
    internal Stopwatch Clock { get; set; } = new();
    public double PhaseSeconds => PreviousSeconds + Clock.Elapsed.TotalSeconds;

    // The epoch.
    /// <summary>The epoch being trained or finished, 0-based within the phase.</summary>
    public int EpochInPhase { get; internal set; }
    public bool LastEpochOfPhase => EpochInPhase == PhaseSpec.Epochs - 1;
    /// <summary>The finished epoch's metrics; callbacks add theirs in <see cref="ITrainingCallback.OnTrainingEpochEnd"/>.</summary>
    public Dictionary<string, double> Metrics { get; internal set; } = [];
    /// <summary>The record of the finished epoch (from <see cref="ITrainingCallback.OnEpochEnd"/> on).</summary>
    public EpochRecord? LastEpoch => Epochs.Count > 0 ? Epochs[^1] : null;
    /// <summary>The strongest decision so far at the end of this epoch (or restored with a stopped phase or trial).</summary>
    public EpochDecision Decision { get; set; }
}
