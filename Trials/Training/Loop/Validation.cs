using Studies.Trials.Engine;
using Studies.Trials.Results;

namespace Studies.Trials.Training;

/// <summary>
/// Measures the epoch on the model-selection events (validation, trained masses only): the
/// validation loss every epoch, and the per-mass metrics that keep-best or early stopping watch
/// (averaged over the trained masses) every <c>validation_every</c> epochs and at a phase's last.
/// </summary>
internal sealed class Validation(IMassEvaluator evaluator) : ITrainingCallback
{
    private string[] extraMetrics = [];

    public string Name => "validation";

    public void OnPhaseStart(TrainingContext run)
    {
        var phase = run.PhaseSpec;
        extraMetrics = new[] { phase.KeepBest ?? MetricNames.ValidationLoss, phase.EarlyStopping?.Metric }.Concat(run.Options.Monitor).OfType<string>()
            .Where(m => m is not (MetricNames.Loss or MetricNames.ValidationLoss)).Distinct().ToArray();
    }

    public void OnTrainingEpochEnd(TrainingContext run)
    {
        using var scope = TensorScope.Begin();
        using var noGrad = Torch.NoGrad();
        run.Options.OnBatch?.Invoke(BatchUse.ModelSelection, run.Selection.Events);
        run.Metrics[MetricNames.ValidationLoss] = run.ValidationLoss.Compute(run.Model, null).Item();
        var every = run.Spec.Evaluation.ValidationEvery;
        if (extraMetrics.Length == 0 || !(every > 0 && (run.EpochInPhase + 1) % every == 0 || run.LastEpochOfPhase)) return;
        var perMass = evaluator.Evaluate(run.Model, run.Data, run.Selection.Events, run.MassEncoding, run.Spec, trainedOnly: true, includeOptimal: false);
        foreach (var name in extraMetrics)
            run.Metrics[name] = perMass.Select(m => m.Metrics.GetValueOrDefault(name, double.NaN)).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
    }
}
