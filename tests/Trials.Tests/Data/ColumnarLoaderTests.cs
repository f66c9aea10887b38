using System.Text.Json;
using System.Text.Json.Nodes;
using Parquet;
using Parquet.Schema;
using Studies.Trials.Data;

namespace Studies.Trials.Tests.Data;

/// <summary>
/// The feather and parquet loaders on files written by Polars (Data/Fixtures/make-fixtures.mjs):
/// every variant reads back equal to the values the script wrote (expected.json).
/// </summary>
public sealed class ColumnarLoaderTests : IDisposable
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Data", "Fixtures");
    private readonly string _dir = DataTestKit.TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed record Expected(double[] f0, double[] f1, double[] f2, int[] label, double?[] mass, double[] weight, string[] process, double[] window);

    private static readonly Expected Source = JsonSerializer.Deserialize<Expected>(File.ReadAllText(Path.Combine(Fixtures, "expected.json")))!;

    private static JsonObject AllColumns => new()
    {
        ["features"] = new JsonArray("f0", "f1", "f2"), ["label"] = "label", ["mass"] = "mass",
        ["weight"] = "weight", ["process"] = "process", ["window"] = "window",
    };

    private static ColumnMap Map(JsonObject columns) =>
        ColumnMap.Parse(new DataOptions("test", new JsonObject { ["columns"] = columns }, ["columns"]), "columns");

    public static TheoryData<string> Files => new()
    {
        "events-uncompressed.feather", "events-lz4.feather", "events-zstd.feather", "events-categorical.feather",
        "events-uncompressed.parquet", "events-snappy.parquet", "events-gzip.parquet", "events-zstd.parquet", "events-categorical.parquet",
    };

    private static RawTable Read(string path, ColumnMap map, long? maxRows = null) =>
        path.EndsWith(".feather", StringComparison.Ordinal) ? FeatherTable.Read(path, map, maxRows) : ParquetTable.Read(path, map, maxRows);

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_variant_reads_back_the_values_the_reference_writer_wrote(string name)
    {
        var table = Read(Path.Combine(Fixtures, name), Map(AllColumns));
        int n = Source.label.Length;
        Assert.Equal(n, table.Rows);
        Assert.Equal(["f0", "f1", "f2"], table.FeatureNames);
        for (int r = 0; r < n; r++)
        {
            Assert.Equal((float)Source.f0[r], table.Features[3 * r]);
            Assert.Equal((float)Source.f1[r], table.Features[3 * r + 1]);
            Assert.Equal((float)Source.f2[r], table.Features[3 * r + 2]);
        }
        Assert.Equal(Source.label.Select(l => (byte)l), table.Label);
        // Null masses (background rows without one) read as NaN; stored ones exactly.
        Assert.Equal(Source.mass.Select(m => m ?? double.NaN), table.Mass);
        Assert.Contains(Source.mass, m => m is null);
        Assert.Equal(Source.weight, table.Weight!);
        Assert.Equal(Source.window, table.Window!);
        Assert.Equal(Source.process, table.Process!);
    }

    [Theory]
    [InlineData("events-lz4.feather", "feather")]
    [InlineData("events-zstd.parquet", "parquet")]
    public void Sources_build_events_with_every_unmapped_column_a_feature_and_max_rows(string name, string source)
    {
        var options = new JsonObject
        {
            ["path"] = Path.Combine(Fixtures, name),
            ["columns"] = new JsonObject { ["weight"] = "weight", ["process"] = "process", ["window"] = "window" },
            ["window_width"] = 10.0, ["max_rows"] = 30,
        };
        var set = DataSources.Get(source).Load(options, 0);
        Assert.Equal(30, set.Count);
        Assert.Equal(["f0", "f1", "f2"], set.FeatureNames);
        Assert.Equal([500.0, 750, 1000], set.Masses);
        Assert.Equal(["signal", "wjets", "ttbar"], set.ProcessNames); // signal first, then by first appearance
        Assert.Equal(Source.weight.Take(30), set.Weight);
        Assert.Equal(Source.mass.Take(30).Select(m => m ?? double.NaN), set.StoredMass!);
    }

    [Theory]
    [InlineData("events-uncompressed.feather")]
    [InlineData("events-snappy.parquet")]
    public void A_missing_column_is_named_with_the_file(string name)
    {
        var path = Path.Combine(Fixtures, name);
        var columns = AllColumns;
        columns["mass"] = "m_wwbb";
        var e = Assert.Throws<DataException>(() => Read(path, Map(columns)));
        Assert.Contains(path, e.Message);
        Assert.Contains("mass column 'm_wwbb' not found", e.Message);
        Assert.Contains("f0, f1, f2, label, mass, weight, process, window", e.Message);
    }

    [Theory]
    [InlineData("mass-as-text.feather")]
    [InlineData("mass-as-text.parquet")]
    public void A_column_of_the_wrong_type_is_named_with_the_file_and_its_type(string name)
    {
        var path = Path.Combine(Fixtures, name);
        var e = Assert.Throws<DataException>(() => Read(path, Map(AllColumns)));
        Assert.Contains(path, e.Message);
        Assert.Contains("column 'mass' has type", e.Message);
        Assert.Contains("the mass column needs numbers", e.Message);
    }

    [Theory]
    [InlineData("events-uncompressed.feather")]
    [InlineData("events-uncompressed.parquet")]
    public void A_process_column_of_floats_is_refused_with_its_type(string name)
    {
        var path = Path.Combine(Fixtures, name);
        var columns = AllColumns;
        columns["features"] = new JsonArray("f0", "f2");
        columns["process"] = "f1";
        var e = Assert.Throws<DataException>(() => Read(path, Map(columns)));
        Assert.StartsWith($"{path}: column 'f1' has type ", e.Message);
        Assert.EndsWith("; the process column needs text or integers", e.Message);
    }

    [Theory]
    [InlineData("events-zstd.feather", 0.5)]
    [InlineData("events-zstd.feather", 0.95)]
    [InlineData("events-gzip.parquet", 0.5)]
    [InlineData("events-gzip.parquet", 0.95)]
    public void A_truncated_file_is_one_clear_error_naming_the_file(string name, double keep)
    {
        var bytes = File.ReadAllBytes(Path.Combine(Fixtures, name));
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes[..(int)(bytes.Length * keep)]);
        var e = Assert.Throws<DataException>(() => Read(path, Map(AllColumns)));
        Assert.StartsWith(path + ": ", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void A_null_in_a_feature_is_an_error_naming_the_row_and_column_but_a_background_mass_may_be_null()
    {
        // The mass column holds nulls on background rows: mapped as a feature, they are an error.
        var path = Path.Combine(Fixtures, "events-uncompressed.parquet");
        var columns = AllColumns;
        columns["features"] = new JsonArray("f0", "mass");
        columns["mass"] = "f2";
        var e = Assert.Throws<DataException>(() => Read(path, Map(columns)));
        int firstNull = Array.FindIndex(Source.mass, m => m is null);
        Assert.Equal($"{path}: row {firstNull + 1}: column 'mass' is empty (null); only the mass of background rows may be", e.Message);
    }

    [Theory]
    [InlineData(1, 0L, null)]
    [InlineData(3, 1L, null)]
    [InlineData(4, 1L, 40_500L)]
    public async Task Row_groups_and_columns_read_in_parallel_batches_equal_the_written_values(int workers, long batchBytes, long? maxRows)
    {
        // Several row groups of unequal size and columns of several types, read by one worker, or
        // by several in batches of as few columns as there are workers (batchBytes 1), or cut by
        // max_rows inside a row group: every way must give the written values in file order.
        int[] groups = [40_000, 700, 1, 299]; // the first spans several slices of the parallel feature writing
        int n = groups.Sum();
        var rng = new Random(7);
        var f0 = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 10 - 5).ToArray();
        var f1 = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
        var f2 = Enumerable.Range(0, n).Select(_ => rng.Next(-100, 100)).ToArray();
        var f3 = Enumerable.Range(0, n).Select(_ => (double?)rng.NextDouble()).ToArray();
        var label = Enumerable.Range(0, n).Select(r => (long)(r % 3 == 0 ? 1 : 0)).ToArray();
        var mass = Enumerable.Range(0, n).Select(r => label[r] == 1 ? (double?)(500 + 250 * (r % 4)) : null).ToArray();
        var process = Enumerable.Range(0, n).Select(r => label[r] == 1 ? "signal" : r % 2 == 0 ? "ttbar" : "wjets").ToArray();
        var path = Path.Combine(_dir, "groups.parquet");
        var processField = new DataField<string>("process");
        await WriteGroups(path, groups,
            Values(new DataField<double>("f0"), f0), Values(new DataField<float>("f1"), f1), Values(new DataField<int>("f2"), f2),
            Nullable(new DataField<double?>("f3"), f3), Values(new DataField<long>("label"), label), Nullable(new DataField<double?>("mass"), mass),
            (processField, async (g, start, size) => await g.WriteAsync(processField, new ArraySegment<string>(process, start, size))));

        var columns = new JsonObject { ["features"] = new JsonArray("f0", "f1", "f2", "f3"), ["process"] = "process" };
        var table = ParquetTable.Read(path, Map(columns), maxRows, workers, batchBytes);

        int rows = (int)(maxRows ?? n);
        Assert.Equal(rows, table.Rows);
        Assert.Equal(["f0", "f1", "f2", "f3"], table.FeatureNames);
        for (int r = 0; r < rows; r++)
        {
            Assert.Equal([(float)f0[r], f1[r], f2[r], (float)f3[r]!.Value], table.Features.AsSpan(r * 4, 4).ToArray());
            Assert.Equal(label[r], table.Label[r]);
            Assert.Equal(mass[r] ?? double.NaN, table.Mass[r]);
            Assert.Equal(process[r], table.Process![r]);
        }
    }

    private delegate Task WritePart(ParquetRowGroupWriter group, int start, int size);

    private static (DataField, WritePart) Values<T>(DataField<T> field, T[] values) where T : struct =>
        (field, async (g, start, size) => await g.WriteAsync(field, new ReadOnlyMemory<T>(values, start, size)));

    private static (DataField, WritePart) Nullable<T>(DataField<T?> field, T?[] values) where T : struct =>
        (field, async (g, start, size) => await g.WriteAsync(field, new ReadOnlyMemory<T?>(values, start, size)));

    private static async Task WriteGroups(string path, int[] groups, params (DataField Field, WritePart Write)[] columns)
    {
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(columns.Select(c => c.Field).ToArray()), stream);
        int start = 0;
        foreach (var size in groups)
        {
            using var group = writer.CreateRowGroup();
            foreach (var (_, write) in columns) await write(group, start, size);
            start += size;
        }
    }
}
