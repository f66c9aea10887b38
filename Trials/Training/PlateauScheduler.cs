using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>
/// Learning rate on plateau with PyTorch's ReduceLROnPlateau semantics (mode min, relative
/// threshold 1e-4, no cooldown): after <c>patience</c> epochs without improvement of the
/// monitored value the rate is multiplied by <c>factor</c>, never below the minimum.
/// </summary>
public sealed class PlateauScheduler(PlateauSpec spec, double learningRate)
{
    private const double Threshold = 1e-4;

    public double LearningRate { get; private set; } = learningRate;
    public double Best { get; private set; } = double.PositiveInfinity;
    public int BadEpochs { get; private set; }

    /// <summary>Feeds one epoch's monitored value; returns the learning rate for the next epoch.</summary>
    public double Step(double value)
    {
        if (value < Best * (1 - Threshold) || (Best == double.PositiveInfinity && !double.IsNaN(value)))
        {
            Best = value;
            BadEpochs = 0;
        }
        else if (++BadEpochs > spec.Patience)
        {
            LearningRate = Math.Max(LearningRate * spec.Factor, spec.MinLearningRate);
            BadEpochs = 0;
        }
        return LearningRate;
    }

    /// <summary>Restores the state saved in a checkpoint.</summary>
    public void Restore(double learningRateValue, double best, int badEpochs)
    {
        LearningRate = learningRateValue;
        Best = best;
        BadEpochs = badEpochs;
    }
}
