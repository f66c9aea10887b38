using System.Globalization;
using System.Text.Json.Nodes;

namespace Studies.Trials.Data;

/// <summary>
/// Which file columns (CSV header names, NPZ array names) hold what. <see cref="Features"/> null
/// means every column not mapped to something else, in file order.
/// </summary>
public sealed record ColumnMap(
    IReadOnlyList<string>? Features, string Label = "label", string Mass = "mass",
    string? Weight = null, string? Process = null, string? Window = null)
{
    private static readonly string[] Keys = FileOptions.Columns.Fields.Select(f => f.Key).ToArray();

    /// <summary>The <c>columns</c> option of a file source; absent keys take the defaults.</summary>
    public static ColumnMap Parse(DataOptions options, string name)
    {
        if (options.Node(name) is null) return new ColumnMap(Features: null);
        if (options.Node(name) is not JsonObject o) throw options.Error(name, "must be an object (features, label, mass, weight, process, window)");
        var inner = new DataOptions($"{options.Source}' option '{name}", o, Keys);
        string[]? features = null;
        if (o["features"] is { } f)
        {
            if (f is not JsonArray list || list.Count == 0) throw options.Error(name, "key 'features' must be a non-empty list of column names");
            features = list.Select((item, k) => item is null ? throw options.Error(name, $"features item {k + 1} is null") : inner.AsString($"features[{k + 1}]", item)).ToArray();
        }
        return new ColumnMap(features, inner.String("label", "label"), inner.String("mass", "mass"),
            o["weight"] is null ? null : inner.String("weight", ""), o["process"] is null ? null : inner.String("process", ""),
            o["window"] is null ? null : inner.String("window", ""));
    }

    /// <summary>The mapped single columns (not features), as (role, column name).</summary>
    public IEnumerable<(string Role, string Column)> Singles()
    {
        yield return ("label", Label);
        yield return ("mass", Mass);
        if (Weight is not null) yield return ("weight", Weight);
        if (Window is not null) yield return ("window", Window);
        if (Process is not null) yield return ("process", Process);
    }

    /// <summary>Feature column names given the file's columns: the explicit list, or all unmapped columns.</summary>
    public string[] ResolveFeatures(string file, IReadOnlyList<string> available)
    {
        foreach (var (role, column) in Singles())
            if (!available.Contains(column)) throw MissingColumn(file, column, role, available);
        if (Features is not null)
        {
            var singles = Singles().ToDictionary(s => s.Column, s => s.Role);
            foreach (var column in Features)
            {
                if (!available.Contains(column)) throw MissingColumn(file, column, "feature", available);
                if (singles.TryGetValue(column, out var role)) throw new DataException($"{file}: column '{column}' is mapped both as a feature and as the {role}");
            }
            if (Features.Distinct().Count() != Features.Count) throw new DataException($"{file}: a feature column is listed twice ({string.Join(", ", Features)})");
            return [.. Features];
        }
        var mapped = Singles().Select(s => s.Column).ToHashSet();
        var features = available.Where(c => !mapped.Contains(c)).ToArray();
        if (features.Length == 0) throw new DataException($"{file}: no feature column left after label, mass, weight, process and window (columns: {string.Join(", ", available)})");
        return features;
    }

    private static DataException MissingColumn(string file, string column, string role, IReadOnlyList<string> available) =>
        new($"{file}: {role} column '{column}' not found; the file has: {string.Join(", ", available)}");
}

/// <summary>The columns a file loader extracted, before they become an <see cref="EventSet"/>.</summary>
public sealed class RawTable
{
    public required string File { get; init; }
    public required int Rows { get; init; }
    public required string[] FeatureNames { get; init; }
    /// <summary>Row-major Rows x FeatureNames.Length.</summary>
    public required float[] Features { get; init; }
    /// <summary>Already checked to be 0 or 1.</summary>
    public required byte[] Label { get; init; }
    public required double[] Mass { get; init; }
    public double[]? Weight { get; init; }
    public double[]? Window { get; init; }
    public string[]? Process { get; init; }
    /// <summary>Where row r is in the file, for messages: <c>file:line</c> for CSV, <c>file: row r</c> for NPZ.</summary>
    public required Func<int, string> Where { get; init; }
    public required ColumnMap Map { get; init; }
}

