using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>Ends a phase after <c>patience</c> epochs without improvement of the monitored validation metric.</summary>
public sealed class EarlyStopping(EarlyStoppingSpec spec)
{
    public double Best { get; private set; } = double.NaN;
    public int EpochsWithoutImprovement { get; private set; }

    /// <summary>Feeds one epoch's value; true when the phase should stop.</summary>
    public bool ShouldStop(double value)
    {
        if (MetricDirection.IsBetter(spec.Metric, value, Best))
        {
            Best = value;
            EpochsWithoutImprovement = 0;
            return false;
        }
        return ++EpochsWithoutImprovement >= spec.Patience;
    }

    public void Restore(double best, int epochsWithoutImprovement)
    {
        Best = best;
        EpochsWithoutImprovement = epochsWithoutImprovement;
    }
}
