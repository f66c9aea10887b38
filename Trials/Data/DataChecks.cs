using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using Studies.Trials.Components;
using Studies.Trials.Specs;

namespace Studies.Trials.Data;

/// <summary>An error stops a study before any trial starts; a warning is printed and the study runs.</summary>
public enum DataSeverity { Error, Warning }

/// <summary>One problem of a data set, its message saying what and where (file, row, column).</summary>
public sealed record DataProblem(DataSeverity Severity, string Message)
{
    /// <summary>The key of the study's data section this problem is about (<see cref="DataException.StudyKey"/>); null for a problem of the data.</summary>
    public string? StudyKey { get; init; }

    public bool IsStudyLevel => StudyKey is not null;

    public override string ToString() => Severity == DataSeverity.Warning ? $"warning: {Message}" : Message;
}

/// <summary>
/// Checks of loaded data, as pure functions, so every loader (CSV, NPZ, and any that builds a
/// <see cref="RawTable"/>) gets the same ones and <c>studies check</c> reports exactly what a trial
/// would fail on. Each kind of problem is reported once per column, at its first row, with the
/// number of rows it affects: a file with a million NaNs gives one line, not a million.
/// </summary>
public static class DataChecks
{
    /// <summary>
    /// Row-level checks of a table: finite features and window values; weights finite, not
    /// negative, not all zero, and neither class with zero total weight; background rows present.
    /// A value beyond the float range (1e300) is read as infinity, so it is caught here too.
    /// </summary>
    public static IReadOnlyList<DataProblem> Table(RawTable table)
    {
        var problems = new List<DataProblem>();
        int d = table.FeatureNames.Length;
        // Nearly every file is all finite, and one sequential pass over the row-major array says so;
        // the per-column search below strides through memory (a cache line per value, d passes)
        // and runs only when some value is not finite.
        bool allFinite = AllFinite(table.Features);
        for (int j = 0; j < d && !allFinite; j++)
        {
            // NaN and infinity apart: they have different causes (a missing value, an overflow).
            int firstNaN = -1, nans = 0, firstInfinite = -1, infinities = 0;
            for (int r = 0; r < table.Rows; r++)
            {
                var v = table.Features[(long)r * d + j];
                if (float.IsNaN(v)) { if (nans++ == 0) firstNaN = r; }
                else if (float.IsInfinity(v)) { if (infinities++ == 0) firstInfinite = r; }
            }
            if (firstNaN >= 0)
                problems.Add(Error(table, firstNaN, table.FeatureNames[j], $"feature value NaN is not a finite number{More(nans)}"));
            if (firstInfinite >= 0)
                problems.Add(Error(table, firstInfinite, table.FeatureNames[j],
                    $"feature value {Format(table.Features[(long)firstInfinite * d + j])} is not a finite number (infinite, or beyond the 32-bit float range of about ±3.4e38){More(infinities)}"));
        }
        if (table.Window is { } window) CheckFinite(table, window, table.Map.Window!, "window value", problems);
        if (table.Weight is { } weight) CheckWeights(table, weight, problems);

        int background = 0;
        for (int r = 0; r < table.Rows; r++) if (table.Label[r] == 0) background++;
        if (background == 0)
            problems.Add(new DataProblem(DataSeverity.Error,
                $"{table.File}: no background rows (column '{table.Map.Label}' is never 0): the metrics compare signal with background"));
        return problems;
    }

    private static bool AllFinite(ReadOnlySpan<float> values)
    {
        // A float is NaN or infinite exactly when all its exponent bits are set.
        var bits = MemoryMarshal.Cast<float, int>(values);
        var exponent = new Vector<int>(0x7F800000);
        int i = 0;
        for (; i <= bits.Length - Vector<int>.Count; i += Vector<int>.Count)
            if (Vector.EqualsAny(new Vector<int>(bits[i..]) & exponent, exponent)) return false;
        for (; i < values.Length; i++) if (!float.IsFinite(values[i])) return false;
        return true;
    }

