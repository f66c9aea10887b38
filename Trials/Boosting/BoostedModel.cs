using Studies.Trials.Models;

namespace Studies.Trials.Boosting;

/// <summary>
/// A trained <c>bdt</c>: one parametric ensemble whose last feature is the encoded mass, or one
/// ensemble per trained mass, an event being scored by the ensemble of the trained mass nearest to
/// the hypothesis (the per-mass nets' rule, <see cref="PerMassEnsemble.Nearest"/>).
/// </summary>
public sealed class BoostedModel(IReadOnlyList<TreeEnsemble> ensembles, IReadOnlyList<double> trainedScaledMasses, bool perMass, int features)
{
    public IReadOnlyList<TreeEnsemble> Ensembles { get; } = ensembles;
    public bool PerMass { get; } = perMass;
    /// <summary>Boosting rounds of the longest ensemble.</summary>
    public int Rounds => Ensembles.Max(e => e.Trees.Count);

    /// <summary>Index of the ensemble that scores events at this (encoded) mass.</summary>
    public int EnsembleFor(double scaledMass) => PerMass ? PerMassEnsemble.Nearest(trainedScaledMasses, scaledMass) : 0;

    /// <summary>The feature index that reads the mass: the one after the features for a parametric ensemble, none per mass.</summary>
    private int MassFeature => PerMass ? -1 : features;

    /// <summary>Raw score of the first <paramref name="rounds"/> rounds.</summary>
    public double Score(ReadOnlySpan<float> row, double scaledMass, int rounds) =>
        Ensembles[EnsembleFor(scaledMass)].Score(row, MassFeature, (float)scaledMass, rounds);

    /// <summary>What round <paramref name="round"/> (0-based) adds to the raw score.</summary>
    public double Round(int round, ReadOnlySpan<float> row, double scaledMass) =>
        Ensembles[EnsembleFor(scaledMass)].Round(round, row, MassFeature, (float)scaledMass);
}
