using System.Buffers;
using System.Numerics;
using Parquet;
using Parquet.Schema;

namespace Studies.Trials.Data;

/// <summary>
/// Reads the mapped columns of a Parquet file (as pandas, pyarrow, Polars or uproot write it) into
/// a <see cref="RawTable"/>, one row group at a time through <see cref="ColumnarTable"/>. Parquet.Net
/// is used because it is fully managed (no native parquet-cpp to build or ship next to libtorch)
/// and decodes every codec pandas/pyarrow write (snappy, gzip, zstd, lz4, brotli).
/// Columns: flat numeric (float, double, signed/unsigned integers, boolean) and, for the process
/// column, strings (dictionary-encoded or plain) or integers. Nulls read as "missing", which only
/// a background row's mass may be.
/// </summary>
public static class ParquetTable
{
    /// <param name="workers">
    /// Columns decoded at once, each by its own reader over its own stream (a Parquet.Net reader
    /// seeks its one stream and is not safe to share); 0: one per processor. Decoding (snappy,
    /// mostly) is the bulk of a load, and the columns of a row group are independent.
    /// </param>
    /// <param name="batchBytes">
    /// Decoded columns wait until their batch is written into the final arrays; a batch holds at
    /// most this many bytes (but at least one column per worker). 0: a quarter of the final arrays
    /// or 64 MB, whichever is more, so a file is never held twice.
    /// </param>
    public static RawTable Read(string path, ColumnMap map, long? maxRows, int workers = 0, long batchBytes = 0) =>
        ReadAsync(path, map, maxRows, workers, batchBytes).GetAwaiter().GetResult();

    private static async Task<RawTable> ReadAsync(string path, ColumnMap map, long? maxRows, int workers, long batchBytes)
    {
        DataException.RequireRegularFile(path);
        var readers = new List<(FileStream Stream, ParquetReader Reader)>();
        try
        {
            readers.Add(await Open(path));
            var reader = readers[0].Reader;
            var fields = reader.Schema.Fields;
            var names = ColumnarFormats.UserColumns(fields.Select(f => f.Name)).ToList();
            long fileRows = reader.RowGroups.Sum(g => g.RowCount);
            var table = new ColumnarTable(path, map, names, Math.Min(fileRows, maxRows ?? long.MaxValue));
            var needed = new List<DataField>();
            foreach (var field in table.Needed(names).Select(name => fields.First(f => f.Name == name)))
            {
                if (field is not DataField data || data.IsArray) throw table.WrongType(field.Name, $"{field.SchemaType} (nested)");
                if (!(table.IsText(field.Name) ? IsText(data.ClrType) || IsInteger(data.ClrType) : IsNumber(data.ClrType)))
                    throw table.WrongType(field.Name, TypeName(data.ClrType));
                needed.Add(data);
            }
            workers = Math.Clamp(workers > 0 ? workers : Environment.ProcessorCount, 1, needed.Count);
            while (readers.Count < workers) readers.Add(await Open(path));

            int first = 0;
            for (int g = 0; g < reader.RowGroupCount && first < table.Rows; g++)
            {
                long groupRows = reader.RowGroups[g].RowCount;
                int count = (int)Math.Min(groupRows, table.Rows - first);
                // Enough columns for every worker and for the row-block writing of the features;
                // batches of even size, a multiple of the workers where the budget allows, so that
                // no worker idles while another decodes a batch's last column.
                long budget = batchBytes > 0 ? batchBytes : Math.Max(64L << 20, table.Bytes / 4);
                int most = (int)Math.Clamp(budget / (Math.Max(1, groupRows) * (sizeof(double) + 1)), workers, needed.Count);
                int batches = (needed.Count + most - 1) / most;
                int batch = (needed.Count + batches - 1) / batches;
                if (batch % workers != 0 && batch + workers - batch % workers <= most) batch += workers - batch % workers;
                for (int b = 0; b < needed.Count; b += batch)
                {
                    var columns = needed.GetRange(b, Math.Min(batch, needed.Count - b));
                    var decoded = new Decoded?[columns.Count];
                    try
                    {
                        int next = -1;
                        await Task.WhenAll(readers.Take(Math.Min(workers, columns.Count)).Select(r => Task.Run(async () =>
                        {
                            using var group = r.Reader.OpenRowGroupReader(g);
                            for (int k; (k = Interlocked.Increment(ref next)) < columns.Count;)
                                decoded[k] = await Decode(path, g, reader.RowGroupCount, group, columns[k], table);
                        })));
                        var numbers = new List<NumberColumn>();
                        foreach (var column in decoded)
                        {
                            if (column!.Texts is { } texts) table.Texts(column.Field.Name, first, texts);
                            else numbers.Add(new NumberColumn(column.Field.Name, column.Values!, column.Nulls));
                        }
                        table.Numbers(first, count, numbers);
                    }
                    finally
                    {
                        foreach (var column in decoded) column?.Dispose();
                    }
                }
                first += count;
            }
            return table.Finish();
        }
        finally
        {
            foreach (var (stream, reader) in readers)
            {
                await reader.DisposeAsync();
                await stream.DisposeAsync();
            }
        }
    }

