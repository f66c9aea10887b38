using System.Globalization;
using System.IO.Compression;

namespace Studies.Trials.Data;

/// <summary>
/// Reads the mapped columns of a CSV file (plain, or gzip by extension or magic bytes) into a
/// <see cref="RawTable"/>. The header is the first non-empty line (a leading <c>#</c> is dropped,
/// as in the HEPMASS files); cells are trimmed; blank lines are skipped. Rows are parsed as spans
/// straight from a char buffer: no string per line or cell, except process names.
/// </summary>
public static class CsvTable
{
    private enum Role : byte { Skip, Feature, Label, Mass, Weight, Window, Process }

    // Without strict validation a gzip stream cut short reads as a shorter file, silently: the
    // switch makes it throw at the cut. Directory.Build.props sets it for every program; this sets
    // it for hosts that do not, as long as no DeflateStream was used before.
    static CsvTable() => AppContext.SetSwitch(StrictGzipSwitch, true);

    /// <summary>The runtime switch under which a truncated gzip stream throws instead of ending early.</summary>
    public const string StrictGzipSwitch = "System.IO.Compression.UseStrictValidation";

    public static RawTable Read(string path, ColumnMap map, long? maxRows)
    {
        using var reader = new StreamReader(OpenMaybeGzip(path), bufferSize: 1 << 16);
        var lines = new LineReader(reader);
        try
        {
            return Read(path, map, maxRows, lines);
        }
        catch (InvalidDataException e)
        {
            throw new DataException($"{path}: the compressed data are damaged or cut short after line {lines.Line} ({e.Message}); "
                + "none of it is used: compress or copy the file again", e);
        }
    }

    private static RawTable Read(string path, ColumnMap map, long? maxRows, LineReader lines)
    {
        var (header, features, roles, featureSlot) = ReadHeader(path, map, lines);
        ReadOnlySpan<char> line;
        int d = features.Length, capacity = 1024;
        var featureData = new float[capacity * d];
        var label = new byte[capacity];
        var mass = new double[capacity];
        var weight = map.Weight is null ? null : new double[capacity];
        var window = map.Window is null ? null : new double[capacity];
        var process = map.Process is null ? null : new string[capacity];
        var lineOf = new int[capacity];
        var processNames = new Dictionary<string, string>();
        int rows = 0;
        long limit = maxRows ?? long.MaxValue;

        while (rows < limit && lines.TryRead(out line))
        {
            if (line.IsWhiteSpace()) continue;
            if (rows == capacity)
            {
                capacity *= 2;
                Array.Resize(ref featureData, capacity * d);
                Array.Resize(ref label, capacity);
                Array.Resize(ref mass, capacity);
                Array.Resize(ref lineOf, capacity);
                if (weight is not null) Array.Resize(ref weight, capacity);
                if (window is not null) Array.Resize(ref window, capacity);
                if (process is not null) Array.Resize(ref process, capacity);
            }
            lineOf[rows] = (int)Math.Min(lines.Line, int.MaxValue);
            int c = 0;
            var rest = line;
            while (true)
            {
                int comma = rest.IndexOf(',');
                var cell = (comma < 0 ? rest : rest[..comma]).Trim();
                if (c >= header.Count) throw DataException.At(path, lines.Line, null, $"more than the header's {header.Count} columns");
                var role = roles[c];
                if (role == Role.Process)
                {
                    // Interned through a dictionary: a few distinct names over millions of rows.
                    var name = cell.ToString();
                    if (!processNames.TryGetValue(name, out var interned)) processNames[name] = interned = name;
                    process![rows] = interned;
                }
                else if (role == Role.Mass && cell.IsEmpty) mass[rows] = double.NaN; // background rows need no mass
                else if (role != Role.Skip)
                {
                    if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                        throw DataException.At(path, lines.Line, header[c], $"'{cell}' is not a number");
                    switch (role)
                    {
                        case Role.Feature: featureData[rows * d + featureSlot[c]] = (float)value; break;
                        case Role.Label:
                            if (value != 0 && value != 1) throw DataException.At(path, lines.Line, header[c], $"'{cell}' is not a label (0 or 1)");
                            label[rows] = (byte)value;
                            break;
                        case Role.Mass: mass[rows] = value; break;
                        case Role.Weight: weight![rows] = value; break;
                        case Role.Window: window![rows] = value; break;
                    }
                }
                c++;
                if (comma < 0) break;
                rest = rest[(comma + 1)..];
            }
            if (c != header.Count) throw DataException.At(path, lines.Line, null, $"{c} columns, the header has {header.Count}");
            rows++;
        }
        if (rows == 0) throw new DataException($"{path}: no data rows after the header");

        Array.Resize(ref featureData, rows * d);
        Array.Resize(ref label, rows);
        Array.Resize(ref mass, rows);
        if (weight is not null) Array.Resize(ref weight, rows);
        if (window is not null) Array.Resize(ref window, rows);
        if (process is not null) Array.Resize(ref process, rows);
        return new RawTable
        {
            File = path, Rows = rows, FeatureNames = features, Features = featureData, Label = label, Mass = mass,
            Weight = weight, Window = window, Process = process, Map = map, Where = r => $"{path}:{lineOf[r]}",
        };
    }