/// <summary>Turns a <see cref="RawTable"/> into events: mass grid, processes, windows, weights.</summary>
public static class TableEvents
{
    /// <summary>
    /// Signal masses are snapped to the grid: to the nearest mass of the <c>masses</c> option within
    /// 1e-3 relative (signal rows of other masses are dropped: the option selects hypotheses), or,
    /// without it, to 4 significant digits (HEPMASS stores 500 GeV as 499.99997).
    /// </summary>
    public static EventSet Build(RawTable table, DataOptions options)
    {
        DataChecks.ThrowIfErrors(DataChecks.Table(table));
        var listed = options.Masses("masses");
        var snapped = new double[table.Rows];
        var keep = new bool[table.Rows];
        for (int r = 0; r < table.Rows; r++)
        {
            keep[r] = true;
            if (table.Label[r] == 0) continue;
            double m = table.Mass[r];
            if (!double.IsFinite(m)) throw new DataException($"{table.Where(r)}: column '{table.Map.Mass}': signal mass '{m}' is not a finite number");
            if (listed is null) snapped[r] = RoundSignificant(m, 4);
            else
            {
                int k = MassGrid.Nearest(listed, m);
                keep[r] = Math.Abs(listed[k] - m) <= 1e-3 * Math.Max(1, Math.Abs(listed[k]));
                snapped[r] = listed[k];
            }
        }
        var masses = listed ?? snapped.Where((m, r) => table.Label[r] == 1).Distinct().Order().ToArray();
        if (masses.Length == 0) throw new DataException($"{table.File}: no signal rows (column '{table.Map.Label}' is never 1)");

        var rows = Enumerable.Range(0, table.Rows).Where(r => keep[r]).ToArray();
        int n = rows.Length, d = table.FeatureNames.Length;
        var massIndex = new int[n];
        var generated = new double[masses.Length];
        for (int k = 0; k < n; k++)
        {
            int r = rows[k];
            massIndex[k] = table.Label[r] == 1 ? MassGrid.IndexOf(masses, snapped[r]) : -1;
            if (massIndex[k] >= 0) generated[massIndex[k]]++;
        }
        for (int j = 0; j < masses.Length; j++)
            if (generated[j] == 0) throw new DataException($"{table.File}: no signal rows of mass {Format(masses[j])} (option 'masses')");
        if (options.Has("generated_per_mass"))
        {
            // Files often hold preselected events; N_gen of the Punzi efficiency is then larger than the rows.
            var given = options.PerMass("generated_per_mass", masses);
            for (int j = 0; j < masses.Length; j++)
                if (given[j] < generated[j]) throw options.Error("generated_per_mass", $"at mass {Format(masses[j])} is {Format(given[j])}, fewer than the {generated[j]} signal rows");
            generated = given;
        }

        var (processOf, processNames) = Processes(table, rows);
        // Every row kept (the usual case): the table's feature array becomes the events', so a
        // large file's features are never held twice.
        bool all = n == table.Rows;
        var features = all ? table.Features : new float[(long)n * d];
        var label = new byte[n];
        var mass = new double[n];
        var stored = new double[n];
        var weight = new double[n];
        var window = table.Window is null ? null : new float[n];
        for (int k = 0; k < n; k++)
        {
            int r = rows[k];
            if (!all) table.Features.AsSpan(r * d, d).CopyTo(features.AsSpan(k * d, d));
            label[k] = table.Label[r];
            mass[k] = label[k] == 1 ? masses[massIndex[k]] : double.NaN;
            stored[k] = table.Mass[r];
            weight[k] = table.Weight?[r] ?? 1;
            if (window is not null) window[k] = (float)table.Window![r];
        }

        WindowModel? windows = null;
        if (window is not null)
        {
            if (!options.Has("window_width")) throw options.Error("window_width", $"is required with a window column ('{table.Map.Window}'): a number or one width per mass");
            var width = options.PerMass("window_width", masses);
            foreach (var w in width) if (!(w > 0)) throw options.Error("window_width", $"must be positive, got {Format(w)}");
            var center = options.String("window_center", "mass-squared") switch
            {
                "mass-squared" => masses.Select(m => m * m).ToArray(),
                "mass" => (double[])masses.Clone(),
                var other => throw options.Error("window_center", $"must be 'mass-squared' or 'mass', got '{other}'"),
            };
            windows = new WindowModel(table.Map.Window!, center, width);
        }

        var set = new EventSet
        {
            Count = n, FeatureNames = table.FeatureNames, Features = features, Label = label, Mass = mass, MassIndex = massIndex,
            Process = processOf, ProcessNames = processNames, Weight = weight, Window = window, Windows = windows,
            Masses = masses, GeneratedSignal = generated, StoredMass = stored,
            Luminosity = options.Has("luminosity") ? options.PositiveDouble("luminosity", 1) : null,
        };
        set.Validate();
        return set;
    }

    /// <summary>Process ids with the signal-holding processes first (the EventSet rule); without a process column: signal / background.</summary>
    private static (int[] Process, string[] Names) Processes(RawTable table, int[] rows)
    {
        var process = new int[rows.Length];
        if (table.Process is null)
        {
            for (int k = 0; k < rows.Length; k++) process[k] = table.Label[rows[k]] == 1 ? 0 : 1;
            return (process, ["signal", "background"]);
        }
        var labelOf = new Dictionary<string, (byte Label, int Row)>();
        foreach (var r in rows)
        {
            var name = table.Process[r];
            if (!labelOf.TryGetValue(name, out var seen)) labelOf[name] = (table.Label[r], r);
            else if (seen.Label != table.Label[r])
                throw new DataException($"{table.Where(r)}: column '{table.Map.Process}': process '{name}' holds both signal and background (see {table.Where(seen.Row)})");
        }
        var names = labelOf.OrderByDescending(p => p.Value.Label).ThenBy(p => p.Value.Row).Select(p => p.Key).ToArray();
        var id = names.Select((name, k) => (name, k)).ToDictionary(t => t.name, t => t.k);
        for (int k = 0; k < rows.Length; k++) process[k] = id[table.Process[rows[k]]];
        return (process, names);
    }

    /// <summary>Rounds to <paramref name="digits"/> significant digits.</summary>
    public static double RoundSignificant(double value, int digits)
    {
        if (value == 0 || !double.IsFinite(value)) return value;
        int exponent = (int)Math.Floor(Math.Log10(Math.Abs(value))) + 1 - digits;
        if (exponent <= 0 && -exponent <= 15) return Math.Round(value, -exponent);
        double scale = Math.Pow(10, exponent);
        return Math.Round(value / scale) * scale;
    }

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