    private static async Task<(FileStream, ParquetReader)> Open(string path)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try { return (stream, await ParquetReader.CreateAsync(stream, leaveStreamOpen: true)); }
        catch (Exception e)
        {
            await stream.DisposeAsync();
            if (e is DataException) throw;
            throw new DataException($"{path}: not a readable Parquet file ({e.Message}); is it truncated, or of another format?", e);
        }
    }

    /// <summary>One column of one row group: texts, or numbers in pooled arrays (returned by <see cref="Dispose"/>).</summary>
    private sealed class Decoded(DataField column) : IDisposable
    {
        public DataField Field => column;
        public string?[]? Texts { get; init; }
        public double[]? Values { get; init; }
        public bool[]? Nulls { get; init; }

        public void Dispose()
        {
            if (Values is not null) ArrayPool<double>.Shared.Return(Values);
            if (Nulls is not null) ArrayPool<bool>.Shared.Return(Nulls);
        }
    }

    private static async Task<Decoded> Decode(string path, int g, int groups, ParquetRowGroupReader group, DataField field, ColumnarTable table)
    {
        try
        {
            if (table.IsText(field.Name) && IsText(field.ClrType))
            {
                var texts = new string?[group.RowCount];
                await group.ReadAsync(field, texts.AsMemory());
                return new Decoded(field) { Texts = texts };
            }
            return await ReadNumbers(group, field, table);
        }
        catch (Exception e) when (e is not DataException)
        {
            throw new DataException($"{path}: column '{field.Name}', row group {g + 1} of {groups}: cannot be read ({e.Message}); is the file truncated or damaged?", e);
        }
    }

    private static async Task<Decoded> ReadNumbers(ParquetRowGroupReader group, DataField field, ColumnarTable table)
    {
        int n = (int)group.RowCount;
        double[]? values = ArrayPool<double>.Shared.Rent(n);
        bool[]? nulls = ArrayPool<bool>.Shared.Rent(n);
        try
        {
            bool anyNull = field.ClrType switch
            {
                var t when t == typeof(double) => await Convert<double>(group, field, n, values, nulls),
                var t when t == typeof(float) => await Convert<float>(group, field, n, values, nulls),
                var t when t == typeof(long) => await Convert<long>(group, field, n, values, nulls),
                var t when t == typeof(int) => await Convert<int>(group, field, n, values, nulls),
                var t when t == typeof(short) => await Convert<short>(group, field, n, values, nulls),
                var t when t == typeof(sbyte) => await Convert<sbyte>(group, field, n, values, nulls),
                var t when t == typeof(ulong) => await Convert<ulong>(group, field, n, values, nulls),
                var t when t == typeof(uint) => await Convert<uint>(group, field, n, values, nulls),
                var t when t == typeof(ushort) => await Convert<ushort>(group, field, n, values, nulls),
                var t when t == typeof(byte) => await Convert<byte>(group, field, n, values, nulls),
                var t when t == typeof(bool) => await ConvertBool(group, field, n, values, nulls),
                _ => throw table.WrongType(field.Name, TypeName(field.ClrType)),
            };
            if (table.IsText(field.Name))
            {
                // Integer process codes become their decimal text, as in the npz loader.
                var texts = new string?[n];
                for (int i = 0; i < n; i++) texts[i] = nulls[i] && anyNull ? null : values[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
                return new Decoded(field) { Texts = texts };
            }
            var decoded = new Decoded(field) { Values = values, Nulls = anyNull ? nulls : null };
            values = null; // now the decoded column's to return
            if (anyNull) nulls = null;
            return decoded;
        }
        finally
        {
            if (values is not null) ArrayPool<double>.Shared.Return(values);
            if (nulls is not null) ArrayPool<bool>.Shared.Return(nulls);
        }
    }

    /// <summary>Reads one column of a row group as doubles; returns whether any value was null.</summary>
    private static async Task<bool> Convert<T>(ParquetRowGroupReader group, DataField field, int n, double[] values, bool[] nulls)
        where T : struct, INumberBase<T>
    {
        // Raw reading gives the present values packed, and a definition level per row (below the
        // maximum: null), instead of a nullable array of twice the size to convert from; a double
        // column is read straight into the values and spread out in place.
        var raw = typeof(T) == typeof(double) ? (T[])(object)values : ArrayPool<T>.Shared.Rent(n);
        var levels = field.IsNullable ? ArrayPool<int>.Shared.Rent(n) : null;
        try
        {
            await group.ReadRawAsync(field, raw.AsMemory(0, n), levels?.AsMemory(0, n), null);
            int max = field.MaxDefinitionLevel;
            int present = levels is null ? n : levels.AsSpan(0, n).Count(max);
            if (present == n)
            {
                if (!ReferenceEquals(raw, values)) for (int i = 0; i < n; i++) values[i] = double.CreateTruncating(raw[i]);
                return false;
            }
            // Backwards, so that in place a packed value is read before its slot is overwritten.
            for (int i = n - 1, j = present - 1; i >= 0; i--)
            {
                nulls[i] = levels![i] != max; // not null: without levels every value is present
                values[i] = nulls[i] ? double.NaN : double.CreateTruncating(raw[j--]);
            }
            return true;
        }
        finally
        {
            if (!ReferenceEquals(raw, values)) ArrayPool<T>.Shared.Return(raw);
            if (levels is not null) ArrayPool<int>.Shared.Return(levels);
        }
    }

    private static async Task<bool> ConvertBool(ParquetRowGroupReader group, DataField field, int n, double[] values, bool[] nulls)
    {
        var raw = new bool?[n];
        await group.ReadAsync(field, raw.AsMemory());
        bool any = false;
        for (int i = 0; i < n; i++)
        {
            nulls[i] = !raw[i].HasValue;
            any |= nulls[i];
            values[i] = raw[i] == true ? 1 : 0;
        }
        return any;
    }

    private static bool IsNumber(Type t) =>
        t == typeof(double) || t == typeof(float) || t == typeof(long) || t == typeof(int) || t == typeof(short) || t == typeof(sbyte)
        || t == typeof(ulong) || t == typeof(uint) || t == typeof(ushort) || t == typeof(byte) || t == typeof(bool);

    private static bool IsInteger(Type t) => IsNumber(t) && t != typeof(double) && t != typeof(float) && t != typeof(bool);

    private static bool IsText(Type t) => t == typeof(string) || t == typeof(ReadOnlyMemory<char>);

    private static string TypeName(Type t) => IsText(t) ? "string (text)" : t.Name;
}

/// <summary>What the Feather and Parquet loaders share beyond <see cref="ColumnarTable"/>.</summary>
internal static class ColumnarFormats
{
    /// <summary>
    /// The file's columns a study can map: pandas stores a non-default DataFrame index as a column
    /// named <c>__index_level_N__</c>; it is bookkeeping, not a feature, so "every unmapped column"
    /// must not pick it up.
    /// </summary>
    public static IEnumerable<string> UserColumns(IEnumerable<string> columns) =>
        columns.Where(c => !(c.StartsWith("__index_level_", StringComparison.Ordinal) && c.EndsWith("__", StringComparison.Ordinal)));
}
