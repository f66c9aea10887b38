using Studies.Reports.Input;

namespace Studies.Reports;

/// <summary>One row of epochs.csv / epochs.parquet.</summary>
public readonly record struct EpochRow(string TrialId, int Phase, int Epoch, string Metric, double Value);

/// <summary>One row of mass_metrics.csv / mass_metrics.parquet.</summary>
public readonly record struct MassRow(string TrialId, double Mass, bool Heldout, string Split, string EpochKind, string Metric, double Value);

/// <summary>
/// The long-format rows every export writes, whatever the file format: one row per metric after
/// the columns that say where it belongs, metrics in ordinal order within a row group.
/// </summary>
public static class ExportRows
{
    public static IEnumerable<EpochRow> Epochs(StudyRecord study)
    {
        foreach (var t in study.Trials)
        {
            if (t.Result is null) continue;
            foreach (var e in t.Result.Epochs)
                foreach (var (metric, value) in Ordered(e.Metrics))
                    yield return new EpochRow(t.TrialId, e.Phase, e.Epoch, metric, value);
        }
    }

    public static IEnumerable<MassRow> Masses(StudyRecord study)
    {
        foreach (var t in study.Trials)
        {
            if (t.Result is null) continue;
            foreach (var m in t.Result.Masses)
                foreach (var (metric, value) in Ordered(m.Metrics))
                    yield return new MassRow(t.TrialId, m.Mass, m.Heldout, CsvExport.SplitName(m.Split), CsvExport.EpochKindName(m.EpochKind), metric, value);
        }
    }

    private static IEnumerable<KeyValuePair<string, double>> Ordered(IReadOnlyDictionary<string, double> metrics) =>
        metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal);
}