    /// <summary>
    /// Checks of a split data set: background to train on (error), and every mass hypothesis with
    /// signal weight in the validation and test splits and the background with weight there
    /// (warnings: the metrics of that mass and split would be undefined, NaN).
    /// </summary>
    /// <param name="origin">What the data are, for messages (a file path or a source name).</param>
    /// <summary>The window half-width of the metrics, in resolutions (the evaluator's n_sigma).</summary>
    private const double WindowSigmas = 2;

    public static IReadOnlyList<DataProblem> Splits(DataSplits splits, string origin, SplitSpec fractions)
    {
        var problems = new List<DataProblem>();
        var events = splits.Events;
        var heldout = splits.HeldoutMasses.Select(m => events.IndexOfMass(m)).ToHashSet();
        foreach (var (name, members, fraction) in new[] { ("train", splits.Train, fractions.Train), ("validation", splits.Validation, fractions.Validation), ("test", splits.Test, fractions.Test) })
        {
            if (!(fraction > 0)) continue;
            var signal = new double[events.Masses.Length];
            double backgroundWeight = 0;
            foreach (var i in members)
            {
                if (events.MassIndex[i] >= 0) signal[events.MassIndex[i]] += events.Weight[i];
                else backgroundWeight += events.Weight[i];
            }
            if (!(backgroundWeight > 0))
                problems.Add(new DataProblem(name == "train" ? DataSeverity.Error : DataSeverity.Warning,
                    $"{origin}: no background (net weight {Format(backgroundWeight)} <= 0) in the {name} split" + (name == "train" ? ": there is nothing to train against" : $": its {name} metrics would be NaN")));
            else if (name != "train" && events.Windows is { } model && events.Window is { } v)
            {
                // Negative weights (NLO) can leave a mass window with net background <= 0: every
                // metric of that mass is then undefined (NaN), which should not pass silently.
                var windows = MassWindows.Of(model, events.Masses);
                foreach (var (m, k) in events.Masses.Select((m, k) => (m, k)))
                {
                    var inWindow = members.Where(i => events.MassIndex[i] < 0 && windows.Contains(m, v[i], WindowSigmas)).Sum(i => events.Weight[i]);
                    if (!(inWindow > 0))
                        problems.Add(new DataProblem(DataSeverity.Warning,
                            $"{origin}: the background in the window of mass {Format(m)} has net weight {Format(inWindow)} <= 0 in the {name} split (negative-weight events outweigh the rest, or none is there): its {name} metrics at that mass would be NaN"));
                }
            }
            var empty = Enumerable.Range(0, signal.Length).Where(k => !(signal[k] > 0) && (name != "train" || !heldout.Contains(k))).ToList();
            if (empty.Count > 0)
                problems.Add(new DataProblem(DataSeverity.Warning,
                    $"{origin}: no signal (with weight > 0) at mass{(empty.Count == 1 ? "" : "es")} {string.Join(", ", empty.Select(k => Format(events.Masses[k])))} in the {name} split: "
                    + (name == "train" ? "the net never sees that mass in training" : $"{(empty.Count == 1 ? "its" : "their")} {name} metrics would be NaN")));
        }
        return problems;
    }

    /// <summary>
    /// Loads the data of <paramref name="spec"/> as a trial with <paramref name="seed"/> would (every
    /// loader runs <see cref="Table"/> on what it read): the events, or null and the errors.
    /// </summary>
    /// <param name="sources">The data sources to find <see cref="DataSpec.Source"/> in (a catalog with added ones); null: the built-in.</param>
    public static (EventSet? Events, IReadOnlyList<DataProblem> Problems) Load(DataSpec spec, ulong seed, Registry<DataSourceEntry>? sources = null)
    {
        try
        {
            return (DataSources.Load(DataSources.Get(sources ?? DataSources.BuiltIn, spec.Source), spec, seed), []);
        }
        catch (DataException e)
        {
            return (null, Errors(e));
        }
    }

