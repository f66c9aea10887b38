using Studies.Reports.Input;

namespace Studies.Reports;

/// <summary>One row of epochs.csv / epochs.parquet.</summary>
public readonly record struct EpochRow(string TrialId, int Phase, int Epoch, string Metric, double Value, string Method);

/// <summary>One row of mass_metrics.csv / mass_metrics.parquet.</summary>
public readonly record struct MassRow(string TrialId, double Mass, bool Heldout, string Split, string EpochKind, string Metric, double Value, string Method);

/// <summary>One row of summary.csv: one trial.</summary>
/// <param name="OtherSeconds">Wall time outside the training phases: worker start, data loading and preparation, final evaluation (seconds minus training seconds).</param>
public sealed record SummaryRow(string TrialId, string Method, double HeadlineTrained, double HeadlineHeldout, int BestEpoch, int LastEpoch,
    double Seconds, double TrainingSeconds, IReadOnlyList<double> PhaseSeconds, double OtherSeconds);

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
            var method = Analysis.MethodGroups.MethodName(study, t);
            // Phases are stored from 0 (schedule index); exports count them from 1 like every other
            // place a user reads a phase number (summary.csv's phase_1_seconds, the dashboard).
            foreach (var e in t.Result.Epochs)
                foreach (var (metric, value) in Ordered(e.Metrics))
                    yield return new EpochRow(t.TrialId, e.Phase + 1, e.Epoch, metric, value, method);
        }
    }

    public static IEnumerable<MassRow> Masses(StudyRecord study)
    {
        foreach (var t in study.Trials)
        {
            if (t.Result is null) continue;
            var method = Analysis.MethodGroups.MethodName(study, t);
            foreach (var m in t.Result.Masses)
                foreach (var (metric, value) in Ordered(m.Metrics))
                    yield return new MassRow(t.TrialId, m.Mass, m.Heldout, CsvExport.SplitName(m.Split), CsvExport.EpochKindName(m.EpochKind), metric, value, method);
        }
    }

    /// <summary>The most phases any trial of the study recorded a timing for (summary columns phase_1_seconds ...).</summary>
    public static int PhaseCount(StudyRecord study) =>
        study.Trials.Select(t => t.Result?.Phases.Select(p => p.Phase + 1).DefaultIfEmpty(0).Max() ?? 0).DefaultIfEmpty(0).Max();

    /// <summary>One trial's summary: headline averaged over trained and held-out masses (test split, best epoch), epochs, and where its time went.</summary>
    public static SummaryRow Summary(StudyRecord study, TrialRecord t, int phases)
    {
        var r = t.Result;
        var perPhase = new double[phases];
        Array.Fill(perPhase, double.NaN);
        foreach (var p in r?.Phases ?? []) if (p.Phase < phases) perPhase[p.Phase] = p.Seconds;
        var training = r is null || r.Phases.Count == 0 ? double.NaN : r.Phases.Sum(p => p.Seconds);
        return new SummaryRow(t.TrialId, Analysis.MethodGroups.MethodName(study, t),
            r is null ? double.NaN : Analysis.ReportMath.MassAverage(r, study.Headline, heldout: false),
            r is null ? double.NaN : Analysis.ReportMath.MassAverage(r, study.Headline, heldout: true),
            r?.BestEpoch ?? 0, r?.LastEpoch ?? 0, t.Seconds, training, perPhase,
            double.IsFinite(training) ? Math.Max(0, t.Seconds - training) : double.NaN);
    }

    private static IEnumerable<KeyValuePair<string, double>> Ordered(IReadOnlyDictionary<string, double> metrics) =>
        metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal);
}
