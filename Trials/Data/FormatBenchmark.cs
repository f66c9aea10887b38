using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Parquet;
using Parquet.Schema;

namespace Studies.Trials.Data;

/// <summary>
/// Loads the same HEPMASS-shaped rows (label, 27 features, mass; all float64, as pandas reads the
/// HEPMASS CSV) from CSV, Feather and Parquet files through their data sources, interleaving the
/// formats and repeating, and reports the best time per format with the spread. Files are written
/// as pandas would by default: every column nullable (pandas' schema says so, with no nulls in
/// it), Feather LZ4-compressed in 64Ki-row batches, Parquet snappy in row groups of up to 1Mi rows
/// (pyarrow's default since version 13; before, one group). Not matched: pyarrow dictionary-encodes
/// a float column until its dictionary reaches 1 MB (about 128Ki distinct values) and writes plain
/// after that, in 1 MB pages; Parquet.Net writes the floats plain.
/// </summary>
public static class FormatBenchmark
{
    public static readonly string[] Formats = ["csv", "feather", "parquet"];
    private const int Features = 27;

    /// <summary>Best load seconds per format.</summary>
    public static IReadOnlyDictionary<string, double> Run(int rows, IReadOnlyList<string> formats, int repeats, TextWriter output)
    {
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), "need at least one row");
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), "need at least one repeat");
        foreach (var f in formats)
            if (!Formats.Contains(f)) throw new ArgumentException($"unknown format '{f}' (known: {string.Join(", ", Formats)})");
        var dir = Path.Combine(Path.GetTempPath(), $"data-benchmark-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var csv = Path.Combine(dir, "hepmass.csv");
            LoaderBenchmark.WriteHepmassLike(csv, rows, seed: 1);
            // The other formats hold exactly the CSV's values: parsed once here, outside the timing.
            var columns = ReadColumns(csv);
            var paths = new Dictionary<string, string> { ["csv"] = csv };
            if (formats.Contains("feather")) WriteFeather(paths["feather"] = Path.Combine(dir, "hepmass.feather"), columns, rows);
            if (formats.Contains("parquet")) WriteParquet(paths["parquet"] = Path.Combine(dir, "hepmass.parquet"), columns, rows);
            foreach (var f in formats)
                output.WriteLine($"{f}: {rows} rows, {new FileInfo(paths[f]).Length / 1e6:F1} MB");

            var times = formats.ToDictionary(f => f, _ => new List<double>());
            for (int repeat = 0; repeat < repeats; repeat++)
            {
                // Interleaved so a slow moment of the shared machine hits every format alike.
                foreach (var f in formats)
                {
                    GC.Collect();
                    var watch = Stopwatch.StartNew();
                    var events = DataSources.Get(f).Load(new JsonObject { ["path"] = paths[f] }, 0);
                    times[f].Add(watch.Elapsed.TotalSeconds);
                    if (events.Count != rows || events.FeatureCount != Features) throw new InvalidOperationException($"{f}: loaded {events.Count} x {events.FeatureCount}");
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  repeat {repeat + 1} {f,-7} {times[f][^1]:F3} s"));
                }
            }
            var best = times.ToDictionary(kv => kv.Key, kv => kv.Value.Min());
            foreach (var f in formats)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{f,-7} best {best[f]:F3} s, worst {times[f].Max():F3} s over {repeats} repeats; {rows / best[f]:F0} rows/s"));
            var head = formats.Contains("parquet") ? "parquet" : formats[0];
            var versus = head != "csv" && best.TryGetValue("csv", out var csvBest)
                ? string.Create(CultureInfo.InvariantCulture, $" ({csvBest / best[head]:F1}x faster than csv at {csvBest:F2} s)")
                : "";
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{head} load: {best[head]:F2} s for {rows} rows{versus}"));
            return best;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Column names and values of the generated CSV: label, f0..f26, mass.</summary>
    private static (string Name, double[] Values)[] ReadColumns(string csv)
    {
        var table = CsvTable.Read(csv, new ColumnMap(Features: null), maxRows: null);
        int n = table.Rows, d = table.FeatureNames.Length;
        var result = new List<(string, double[])> { ("label", table.Label.Select(l => (double)l).ToArray()) };
        for (int j = 0; j < d; j++)
        {
            var column = new double[n];
            for (int r = 0; r < n; r++) column[r] = table.Features[(long)r * d + j];
            result.Add((table.FeatureNames[j], column));
        }
        result.Add(("mass", table.Mass));
        return [.. result];
    }

    private static void WriteFeather(string path, (string Name, double[] Values)[] columns, int rows)
    {
        var schema = new Schema(columns.Select(c => new Apache.Arrow.Field(c.Name, DoubleType.Default, nullable: true)), null);
        using var stream = File.Create(path);
        var options = new IpcOptions { CompressionCodecFactory = new Apache.Arrow.Compression.CompressionCodecFactory(), CompressionCodec = CompressionCodecType.Lz4Frame };
        using var writer = new ArrowFileWriter(stream, schema, leaveOpen: false, options);
        const int batch = 64 * 1024;
        for (int start = 0; start < rows; start += batch)
        {
            int length = Math.Min(batch, rows - start);
            var arrays = columns.Select(c => (IArrowArray)new DoubleArray(
                new ArrowBuffer(MemoryMarshal.AsBytes(c.Values.AsSpan(start, length)).ToArray()), ArrowBuffer.Empty, length, 0, 0));
            using var recordBatch = new RecordBatch(schema, arrays, length);
            writer.WriteRecordBatch(recordBatch);
        }
        writer.WriteEnd();
    }

    private static void WriteParquet(string path, (string Name, double[] Values)[] columns, int rows) =>
        WriteParquetAsync(path, columns, rows).GetAwaiter().GetResult();

    private static async Task WriteParquetAsync(string path, (string Name, double[] Values)[] columns, int rows)
    {
        var fields = columns.Select(c => new DataField<double?>(c.Name)).ToArray();
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), stream, new ParquetOptions { CompressionMethod = CompressionMethod.Snappy });
        const int group = 1 << 20;
        for (int start = 0; start < rows; start += group)
        {
            int length = Math.Min(group, rows - start);
            using var g = writer.CreateRowGroup();
            for (int c = 0; c < columns.Length; c++)
                await g.WriteAsync(fields[c], new ReadOnlyMemory<double?>(columns[c].Values[start..(start + length)].Select(v => (double?)v).ToArray()));
        }
    }
}
