using Parquet;
using Parquet.Schema;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports;

/// <summary>
/// The CSV exports as Parquet (trials.parquet, epochs.parquet, mass_metrics.parquet): the same
/// columns under the same names, typed (integers, doubles, booleans, strings), snappy-compressed,
/// so <c>pandas.read_parquet</c> gives the frame <c>read_csv</c> would, without parsing.
/// </summary>
public static class ParquetExport
{
    public const string TrialsFile = "trials.parquet";
    public const string EpochsFile = "epochs.parquet";
    public const string MassMetricsFile = "mass_metrics.parquet";

    public static void Write(StudyRecord study, string directory) => WriteAsync(study, directory).GetAwaiter().GetResult();

    public static async Task WriteAsync(StudyRecord study, string directory, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(study);
        Directory.CreateDirectory(directory);

        var axes = CsvExport.AxisColumns(study);
        var trials = new List<Column>
        {
            Column.Of("trial_id", study.Trials.Select(t => t.TrialId)),
            Column.Of("state", study.Trials.Select(t => t.State.Name())),
            Column.Of("attempts", study.Trials.Select(t => t.Attempts)),
            Column.Of("seconds", study.Trials.Select(t => t.Seconds)),
            Column.Of("study", study.Trials.Select(_ => study.Name)),
            Column.Of("method", study.Trials.Select(t => Analysis.MethodGroups.MethodName(study, t))),
        };
        trials.AddRange(axes.Select(a => AxisColumn(a, study.Trials.Select(t => t.Axes.GetValueOrDefault(a, "")).ToList())));
        await WriteFileAsync(Path.Combine(directory, TrialsFile), trials, ct);

        var epochs = ExportRows.Epochs(study).ToList();
        await WriteFileAsync(Path.Combine(directory, EpochsFile),
        [
            Column.Of("trial_id", epochs.Select(r => r.TrialId)), Column.Of("phase", epochs.Select(r => r.Phase)),
            Column.Of("epoch", epochs.Select(r => r.Epoch)), Column.Of("metric", epochs.Select(r => r.Metric)),
            Column.Of("value", epochs.Select(r => r.Value)), Column.Of("study", epochs.Select(_ => study.Name)),
            Column.Of("method", epochs.Select(r => r.Method)),
        ], ct);

        var masses = ExportRows.Masses(study).ToList();
        await WriteFileAsync(Path.Combine(directory, MassMetricsFile),
        [
            Column.Of("trial_id", masses.Select(r => r.TrialId)), Column.Of("mass", masses.Select(r => r.Mass)),
            Column.Of("heldout", masses.Select(r => r.Heldout)), Column.Of("split", masses.Select(r => r.Split)),
            Column.Of("epoch_kind", masses.Select(r => r.EpochKind)), Column.Of("metric", masses.Select(r => r.Metric)),
            Column.Of("value", masses.Select(r => r.Value)), Column.Of("study", masses.Select(_ => study.Name)),
            Column.Of("method", masses.Select(r => r.Method)),
        ], ct);
    }

    /// <summary>
    /// An axis typed by its values: float64 when every value is a number (seed, lr, a width; NaN
    /// where a trial lacks the axis), else string (variant names, lists such as hidden [16, 8]).
    /// </summary>
    private static Column AxisColumn(string name, IReadOnlyList<string> labels)
    {
        var numbers = new double[labels.Count];
        for (var i = 0; i < labels.Count; i++)
        {
            if (labels[i].Length == 0) numbers[i] = double.NaN;
            else if (!double.TryParse(labels[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out numbers[i]))
                return Column.Of(name, labels);
        }
        return labels.All(l => l.Length == 0) ? Column.Of(name, labels) : Column.Of(name, numbers);
    }

    /// <summary>A named, typed column and how to write it into a row group.</summary>
    private sealed record Column(DataField Field, Func<ParquetRowGroupWriter, CancellationToken, Task> Write)
    {
        public static Column Of(string name, IEnumerable<string> values)
        {
            var field = new DataField<string>(name, false);
            var data = values.ToArray();
            return new Column(field, (g, _) => g.WriteAsync(field, data));
        }

        public static Column Of<T>(string name, IEnumerable<T> values) where T : struct
        {
            var field = new DataField<T>(name, false);
            var data = values.ToArray();
            return new Column(field, (g, ct) => g.WriteAsync(field, new ReadOnlyMemory<T>(data), null, null, ct));
        }
    }

    private static async Task WriteFileAsync(string path, IReadOnlyList<Column> columns, CancellationToken ct)
    {
        await using var stream = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(columns.Select(c => (Field)c.Field)), stream,
            new ParquetOptions { CompressionMethod = CompressionMethod.Snappy }, cancellationToken: ct);
        using var group = writer.CreateRowGroup();
        foreach (var c in columns) await c.Write(group, ct);
    }
}
