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
    public static RawTable Read(string path, ColumnMap map, long? maxRows) =>
        ReadAsync(path, map, maxRows).GetAwaiter().GetResult();

    private static async Task<RawTable> ReadAsync(string path, ColumnMap map, long? maxRows)
    {
        if (!File.Exists(path)) throw DataException.NotFound(path);
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        ParquetReader reader;
        try { reader = await ParquetReader.CreateAsync(stream, leaveStreamOpen: true); }
        catch (Exception e) when (e is not DataException)
        {
            throw new DataException($"{path}: not a readable Parquet file ({e.Message}); is it truncated, or of another format?", e);
        }
        await using (reader)
        {
            var fields = reader.Schema.Fields;
            var names = ColumnarFormats.UserColumns(fields.Select(f => f.Name)).ToList();
            long fileRows = reader.RowGroups.Sum(g => g.RowCount);
            var table = new ColumnarTable(path, map, names, Math.Min(fileRows, maxRows ?? long.MaxValue));
            var needed = table.Needed(names).Select(name => fields.First(f => f.Name == name)).ToList();
            foreach (var field in needed)
            {
                if (field is not DataField data || data.IsArray) throw table.WrongType(field.Name, $"{field.SchemaType} (nested)");
                if (!(table.IsText(field.Name) ? IsText(data.ClrType) || IsInteger(data.ClrType) : IsNumber(data.ClrType)))
                    throw table.WrongType(field.Name, TypeName(data.ClrType));
            }

            int first = 0;
            for (int g = 0; g < reader.RowGroupCount && first < table.Rows; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                int count = (int)Math.Min(group.RowCount, table.Rows - first);
                foreach (var field in needed.Cast<DataField>())
                {
                    try
                    {
                        if (table.IsText(field.Name) && IsText(field.ClrType))
                        {
                            var texts = new string?[group.RowCount];
                            await group.ReadAsync(field, texts.AsMemory());
                            table.Texts(field.Name, first, texts);
                        }
                        else await ReadNumbers(group, field, table, first, count);
                    }
                    catch (Exception e) when (e is not DataException)
                    {
                        throw new DataException($"{path}: column '{field.Name}', row group {g + 1} of {reader.RowGroupCount}: cannot be read ({e.Message}); is the file truncated or damaged?", e);
                    }
                }
                first += count;
            }
            return table.Finish();
        }
    }

    private static async Task ReadNumbers(ParquetRowGroupReader group, DataField field, ColumnarTable table, int first, int count)
    {
        int n = (int)group.RowCount;
        var values = ArrayPool<double>.Shared.Rent(n);
        var nulls = ArrayPool<bool>.Shared.Rent(n);
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
                var texts = new string?[count];
                for (int i = 0; i < count; i++) texts[i] = nulls[i] && anyNull ? null : values[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
                table.Texts(field.Name, first, texts);
            }
            else table.Numbers(field.Name, first, values.AsSpan(0, count), anyNull ? nulls.AsSpan(0, count) : default);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(values);
            ArrayPool<bool>.Shared.Return(nulls);
        }
    }

    /// <summary>Reads one column of a row group as doubles; returns whether any value was null.</summary>
    private static async Task<bool> Convert<T>(ParquetRowGroupReader group, DataField field, int n, double[] values, bool[] nulls)
        where T : struct, INumberBase<T>
    {
        if (!field.IsNullable)
        {
            var raw = ArrayPool<T>.Shared.Rent(n);
            try
            {
                await group.ReadAsync(field, raw.AsMemory(0, n));
                for (int i = 0; i < n; i++) values[i] = double.CreateTruncating(raw[i]);
            }
            finally { ArrayPool<T>.Shared.Return(raw); }
            return false;
        }
        var nullable = ArrayPool<T?>.Shared.Rent(n);
        try
        {
            await group.ReadAsync(field, nullable.AsMemory(0, n));
            bool any = false;
            for (int i = 0; i < n; i++)
            {
                var v = nullable[i];
                nulls[i] = !v.HasValue;
                any |= !v.HasValue;
                values[i] = v.HasValue ? double.CreateTruncating(v.Value) : double.NaN;
            }
            return any;
        }
        finally { ArrayPool<T?>.Shared.Return(nullable); }
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