    /// <summary>The header line: column names, the features the map picks, and each column's role.</summary>
    private static (List<string> Header, string[] Features, Role[] Roles, int[] FeatureSlot) ReadHeader(string path, ColumnMap map, LineReader lines)
    {
        ReadOnlySpan<char> line = default;
        while (lines.TryRead(out line) && line.IsWhiteSpace()) { }
        if (line.IsWhiteSpace()) throw new DataException($"{path}: the file is empty (no header line)");
        var trimmed = line.Trim();
        if (trimmed.StartsWith('#')) trimmed = trimmed[1..];
        var header = new List<string>();
        foreach (var range in trimmed.Split(',')) header.Add(trimmed[range].Trim().ToString());
        for (int c = 0; c < header.Count; c++)
            if (header.IndexOf(header[c]) != c) throw DataException.At(path, lines.Line, null, $"column '{header[c]}' appears twice in the header");

        var features = map.ResolveFeatures(path, header);
        var roles = new Role[header.Count];
        var featureSlot = new int[header.Count];
        for (int j = 0; j < features.Length; j++) { int c = header.IndexOf(features[j]); roles[c] = Role.Feature; featureSlot[c] = j; }
        roles[header.IndexOf(map.Label)] = Role.Label;
        roles[header.IndexOf(map.Mass)] = Role.Mass;
        if (map.Weight is not null) roles[header.IndexOf(map.Weight)] = Role.Weight;
        if (map.Window is not null) roles[header.IndexOf(map.Window)] = Role.Window;
        if (map.Process is not null) roles[header.IndexOf(map.Process)] = Role.Process;
        return (header, features, roles, featureSlot);
    }

    /// <summary>The file's stream, decompressed when it ends in .gz or starts with the gzip magic bytes.</summary>
    public static Stream OpenMaybeGzip(string path)
    {
        if (!File.Exists(path)) throw DataException.NotFound(path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        int read = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        stream.Position = 0;
        bool magicBytes = read == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) && !magicBytes)
        {
            stream.Dispose();
            throw new DataException($"{path}: named .gz but not gzip-compressed (it does not start with the gzip bytes 1f 8b); rename it without .gz or compress it with gzip");
        }
        return magicBytes ? new GZipStream(stream, CompressionMode.Decompress) : stream;
    }

    /// <summary>Lines as spans over a reusable buffer (valid until the next call), counting 1-based line numbers.</summary>
    private sealed class LineReader(TextReader reader)
    {
        private char[] _buffer = new char[1 << 16];
        private int _start, _end;
        private bool _eof;

        public long Line { get; private set; }

        public bool TryRead(out ReadOnlySpan<char> line)
        {
            while (true)
            {
                int newline = _buffer.AsSpan(_start, _end - _start).IndexOf('\n');
                if (newline >= 0)
                {
                    line = _buffer.AsSpan(_start, newline).TrimEnd('\r');
                    _start += newline + 1;
                    Line++;
                    return true;
                }
                if (_eof)
                {
                    if (_start < _end)
                    {
                        line = _buffer.AsSpan(_start, _end - _start).TrimEnd('\r');
                        _start = _end;
                        Line++;
                        return true;
                    }
                    line = default;
                    return false;
                }
                if (_start > 0)
                {
                    Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                if (_end == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
                int n = reader.Read(_buffer, _end, _buffer.Length - _end);
                if (n == 0) _eof = true; else _end += n;
            }
        }
    }
}
