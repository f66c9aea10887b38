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
        var lines = new LineReader(reader, path);
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
                        throw DataException.At(path, lines.Line, header[c], $"'{DataLimits.Excerpt(cell)}' is not a number");
                    switch (role)
                    {
                        case Role.Feature: featureData[rows * d + featureSlot[c]] = (float)value; break;
                        case Role.Label:
                            if (value != 0 && value != 1) throw DataException.At(path, lines.Line, header[c], $"'{DataLimits.Excerpt(cell)}' is not a label (0 or 1)");
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
            // A file cut mid-number ("0.12" of "0.1234") parses; only the missing newline tells.
            if (lines.Unterminated)
                throw DataException.At(path, lines.Line, null, "the last line has no newline at its end: the file may be cut short (a full disk, an interrupted copy); " +
                    "if it is complete, end it with a newline");
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
        // Header work is linear in the columns (a dictionary, not IndexOf per column): a 200,000-column header took 88 s.
        int columns = trimmed.Count(',') + 1;
        if (columns > DataLimits.MaxColumns)
            throw DataException.At(path, lines.Line, null, $"the header has {columns:N0} columns; at most {DataLimits.MaxColumns:N0} (is this the data file meant?)");
        var header = new List<string>(columns);
        var index = new Dictionary<string, int>(columns, StringComparer.Ordinal);
        foreach (var range in trimmed.Split(','))
        {
            var name = trimmed[range].Trim().ToString();
            if (!index.TryAdd(name, header.Count))
                throw DataException.At(path, lines.Line, null, $"column '{DataLimits.Excerpt(name)}' appears twice in the header");
            header.Add(name);
        }

        var features = map.ResolveFeatures(path, header);
        var roles = new Role[header.Count];
        var featureSlot = new int[header.Count];
        for (int j = 0; j < features.Length; j++) { int c = index[features[j]]; roles[c] = Role.Feature; featureSlot[c] = j; }
        roles[index[map.Label]] = Role.Label;
        roles[index[map.Mass]] = Role.Mass;
        if (map.Weight is not null) roles[index[map.Weight]] = Role.Weight;
        if (map.Window is not null) roles[index[map.Window]] = Role.Window;
        if (map.Process is not null) roles[index[map.Process]] = Role.Process;
        return (header, features, roles, featureSlot);
    }

    /// <summary>The file's stream, decompressed when it ends in .gz or starts with the gzip magic bytes.</summary>
    public static Stream OpenMaybeGzip(string path)
    {
        DataException.RequireRegularFile(path);
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
        return magicBytes ? new CappedStream(new GZipStream(stream, CompressionMode.Decompress), path) : stream;
    }

    /// <summary>Lines as spans over a reusable buffer (valid until the next call), counting 1-based line numbers.</summary>
    /// <remarks>
    /// Lines are capped at <see cref="DataLimits.MaxLineChars"/> (a 1 GB line in a 4 MB .gz took 26 s and 4.1 GB) and
    /// may not hold a NUL: .NET's number parser ignores trailing NULs ("2.0\0" read as 2.0), and NULs mean a binary or
    /// damaged file. The newline search already touches every character, so the NUL search costs one more vectorised pass.
    /// </remarks>
    private sealed class LineReader(TextReader reader, string path)
    {
        private char[] _buffer = new char[1 << 16];
        private int _start, _end;
        private bool _eof;

        public long Line { get; private set; }

        /// <summary>Whether the line last returned ended at the end of the file without a newline.</summary>
        public bool Unterminated { get; private set; }

        public bool TryRead(out ReadOnlySpan<char> line)
        {
            while (true)
            {
                int newline = _buffer.AsSpan(_start, _end - _start).IndexOf('\n');
                if (newline >= 0)
                {
                    line = Checked(_buffer.AsSpan(_start, newline).TrimEnd('\r'));
                    _start += newline + 1;
                    return true;
                }
                if (_eof)
                {
                    if (_start < _end)
                    {
                        line = Checked(_buffer.AsSpan(_start, _end - _start).TrimEnd('\r'));
                        _start = _end;
                        Unterminated = true;
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
                if (_end >= DataLimits.MaxLineChars)
                    throw DataException.At(path, Line + 1, null, $"the line is longer than {DataLimits.MaxLineChars:N0} characters (the limit): not a data file of rows, or a damaged one");
                if (_end == _buffer.Length) Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, DataLimits.MaxLineChars + 1));
                int n = reader.Read(_buffer, _end, _buffer.Length - _end);
                if (n == 0) _eof = true; else _end += n;
            }
        }

        private ReadOnlySpan<char> Checked(ReadOnlySpan<char> line)
        {
            Line++;
            if (line.Length > DataLimits.MaxLineChars)
                throw DataException.At(path, Line, null, $"the line is longer than {DataLimits.MaxLineChars:N0} characters (the limit): not a data file of rows, or a damaged one");
            if (line.Contains('\0'))
                throw DataException.At(path, Line, null, $"a NUL byte at character {line.IndexOf('\0') + 1}: the file is binary or damaged, not CSV text");
            return line;
        }
    }
}
