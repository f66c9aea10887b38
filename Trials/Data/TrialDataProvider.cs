using System.Globalization;
using Studies.Trials.Components;
using Studies.Trials.Specs;

namespace Studies.Trials.Data;

/// <summary>The trainer's view of a data source: load, split, and flatten into <see cref="TrialData"/>.</summary>
public sealed class TrialDataProvider(Registry<DataSourceEntry>? sources = null) : ITrialDataProvider
{
    public TrialData Load(DataSpec spec, ulong seed)
    {
        var source = DataSources.Get(sources ?? DataSources.BuiltIn, spec.Source);
        var events = DataSources.Load(source, spec, seed);
        var split = DataSources.EffectiveSplit(spec);
        var splits = Splitter.Split(events, split, spec.Holdout, seed);
        // The last guard: `studies check` ran the same checks before the study started.
        DataChecks.ThrowIfErrors(DataChecks.Splits(splits, DataChecks.Origin(spec), split));
        return ToTrialData(splits, source.BayesOptimal(spec.Options));
    }

    public static TrialData ToTrialData(DataSplits splits, IBayesOptimal? optimal)
    {
        var events = splits.Events;
        var isSignal = new bool[events.Count];
        var weight = new double[events.Count];
        for (int i = 0; i < events.Count; i++)
        {
            isSignal[i] = events.Label[i] == 1;
            // Events in no split (held-out signal when validation and test are both empty) keep their raw weight.
            weight[i] = double.IsNaN(splits.SplitWeight[i]) ? events.Weight[i] : splits.SplitWeight[i];
        }

        var generated = new Dictionary<double, double>();
        var signalYield = new double[events.Masses.Length];
        for (int k = 0; k < events.Masses.Length; k++) generated[events.Masses[k]] = events.GeneratedSignal[k];
        for (int i = 0; i < events.Count; i++)
            if (events.MassIndex[i] >= 0) signalYield[events.MassIndex[i]] += events.Weight[i];

        Func<ReadOnlyMemory<long>, double, double[]>? optimalScores = optimal is null ? null : (indices, m) =>
        {
            var span = indices.Span;
            var scores = new double[span.Length];
            for (int k = 0; k < span.Length; k++) scores[k] = optimal.Score(events, checked((int)span[k]), m);
            return scores;
        };

        return new TrialData
        {
            Count = events.Count,
            FeatureCount = events.FeatureCount,
            Features = events.Features,
            IsSignal = isSignal,
            Mass = (double[])events.Mass.Clone(),
            Process = events.Process,
            ProcessNames = [.. events.ProcessNames],
            Weight = weight,
            Window = events.Window,
            StoredMass = events.StoredMass,
            CrossSections = events.CrossSections ?? new Dictionary<string, double>(),
            Luminosity = events.Luminosity ?? 1,
            // sigma_signal x L for weighted sources, N_gen for unweighted ones: in both cases the
            // whole data set's signal weight per mass (averaged over masses, which agree for the toys).
            SignalYieldPerEfficiency = signalYield.Length == 0 ? 1 : signalYield.Average(),
            Train = [.. splits.Train.Select(i => (long)i)],
            Validation = [.. splits.Validation.Select(i => (long)i)],
            Test = [.. splits.Test.Select(i => (long)i)],
            TrainedMasses = splits.TrainedMasses,
            HeldoutMasses = splits.HeldoutMasses,
            GeneratedPerMass = generated,
            Windows = events.Windows is { } windows ? MassWindows.Of(windows, events.Masses) : null,
            OptimalScores = optimalScores,
        };
    }
}
