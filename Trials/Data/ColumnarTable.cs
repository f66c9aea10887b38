namespace Studies.Trials.Data;

/// <summary>
/// Fills a <see cref="RawTable"/> from a columnar file (Arrow record batches, Parquet row groups)
/// chunk by chunk: the final arrays are allocated once for the whole file and every chunk is
/// converted straight into them, so a file never sits in memory twice (final arrays plus one chunk
/// is the peak). The format readers only turn one column of one chunk into numbers or texts; the
/// roles, null rules and messages live here, shared by both formats.
/// </summary>
internal sealed class ColumnarTable
{
    private enum Role : byte { Feature, Label, Mass, Weight, Window, Process }

    private readonly string _file;
    private readonly ColumnMap _map;
    private readonly int _rows;
    private readonly Dictionary<string, (Role Role, int Slot)> _roles = new(StringComparer.Ordinal);
    private readonly string[] _features;
    private readonly float[] _featureData;
    private readonly byte[] _label;
    private readonly double[] _mass;
    private readonly double[]? _weight, _window;
    private readonly string[]? _process;
    private readonly Dictionary<string, string> _interned = new(StringComparer.Ordinal);

    /// <param name="file">The path, for messages.</param>
    /// <param name="columns">The file's column names, in file order.</param>
    /// <param name="rows">Rows to load (the file's, or fewer under <c>max_rows</c>).</param>
    public ColumnarTable(string file, ColumnMap map, IReadOnlyList<string> columns, long rows)
    {
        _file = file;
        _map = map;
        if (columns.GroupBy(c => c, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new DataException($"{file}: column '{twice.Key}' appears twice");
        if (rows == 0) throw new DataException($"{file}: no data rows");
        if (rows > int.MaxValue) throw new DataException($"{file}: {rows} rows; at most {int.MaxValue} can be loaded (use max_rows)");
        _rows = (int)rows;
        _features = map.ResolveFeatures(file, columns);
        for (int j = 0; j < _features.Length; j++) _roles[_features[j]] = (Role.Feature, j);
        _roles[map.Label] = (Role.Label, 0);
        _roles[map.Mass] = (Role.Mass, 0);
        if (map.Weight is not null) _roles[map.Weight] = (Role.Weight, 0);
        if (map.Window is not null) _roles[map.Window] = (Role.Window, 0);
        if (map.Process is not null) _roles[map.Process] = (Role.Process, 0);
        _featureData = new float[(long)_rows * _features.Length];
        _label = new byte[_rows];
        _mass = new double[_rows];
        _weight = map.Weight is null ? null : new double[_rows];
        _window = map.Window is null ? null : new double[_rows];
        _process = map.Process is null ? null : new string[_rows];
    }

    public int Rows => _rows;

    /// <summary>Bytes of the final arrays (features, label, mass and the optional numeric columns), to size what a reader may hold besides them.</summary>
    public long Bytes => _featureData.LongLength * sizeof(float) + _rows * (1L + sizeof(double) * (1 + (_weight is null ? 0 : 1) + (_window is null ? 0 : 1)));

    /// <summary>The columns the map needs, in file order: the only ones a reader has to decode.</summary>
    public IEnumerable<string> Needed(IReadOnlyList<string> columns) => columns.Where(_roles.ContainsKey);

    /// <summary>Whether <paramref name="column"/> is the process column (read as text; every other needed column is read as numbers).</summary>
    public bool IsText(string column) => _map.Process == column;

    /// <summary>The role of a needed column in words, for type errors.</summary>
    public string RoleOf(string column) => _roles[column].Role.ToString().ToLowerInvariant();

    /// <summary>A type the loader cannot use for this column: one line naming file, column, role and type.</summary>
    public DataException WrongType(string column, string type) =>
        new($"{_file}: column '{column}' has type {type}; the {RoleOf(column)} column needs {(IsText(column) ? "text or integers" : "numbers (float, integer or boolean)")}");

    /// <summary>
    /// Numbers of one column for rows <paramref name="first"/>..: <paramref name="isNull"/> is empty
    /// when the chunk has no nulls. A null mass is allowed (background rows need none; a signal row
    /// without one is reported when the events are built); any other null is an error.
    /// </summary>
    public void Numbers(string column, int first, ReadOnlySpan<double> values, ReadOnlySpan<bool> isNull)
    {
        var (role, slot) = _roles[column];
        int count = Math.Min(values.Length, _rows - first);
        if (!isNull.IsEmpty && role != Role.Mass) ThrowIfNull(column, first, isNull[..count]);
        switch (role)
        {
            case Role.Feature:
            {
                int d = _features.Length;
                for (int i = 0; i < count; i++) _featureData[(long)(first + i) * d + slot] = (float)values[i];
                break;
            }
            case Role.Label:
                for (int i = 0; i < count; i++)
                {
                    var v = values[i];
                    if (v != 0 && v != 1) throw new DataException($"{Where(first + i)}: column '{column}': {v} is not a label (0 or 1)");
                    _label[first + i] = (byte)v;
                }
                break;
            case Role.Mass:
                values[..count].CopyTo(_mass.AsSpan(first));
                if (!isNull.IsEmpty)
                    for (int i = 0; i < count; i++) if (isNull[i]) _mass[first + i] = double.NaN;
                break;
            case Role.Weight: values[..count].CopyTo(_weight.AsSpan(first)); break;
            case Role.Window: values[..count].CopyTo(_window.AsSpan(first)); break;
            default: throw new InvalidOperationException($"column '{column}' is read as text");
        }
    }

    /// <summary>
    /// Numbers of several columns for the same rows <paramref name="first"/>..+<paramref name="count"/>,
    /// with the null rules of the one-column overload. The feature columns among them are written
    /// together, a block of rows at a time: the feature array is row-major, so writing one column
    /// at a time touches a cache line per value and sweeps the whole array once per column, while a
    /// block of rows of every column stays in cache until it is complete.
    /// </summary>
    public void Numbers(int first, int count, IReadOnlyList<NumberColumn> columns)
    {
        count = Math.Min(count, _rows - first);
        var features = new List<(int Slot, double[] Values)>();
        foreach (var c in columns)
        {
            var (role, slot) = _roles[c.Column];
            if (role != Role.Feature) Numbers(c.Column, first, c.Values.AsSpan(0, count), c.Nulls is null ? default : c.Nulls.AsSpan(0, count));
            else
            {
                if (c.Nulls is not null) ThrowIfNull(c.Column, first, c.Nulls.AsSpan(0, count));
                features.Add((slot, c.Values));
            }
        }
        // Slices of rows apart on the processor cores (they share at most a cache line at their
        // edges); within a slice, blocks of 256 rows (27 KB at 27 features) stay in the first-level cache.
        const int Block = 256, Slice = 64 * Block;
        int d = _features.Length;
        Parallel.For(0, (count + Slice - 1) / Slice, s =>
        {
            for (int start = s * Slice, stop = Math.Min(count, start + Slice); start < stop; start += Block)
            {
                int end = Math.Min(stop, start + Block);
                foreach (var (slot, values) in features)
                    for (int i = start; i < end; i++) _featureData[(long)(first + i) * d + slot] = (float)values[i];
            }
        });
    }

    private void ThrowIfNull(string column, int first, ReadOnlySpan<bool> isNull)
    {
        int i = isNull.IndexOf(true);
        if (i >= 0) throw new DataException($"{Where(first + i)}: column '{column}' is empty (null); only the mass of background rows may be");
    }

    /// <summary>Process names for rows <paramref name="first"/>..; interned (a few names over millions of rows).</summary>
    public void Texts(string column, int first, IReadOnlyList<string?> values)
    {
        int count = Math.Min(values.Count, _rows - first);
        for (int i = 0; i < count; i++)
        {
            var name = values[i] ?? throw new DataException($"{Where(first + i)}: column '{column}' is empty (null)");
            if (!_interned.TryGetValue(name, out var interned)) _interned[name] = interned = name;
            _process![first + i] = interned;
        }
    }

    private string Where(int row) => $"{_file}: row {row + 1}";

    public RawTable Finish() => new()
    {
        File = _file, Rows = _rows, FeatureNames = _features, Features = _featureData, Label = _label, Mass = _mass,
        Weight = _weight, Window = _window, Process = _process, Map = _map, Where = Where,
    };
}

/// <summary>One decoded column of a chunk of rows: its values, and which are null (null when none is).</summary>
internal readonly record struct NumberColumn(string Column, double[] Values, bool[]? Nulls);
