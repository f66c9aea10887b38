using Parquet;
using Parquet.Schema;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports.Tests;

/// <summary>The Parquet export holds exactly the CSV export's columns and values, typed.</summary>
public sealed class ParquetExportTests
{
    private static StudyRecord Study()
    {
        var metrics = new Dictionary<string, double> { ["roc_auc"] = 0.1 + 0.2, ["sigma_min_best_cut"] = 1.0 / 3.0, ["z_best"] = double.NaN };
        var completed = Records.Completed("t1", new Dictionary<string, string> { ["model.kind"] = "pnn", ["seed"] = "1", ["note"] = "a, \"b\"" },
            [Records.Mass(0.5, false, metrics), Records.Mass(1.5, true, metrics, SplitKind.Validation, EpochKind.Last)],
            [
                new EpochRecord(0, 1, new Dictionary<string, double> { ["loss"] = Math.PI, ["lr"] = 0.05 }),
                new EpochRecord(1, 2, new Dictionary<string, double> { ["loss"] = double.NaN }),
            ]);
        var failed = new TrialRecord { TrialId = "t2", State = TrialState.Failed, Attempts = 3, Seconds = 1.25, Axes = new Dictionary<string, string> { ["model.kind"] = "dnn", ["seed"] = "2" } };
        return new StudyRecord { Name = "export", CompareAxes = ["model.kind"], Trials = [completed, failed] };
    }

    /// <summary>A Parquet file rendered as the CSV export would write it: header, then one line per row.</summary>
    private static async Task<string[]> AsCsvLines(string path)
    {
        await using var reader = await ParquetReader.CreateAsync(path);
        var fields = reader.Schema.DataFields;
        var columns = new List<string[]>();
        var group = reader.OpenRowGroupReader(0);
        int n = (int)group.RowCount;
        foreach (var f in fields)
        {
            string[] text;
            if (f.ClrType == typeof(double)) { var v = new double[n]; await group.ReadAsync(f, v.AsMemory()); text = v.Select(CsvExport.Number).ToArray(); }
            else if (f.ClrType == typeof(int)) { var v = new int[n]; await group.ReadAsync(f, v.AsMemory()); text = v.Select(x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray(); }
            else if (f.ClrType == typeof(bool)) { var v = new bool[n]; await group.ReadAsync(f, v.AsMemory()); text = v.Select(x => x ? "true" : "false").ToArray(); }
            else { var v = new string?[n]; await group.ReadAsync(f, v.AsMemory()); text = v.Select(x => CsvExport.Field(x!)).ToArray(); }
            columns.Add(text);
        }
        Assert.Equal(1, reader.RowGroupCount);
        return [string.Join(',', fields.Select(f => f.Name)), .. Enumerable.Range(0, n).Select(r => string.Join(',', columns.Select(c => c[r])))];
    }

    [Theory]
    [InlineData("trials")]
    [InlineData("epochs")]
    [InlineData("mass_metrics")]
    public async Task Each_parquet_file_holds_the_csv_files_columns_and_values(string name)
    {
        var dir = Directory.CreateTempSubdirectory("reports-parquet-");
        try
        {
            CsvExport.Write(Study(), dir.FullName);
            await ParquetExport.WriteAsync(Study(), dir.FullName);
            var csv = File.ReadAllText(Path.Combine(dir.FullName, name + ".csv")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(csv.Length > 2);
            Assert.Equal(csv, await AsCsvLines(Path.Combine(dir.FullName, name + ".parquet")));
            if (name == "trials")
            {
                // Axes typed: a numeric axis is float64, a named one text.
                await using var reader = await ParquetReader.CreateAsync(Path.Combine(dir.FullName, "trials.parquet"));
                Assert.Equal(typeof(double), reader.Schema.DataFields.Single(f => f.Name == "seed").ClrType);
                Assert.NotEqual(typeof(double), reader.Schema.DataFields.Single(f => f.Name == "model.kind").ClrType); // text (Parquet.Net reads it as characters)
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
