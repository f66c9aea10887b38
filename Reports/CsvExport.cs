using System.Globalization;
using System.Text;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports;

/// <summary>
/// Writes a study's trials, training curves and per-mass metrics as long-format CSV files
/// (trials.csv, epochs.csv, mass_metrics.csv) for analysis outside the report. Numbers use the
/// invariant culture and round-trip exactly ("R"), so a re-read CSV reproduces every table.
/// </summary>
public static class CsvExport
{
    public const string TrialsFile = "trials.csv";
    public const string EpochsFile = "epochs.csv";
    public const string MassMetricsFile = "mass_metrics.csv";
    public const string PairedFile = "paired.csv";
    public const string SummaryFile = "summary.csv";

    /// <param name="massMetrics">
    /// Also write mass_metrics.csv. The report leaves it out: long format over every mass, split,
    /// epoch kind and metric, it is 174 MB for the 1,000-trial report benchmark and was half of the
    /// report's time; summary.csv carries each trial's headline, and <c>studies export</c> writes it.
    /// </param>
    public static void Write(StudyRecord study, string directory, bool massMetrics = true)
    {
        ArgumentNullException.ThrowIfNull(study);
        Directory.CreateDirectory(directory);
        WriteSummary(study, Path.Combine(directory, SummaryFile));
        WriteTrials(study, Path.Combine(directory, TrialsFile));
        WriteEpochs(study, Path.Combine(directory, EpochsFile));
        if (massMetrics) WriteMassMetrics(study, Path.Combine(directory, MassMetricsFile));
    }

    /// <summary>summary.csv: one row per trial, what a notebook wants first.</summary>
    private static void WriteSummary(StudyRecord study, string path)
    {
        var axes = AxisColumns(study);
        var phases = ExportRows.PhaseCount(study);
        using var w = Open(path);
        w.Write("study,method,trial_id,state");
        foreach (var axis in axes) { w.Write(','); w.Write(Field(axis)); }
        w.Write(",headline,headline_trained,headline_heldout,best_epoch,last_epoch,seconds,training_seconds");
        for (var p = 1; p <= phases; p++) w.Write($",phase_{p}_seconds");
        w.Write(",other_seconds\n");
        foreach (var t in study.Trials)
        {
            var s = ExportRows.Summary(study, t, phases);
            w.Write(string.Join(',', Field(study.Name), Field(s.Method), Field(t.TrialId), Field(t.State.Name())));
            foreach (var axis in axes) { w.Write(','); w.Write(Field(t.Axes.GetValueOrDefault(axis, ""))); }
            w.Write(string.Join(',', "", Field(study.Headline), Number(s.HeadlineTrained), Number(s.HeadlineHeldout),
                s.BestEpoch.ToString(CultureInfo.InvariantCulture), s.LastEpoch.ToString(CultureInfo.InvariantCulture),
                Number(s.Seconds), Number(s.TrainingSeconds)));
            foreach (var p in s.PhaseSeconds) { w.Write(','); w.Write(Number(p)); }
            w.Write(',');
            w.Write(Number(s.OtherSeconds));
            w.Write('\n');
        }
    }

    /// <summary>Axis names in order of first appearance, so columns follow the study file rather than the alphabet.</summary>
    public static IReadOnlyList<string> AxisColumns(StudyRecord study)
    {
        var seen = new List<string>();
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var trial in study.Trials)
            foreach (var axis in trial.Axes.Keys)
                if (set.Add(axis)) seen.Add(axis);
        return seen;
    }

    private static void WriteTrials(StudyRecord study, string path)
    {
        var axes = AxisColumns(study);
        using var w = Open(path);
        w.Write("trial_id,state,attempts,seconds,study,method");
        foreach (var axis in axes) { w.Write(','); w.Write(Field(axis)); }
        w.Write('\n');
        foreach (var t in study.Trials)
        {
            w.Write(Field(t.TrialId)); w.Write(',');
            w.Write(Field(t.State.Name())); w.Write(',');
            w.Write(t.Attempts.ToString(CultureInfo.InvariantCulture)); w.Write(',');
            w.Write(Number(t.Seconds)); w.Write(',');
            w.Write(Field(study.Name)); w.Write(',');
            w.Write(Field(Analysis.MethodGroups.MethodName(study, t)));
            foreach (var axis in axes)
            {
                w.Write(',');
                w.Write(Field(t.Axes.GetValueOrDefault(axis, "")));
            }
            w.Write('\n');
        }
    }

    private static void WriteEpochs(StudyRecord study, string path)
    {
        using var w = Open(path);
        w.Write("trial_id,phase,epoch,metric,value,study,method\n");
        var studyName = Field(study.Name);
        foreach (var r in ExportRows.Epochs(study))
            w.Write($"{Field(r.TrialId)},{r.Phase.ToString(CultureInfo.InvariantCulture)},{r.Epoch.ToString(CultureInfo.InvariantCulture)},{Field(r.Metric)},{Number(r.Value)},{studyName},{Field(r.Method)}\n");
    }

    private static void WriteMassMetrics(StudyRecord study, string path)
    {
        using var w = Open(path);
        w.Write("trial_id,mass,heldout,split,epoch_kind,metric,value,study,method\n");
        var studyName = Field(study.Name);
        foreach (var r in ExportRows.Masses(study))
            w.Write($"{Field(r.TrialId)},{Number(r.Mass)},{(r.Heldout ? "true" : "false")},{r.Split},{r.EpochKind},{Field(r.Metric)},{Number(r.Value)},{studyName},{Field(r.Method)}\n");
    }

    /// <summary>
    /// paired.csv: one row per method pair and mass set (trained / held-out): the seed pairs, the mean
    /// paired difference A - B of the metric with its 95 % t interval, and the pairs A wins.
    /// </summary>
    public static void WritePaired(IReadOnlyList<Analysis.PairedRow> rows, string path)
    {
        using var w = Open(path);
        w.Write("study,method_a,method_b,masses,metric,pairs,mean_difference,ci95_low,ci95_high,wins_a\n");
        foreach (var r in rows)
        {
            w.Write(string.Join(',', Field(r.A.Study.Name), Field(r.A.Method), Field(r.B.Method), r.Heldout ? "heldout" : "trained", Field(r.Metric),
                r.Pairs.ToString(CultureInfo.InvariantCulture), Number(r.MeanDifference), Number(r.Low), Number(r.High),
                r.WinsA.ToString(CultureInfo.InvariantCulture)));
            w.Write('\n');
        }
    }

    public static string SplitName(SplitKind split) => split == SplitKind.Test ? "test" : "validation";

    public static string EpochKindName(EpochKind kind) => kind == EpochKind.Best ? "best" : "last";

    /// <summary>Shortest text that parses back to the same double ("R"); NaN and infinities as .NET writes them.</summary>
    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>RFC 4180 quoting: only fields holding a comma, quote or line break are quoted.</summary>
    public static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static StreamWriter Open(string path) =>
        new(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1 << 16) { NewLine = "\n" };
}
