using System.Text.Json.Nodes;
using Studies.Trials.Engine;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>
/// Keeps a copy of the parameters at the phase's best epoch by its <c>keep_best</c> metric
/// (default: the validation loss). Each phase starts a new search; the final evaluation's "best"
/// epoch is the last phase's.
/// </summary>
internal sealed class KeepBest : ITrainingCallback, IDisposable
{
    private int phase = -1;

    public string Name => "keep_best";

    /// <summary>The parameters at <see cref="BestEpoch"/>, in the model's parameter order (null before the first phase).</summary>
    public List<Tensor>? Snapshot { get; private set; }
    public double BestValue { get; private set; } = double.NaN;
    /// <summary>The global epoch of the best value; 0: none yet.</summary>
    public int BestEpoch { get; private set; }

    public void OnPhaseStart(TrainingContext run)
    {
        Dispose();
        Snapshot = run.Parameters.Select(np => TensorScope.Detach(np.Parameter.Detach().Clone())).ToList();
        BestValue = double.NaN;
        BestEpoch = 0;
        phase = run.Phase;
    }

    public EpochDecision OnEpochEnd(TrainingContext run)
    {
        var metric = run.PhaseSpec.KeepBest ?? MetricNames.ValidationLoss;
        if (MetricDirection.IsBetter(metric, run.Metrics.GetValueOrDefault(metric, double.NaN), BestValue))
        {
            BestValue = run.Metrics[metric];
            BestEpoch = run.GlobalEpoch;
            for (var k = 0; k < Snapshot!.Count; k++) Snapshot[k].Copy_(run.Parameters[k].Parameter);
        }
        return EpochDecision.Continue;
    }

    /// <summary>The tensors are saved by the checkpoint itself (best.pt); this is the bookkeeping beside them.</summary>
    public JsonNode? State() => SpecJson.ToNode(new KeepBestState(BestValue, BestEpoch, phase));

    public void Restore(JsonNode state)
    {
        var saved = SpecJson.FromNode<KeepBestState>(state);
        BestValue = saved.Phase == phase ? saved.Value : double.NaN;
        BestEpoch = saved.Phase == phase ? saved.Epoch : 0;
    }

    public void Dispose()
    {
        foreach (var t in Snapshot ?? []) t.Dispose();
        Snapshot = null;
    }
}

/// <param name="Phase">The phase the best epoch belongs to (-1: none).</param>
internal sealed record KeepBestState(double Value, int Epoch, int Phase);
