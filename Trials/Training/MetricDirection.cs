using Studies.Trials.Results;

namespace Studies.Trials.Training;

/// <summary>Whether a larger value of a metric is better (AUC, significance) or worse (losses, sigma_min).</summary>
public static class MetricDirection
{
    public static bool HigherIsBetter(string metric) => metric switch
    {
        MetricNames.Loss or MetricNames.ValidationLoss => false,
        _ when metric.StartsWith("sigma_min", StringComparison.Ordinal) => false,
        _ when metric.EndsWith("loss", StringComparison.Ordinal) => false,
        _ => true,
    };

    public static bool IsBetter(string metric, double candidate, double incumbent) =>
        !double.IsNaN(candidate) && (double.IsNaN(incumbent) || (HigherIsBetter(metric) ? candidate > incumbent : candidate < incumbent));
}
