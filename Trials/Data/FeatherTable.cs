using System.Buffers;
using System.Numerics;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;

namespace Studies.Trials.Data;

/// <summary>
/// Reads the mapped columns of a Feather file (version 2: the Arrow IPC file format, as
/// <c>pandas.DataFrame.to_feather</c> and pyarrow write it, uncompressed or LZ4/ZSTD-compressed)
/// into a <see cref="RawTable"/>, one record batch at a time through <see cref="ColumnarTable"/>.
/// The reader is the Apache Arrow project's own C# library (with its Compression package for the
/// LZ4 and ZSTD codecs), so the format is read by the reference implementation, not by our code.
/// </summary>
public static class FeatherTable
{
    public static RawTable Read(string path, ColumnMap map, long? maxRows) =>
        ReadAsync(path, map, maxRows).GetAwaiter().GetResult();

    private static async Task<RawTable> ReadAsync(string path, ColumnMap map, long? maxRows)
    {
        DataException.RequireRegularFile(path);
        CheckMagic(path);
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        using var reader = new ArrowFileReader(stream, Apache.Arrow.Memory.MemoryAllocator.Default.Value, new Apache.Arrow.Compression.CompressionCodecFactory(), leaveOpen: true);
        Schema schema;
        int batches;
        long fileRows = 0;
        try
        {
            batches = await reader.RecordBatchCountAsync();
            schema = reader.Schema;
            // The footer lists batches but not their row counts. Counting them costs one extra read
            // of each batch (dropped at once) and lets every column go straight into arrays of the
            // final size, instead of growing arrays that would hold the data twice while copying.
            for (int b = 0; b < batches && fileRows < (maxRows ?? long.MaxValue); b++)
            {
                using var batch = await reader.ReadRecordBatchAsync(b);
                fileRows += batch.Length;
            }
        }
        catch (Exception e) when (e is not DataException)
        {
            throw new DataException($"{path}: not a readable Feather (Arrow IPC) file ({e.Message}); is it truncated, or of another format?", e);
        }

        var names = ColumnarFormats.UserColumns(schema.FieldsList.Select(f => f.Name)).ToList();
        var table = new ColumnarTable(path, map, names, Math.Min(fileRows, maxRows ?? long.MaxValue));
        var needed = table.Needed(names).Select(name => (Name: name, Index: schema.GetFieldIndex(name))).ToList();
        foreach (var (name, index) in needed)
        {
            var type = schema.GetFieldByIndex(index).DataType;
            var valueType = type is DictionaryType dictionary ? dictionary.ValueType : type;
            bool ok = table.IsText(name) ? IsText(valueType) || IsInteger(valueType) : IsNumber(valueType);
            if (!ok) throw table.WrongType(name, type.Name);
        }

        int first = 0;
        for (int b = 0; b < batches && first < table.Rows; b++)
        {
            RecordBatch batch;
            try { batch = await reader.ReadRecordBatchAsync(b); }
            catch (Exception e) when (e is not DataException)
            {
                throw new DataException($"{path}: record batch {b + 1} of {batches} (from row {first + 1}) cannot be read ({e.Message}); is the file truncated or damaged?", e);
            }
            using (batch)
            {
                int count = Math.Min(batch.Length, table.Rows - first);
                foreach (var (name, index) in needed) Column(table, name, first, count, batch.Column(index));
                first += count;
            }
        }
        return table.Finish();
    }

    /// <summary>Feather version 1 (pre-2019 pandas) is another format; say so instead of a footer error.</summary>
    private static void CheckMagic(string path)
    {
        Span<byte> magic = stackalloc byte[6];
        using (var s = File.OpenRead(path))
            if (s.ReadAtLeast(magic, 6, throwOnEndOfStream: false) < 6)
                throw new DataException($"{path}: not a Feather file ({s.Length} bytes; truncated?)");
        if (magic[..4].SequenceEqual("FEA1"u8))
            throw new DataException($"{path}: Feather version 1 file; re-save it with a current pandas/pyarrow (df.to_feather writes version 2, the Arrow IPC format)");
        if (!magic.SequenceEqual("ARROW1"u8))
            throw new DataException($"{path}: not a Feather (Arrow IPC) file: it does not start with ARROW1");
    }

