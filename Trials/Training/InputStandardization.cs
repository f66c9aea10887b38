using Studies.Trials.Data;
using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>How a parametric net sees a mass: m~ = (m - Offset) / Scale.</summary>
public readonly record struct MassEncoding(double Offset, double Scale)
{
    public double Encode(double mass) => (mass - Offset) / Scale;

    /// <summary>The plain division of methods.md section 2: m~ = m / scale.</summary>
    public static MassEncoding Divide(double scale) => new(0, scale);
}

/// <summary>
/// The inputs a net sees: every feature shifted and scaled to zero mean and unit variance over the
/// training split (events as counted, unweighted), and the mass input standardised over the trained
/// mass grid, so that a feature in GeV next to a mass in GeV no longer swamps it. Fitted on the
/// training split only (validation and test are transformed with the training statistics), so no
/// selection or test information enters the inputs. Stored in the checkpoint with the weights, as it
/// is part of the classifier.
/// </summary>
/// <remarks>
/// The mass is standardised over the trained masses (each counted once), not over the events: with
/// background masses drawn from the trained masses the two agree for balanced signal, and the grid
/// statistic does not change when background masses are redrawn. A constant feature (or a single
/// trained mass) keeps scale 1 (the mass: its <c>mass_scale</c>) rather than dividing by zero.
/// </remarks>
public sealed record InputStandardization(double[] FeatureMean, double[] FeatureScale, MassEncoding Mass)
{
    /// <summary>No change to the features; the mass divided by <paramref name="massScale"/> (today's plain encoding).</summary>
    public static InputStandardization None(int features, double massScale) =>
        new(new double[features], Enumerable.Repeat(1.0, features).ToArray(), MassEncoding.Divide(massScale));

    /// <summary>
    /// The inputs a trial's model sees: features standardised when <see cref="Specs.ModelSpec.Standardize"/>,
    /// and the mass encoded as <see cref="MassEncodings.Of"/> says, each independently of the other.
    /// </summary>
    public static InputStandardization For(Specs.ModelSpec model, TrialData data, IReadOnlyList<long> trainEvents, double massScale)
    {
        var inputs = model.Standardize ? Fit(data, trainEvents, massScale) : None(data.FeatureCount, massScale);
        return MassEncodings.Of(model) switch
        {
            MassEncodings.Standardized => inputs with { Mass = GridEncoding(data, massScale) },
            MassEncodings.Scaled => inputs with { Mass = MassEncoding.Divide(massScale) },
            var other => throw new ArgumentException($"model option 'mass_encoding': '{other}' is not {MassEncodings.Standardized} or {MassEncodings.Scaled}"),
        };
    }

    /// <summary>Mean and standard deviation of every feature over <paramref name="trainEvents"/>, and of the trained mass grid.</summary>
    public static InputStandardization Fit(TrialData data, IReadOnlyList<long> trainEvents, double massScale)
    {
        var d = data.FeatureCount;
        var mean = new double[d];
        var scale = new double[d];
        for (var j = 0; j < d; j++)
        {
            // Two passes in double: the features may sit far from zero (GeV) with a small spread.
            double sum = 0;
            foreach (var i in trainEvents) sum += data.Features[i * d + j];
            var mu = trainEvents.Count > 0 ? sum / trainEvents.Count : 0;
            double squares = 0;
            foreach (var i in trainEvents)
            {
                var x = data.Features[i * d + j] - mu;
                squares += x * x;
            }
            var sd = trainEvents.Count > 0 ? Math.Sqrt(squares / trainEvents.Count) : 0;
            mean[j] = mu;
            scale[j] = sd > 0 && double.IsFinite(sd) ? sd : 1;
        }
        return new InputStandardization(mean, scale, GridEncoding(data, massScale));
    }

    /// <summary>The mass standardised over the trained grid: (m - mean) / sd; a single trained mass keeps scale <paramref name="massScale"/>.</summary>
    private static MassEncoding GridEncoding(TrialData data, double massScale)
    {
        var trained = data.TrainedMasses;
        var massMean = trained.Length > 0 ? trained.Average() : 0;
        var massSd = trained.Length > 1 ? Math.Sqrt(trained.Sum(m => (m - massMean) * (m - massMean)) / trained.Length) : 0;
        return massSd > 0 ? new MassEncoding(massMean, massSd) : new MassEncoding(massMean, massScale);
    }

    /// <summary>The data set with its features transformed (a copy; the loaded data stay as they were).</summary>
    public TrialData Apply(TrialData data)
    {
        var d = data.FeatureCount;
        if (FeatureMean.Length != d) throw new ArgumentException($"the standardisation has {FeatureMean.Length} features, the data {d}");
        if (FeatureMean.All(m => m == 0) && FeatureScale.All(s => s == 1)) return data;
        var features = new float[data.Features.Length];
        for (var i = 0; i < data.Count; i++)
        for (var j = 0; j < d; j++)
            features[i * d + j] = (float)((data.Features[i * d + j] - FeatureMean[j]) / FeatureScale[j]);
        return data.WithFeatures(features);
    }
}