    /// <summary>Splits loaded events as a trial with <paramref name="seed"/> would and checks the splits (<see cref="Splits"/>).</summary>
    public static IReadOnlyList<DataProblem> Split(EventSet events, DataSpec spec, ulong seed)
    {
        try
        {
            var split = DataSources.EffectiveSplit(spec);
            return Splits(Splitter.Split(events, split, spec.Holdout, seed), Origin(spec), split);
        }
        catch (DataException e)
        {
            return Errors(e);
        }
    }

    private static List<DataProblem> Errors(DataException e) =>
        e.Problems.Select(p => new DataProblem(DataSeverity.Error, p) { StudyKey = e.StudyKey }).ToList();

    /// <summary>What a data spec reads, for messages: its file, or the generator's name.</summary>
    public static string Origin(DataSpec spec) =>
        spec.Options["path"] is System.Text.Json.Nodes.JsonValue path && path.TryGetValue<string>(out var file) ? file : spec.Source;

    /// <summary>Throws one <see cref="DataException"/> carrying every error of <paramref name="problems"/>, if there is any.</summary>
    public static void ThrowIfErrors(IEnumerable<DataProblem> problems)
    {
        var errors = problems.Where(p => p.Severity == DataSeverity.Error).Select(p => p.Message).ToList();
        if (errors.Count > 0) throw new DataException(errors);
    }

    private static void CheckFinite(RawTable table, double[] values, string column, string what, List<DataProblem> problems)
    {
        int first = -1, count = 0;
        for (int r = 0; r < table.Rows; r++)
        {
            if (double.IsFinite(values[r])) continue;
            if (first < 0) first = r;
            count++;
        }
        if (first >= 0) problems.Add(Error(table, first, column, $"{what} {Format(values[first])} is not a finite number{More(count)}"));
    }

    private static void CheckWeights(RawTable table, double[] weight, List<DataProblem> problems)
    {
        var column = table.Map.Weight!;
        CheckFinite(table, weight, column, "weight", problems);
        var classWeight = new double[2];
        for (int r = 0; r < table.Rows; r++)
        {
            var w = weight[r];
            if (double.IsFinite(w)) classWeight[table.Label[r]] += w;
        }
        // Negative weights (NLO Monte Carlo) are accepted everywhere weights are used; a selection whose
        // net background is <= 0 is warned about per split and mass window (Splits), not here.
        if (classWeight[0] == 0 && classWeight[1] == 0)
            problems.Add(new DataProblem(DataSeverity.Error, $"{table.File}: column '{column}': every weight is 0 or unusable"));
        else
        {
            foreach (var (label, name) in new[] { (1, "signal"), (0, "background") })
                if (classWeight[label] == 0 && table.Label.Contains((byte)label))
                    problems.Add(new DataProblem(DataSeverity.Error, $"{table.File}: column '{column}': the {name} rows' weights are all 0 or unusable"));
        }
    }

    private static DataProblem Error(RawTable table, int row, string column, string what) =>
        new(DataSeverity.Error, $"{table.Where(row)}: column '{column}': {what}");

    private static string More(int count) => count > 1 ? $" ({count.ToString("N0", CultureInfo.InvariantCulture)} rows like it; this is the first)" : "";

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>What checking one data source found: its events (null when they could not be loaded) and the problems.</summary>
public sealed record DataCheckResult(string Origin, EventSet? Events, IReadOnlyList<DataProblem> Problems)
{
    public bool HasErrors => Events is null || Problems.Any(p => p.Severity == DataSeverity.Error);

    /// <summary>One line: what was loaded, e.g. <c>x.csv: 1,800 events (600 signal at 3 masses, 1,200 background)</c>.</summary>
    public string Summary
    {
        get
        {
            if (Events is not { } e) return $"{Origin}: not loaded";
            int signal = e.SignalCount;
            return string.Create(CultureInfo.InvariantCulture,
                $"{Origin}: {e.Count:N0} events ({signal:N0} signal at {e.Masses.Length} mass{(e.Masses.Length == 1 ? "" : "es")}, {e.Count - signal:N0} background), {e.FeatureCount} feature{(e.FeatureCount == 1 ? "" : "s")}");
        }
    }
}