    private static void Column(ColumnarTable table, string name, int first, int count, IArrowArray array)
    {
        if (table.IsText(name))
        {
            var texts = new string?[count];
            for (int i = 0; i < count; i++) texts[i] = Text(array, i);
            table.Texts(name, first, texts);
            return;
        }
        var values = ArrayPool<double>.Shared.Rent(count);
        var nulls = ArrayPool<bool>.Shared.Rent(count);
        try
        {
            bool anyNull = array.NullCount > 0;
            for (int i = 0; i < count && anyNull; i++) nulls[i] = array.IsNull(i);
            var target = values.AsSpan(0, count);
            switch (array)
            {
                case DoubleArray a: a.Values[..count].CopyTo(target); break;
                case FloatArray a: Widen(a.Values, target); break;
                case Int64Array a: Widen(a.Values, target); break;
                case Int32Array a: Widen(a.Values, target); break;
                case Int16Array a: Widen(a.Values, target); break;
                case Int8Array a: Widen(a.Values, target); break;
                case UInt64Array a: Widen(a.Values, target); break;
                case UInt32Array a: Widen(a.Values, target); break;
                case UInt16Array a: Widen(a.Values, target); break;
                case UInt8Array a: Widen(a.Values, target); break;
                case HalfFloatArray a: Widen(a.Values, target); break;
                case BooleanArray a:
                    for (int i = 0; i < count; i++) target[i] = a.GetValue(i) == true ? 1 : 0;
                    break;
                default: throw table.WrongType(name, array.Data.DataType.Name);
            }
            table.Numbers(name, first, target, anyNull ? nulls.AsSpan(0, count) : default);
        }
        finally
        {
            ArrayPool<double>.Shared.Return(values);
            ArrayPool<bool>.Shared.Return(nulls);
        }
    }

    private static void Widen<T>(ReadOnlySpan<T> source, Span<double> target) where T : struct, INumberBase<T>
    {
        for (int i = 0; i < target.Length; i++) target[i] = double.CreateTruncating(source[i]);
    }

    /// <summary>Row <paramref name="i"/> as text: strings of any Arrow layout, dictionary-encoded (pandas category) or not; integers as decimal text.</summary>
    private static string? Text(IArrowArray array, int i)
    {
        if (array.IsNull(i)) return null;
        return array switch
        {
            StringArray s => s.GetString(i),
            LargeStringArray s => s.GetString(i),
            StringViewArray s => s.GetString(i),
            DictionaryArray d => Text(d.Dictionary, DictionaryIndex(d.Indices, i)),
            Int64Array a => a.GetValue(i)!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Int32Array a => a.GetValue(i)!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Int16Array a => a.GetValue(i)!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Int8Array a => a.GetValue(i)!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            UInt8Array a => a.GetValue(i)!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            UInt16Array a => a.GetValue(i)!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            UInt32Array a => a.GetValue(i)!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => throw new InvalidOperationException($"no text for Arrow type {array.Data.DataType.Name}"),
        };
    }

    private static int DictionaryIndex(IArrowArray indices, int i) => indices switch
    {
        Int8Array a => a.GetValue(i)!.Value,
        Int16Array a => a.GetValue(i)!.Value,
        Int32Array a => a.GetValue(i)!.Value,
        Int64Array a => (int)a.GetValue(i)!.Value,
        UInt8Array a => a.GetValue(i)!.Value,
        UInt16Array a => a.GetValue(i)!.Value,
        UInt32Array a => (int)a.GetValue(i)!.Value,
        _ => throw new InvalidOperationException($"dictionary indices of type {indices.Data.DataType.Name}"),
    };

    private static bool IsNumber(IArrowType t) => t.TypeId is ArrowTypeId.Double or ArrowTypeId.Float or ArrowTypeId.HalfFloat
        or ArrowTypeId.Int64 or ArrowTypeId.Int32 or ArrowTypeId.Int16 or ArrowTypeId.Int8
        or ArrowTypeId.UInt64 or ArrowTypeId.UInt32 or ArrowTypeId.UInt16 or ArrowTypeId.UInt8 or ArrowTypeId.Boolean;

    private static bool IsInteger(IArrowType t) => t.TypeId is ArrowTypeId.Int64 or ArrowTypeId.Int32 or ArrowTypeId.Int16 or ArrowTypeId.Int8
        or ArrowTypeId.UInt32 or ArrowTypeId.UInt16 or ArrowTypeId.UInt8;

    private static bool IsText(IArrowType t) => t.TypeId is ArrowTypeId.String or ArrowTypeId.LargeString or ArrowTypeId.StringView;
}
