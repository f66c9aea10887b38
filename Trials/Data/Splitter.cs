using System.Globalization;
using Studies.Trials.Specs;

namespace Studies.Trials.Data;

/// <summary>
/// A data set cut into train / validation / test (methods.md section 1). The three index arrays
/// are disjoint and ascending; every event sits in at most one of them.
/// </summary>
public sealed class DataSplits
{
    public required EventSet Events { get; init; }
    public required int[] Train { get; init; }
    public required int[] Validation { get; init; }
    public required int[] Test { get; init; }
    public required double[] TrainedMasses { get; init; }
    public required double[] HeldoutMasses { get; init; }

    /// <summary>
    /// Per event: its weight divided by the share of its stratum (process, and mass for signal)
    /// that its split holds, so a split's total weight of a process estimates the full yield.
    /// NaN for events in no split.
    /// </summary>
    public required double[] SplitWeight { get; init; }
}

/// <summary>Resolves held-out masses and splits events per process and per mass, reproducibly from a seed.</summary>
public static class Splitter
{
    public static DataSplits Split(EventSet events, SplitSpec split, HoldoutSpec holdout, ulong seed)
    {
        CheckFractions(split);
        var heldout = ResolveHoldout(events.Masses, holdout);
        var isHeldout = new bool[events.Masses.Length];
        foreach (var m in heldout) isHeldout[MassGrid.IndexOf(events.Masses, m)] = true;

        // Strata: (process, mass index); background has mass index -1. Gathered in one pass so the
        // cost stays O(n) for millions of events.
        var strata = new Dictionary<(int Process, int Mass), List<int>>();
        for (int i = 0; i < events.Count; i++)
        {
            var key = (events.Process[i], events.MassIndex[i]);
            if (!strata.TryGetValue(key, out var list)) strata[key] = list = [];
            list.Add(i);
        }

        var which = new sbyte[events.Count];
        Array.Fill(which, (sbyte)-1);
        var splitWeight = new double[events.Count];
        Array.Fill(splitWeight, double.NaN);
        foreach (var ((process, massIndex), list) in strata.OrderBy(s => s.Key.Process).ThenBy(s => s.Key.Mass))
        {
            var members = list.ToArray();
            // One stream per stratum, keyed by the mass value (not its index) so that adding a mass to
            // the grid leaves the other strata's splits unchanged.
            ulong massKey = massIndex < 0 ? ulong.MaxValue : BitConverter.DoubleToUInt64Bits(events.Masses[massIndex]);
            var rng = new Rng(seed, Rng.Label("split"), (ulong)process, massKey);
            rng.Shuffle(members);
            bool heldoutSignal = massIndex >= 0 && isHeldout[massIndex];
            // Held-out signal never trains: it goes to validation and test in their relative proportion.
            double fTrain = heldoutSignal ? 0 : split.Train;
            double rest = split.Validation + split.Test;
            double fValidation = heldoutSignal ? (rest > 0 ? split.Validation / rest : 0) : split.Validation;
            double fTest = heldoutSignal ? (rest > 0 ? split.Test / rest : 0) : split.Test;
            double total = fTrain + fValidation + fTest;
            if (!(total > 0)) continue; // held-out signal with neither validation nor test: in no split
            int n = members.Length;
            int nTrain = (int)Math.Round(n * fTrain / total, MidpointRounding.AwayFromZero);
            int nTrainValidation = fTest > 0 ? (int)Math.Round(n * (fTrain + fValidation) / total, MidpointRounding.AwayFromZero) : n;
            int[] sizes = [nTrain, nTrainValidation - nTrain, n - nTrainValidation];
            for (int k = 0; k < n; k++)
            {
                sbyte s = k < nTrain ? (sbyte)0 : k < nTrainValidation ? (sbyte)1 : (sbyte)2;
                int i = members[k];
                which[i] = s;
                splitWeight[i] = events.Weight[i] * n / sizes[s];
            }
        }

        int[] Members(int s)
        {
            var list = new List<int>();
            for (int i = 0; i < which.Length; i++) if (which[i] == s) list.Add(i);
            return [.. list];
        }

        return new DataSplits
        {
            Events = events, Train = Members(0), Validation = Members(1), Test = Members(2),
            TrainedMasses = events.Masses.Where((_, k) => !isHeldout[k]).ToArray(),
            HeldoutMasses = events.Masses.Where((_, k) => isHeldout[k]).ToArray(),
            SplitWeight = splitWeight,
        };
    }

    /// <summary>
    /// The held-out masses of <paramref name="grid"/> (ascending): <c>none</c>, <c>every-second</c>
    /// (the second, fourth, ... of the sorted grid), or <c>list</c> (each matched within
    /// <see cref="MassGrid.Tolerance"/>). At least one mass must stay trained.
    /// </summary>
    public static double[] ResolveHoldout(IReadOnlyList<double> grid, HoldoutSpec holdout)
    {
        double[] heldout;
        switch (holdout.Kind)
        {
            case "none":
                heldout = [];
                break;
            case "every-second":
                heldout = grid.Where((_, k) => k % 2 == 1).ToArray();
                break;
            case "list":
                if (holdout.Masses is null || holdout.Masses.Count == 0) throw new DataException("holdout 'list' names no mass") { StudyKey = "holdout" };
                var indices = new SortedSet<int>();
                foreach (var m in holdout.Masses)
                {
                    int k = MassGrid.IndexOf(grid, m);
                    if (k < 0)
                        throw new DataException($"held-out mass {Format(m)} is not in the data's mass grid ({string.Join(", ", grid.Select(Format))})") { StudyKey = "holdout" };
                    indices.Add(k);
                }
                heldout = indices.Select(k => grid[k]).ToArray();
                break;
            default:
                throw new DataException($"unknown holdout kind '{holdout.Kind}' (known: none, every-second, list)") { StudyKey = "holdout" };
        }
        if (heldout.Length >= grid.Count)
            throw new DataException($"holdout '{holdout.Kind}' holds out every mass of the grid ({string.Join(", ", grid.Select(Format))}): none is left to train on") { StudyKey = "holdout" };
        return heldout;
    }

    private static void CheckFractions(SplitSpec split)
    {
        foreach (var (name, value) in new[] { ("train", split.Train), ("validation", split.Validation), ("test", split.Test) })
            if (!(value >= 0 && value <= 1)) throw new DataException($"split fraction '{name}' must lie in [0, 1], got {Format(value)}");
        if (!(split.Train > 0)) throw new DataException("split fraction 'train' must be positive");
        double sum = split.Train + split.Validation + split.Test;
        if (Math.Abs(sum - 1) > 1e-6) throw new DataException($"split fractions train + validation + test must add up to 1, got {Format(sum)}");
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
