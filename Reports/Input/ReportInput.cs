using Studies.Trials.Results;

namespace Studies.Reports.Input;

/// <summary>What a report is made from: one study, or several compared side by side.</summary>
public sealed record ReportInput
{
    public required IReadOnlyList<StudyRecord> Studies { get; init; }
    /// <summary>Figures already written as files (studies report --figures), their files relative to the report's folder: linked from the report.</summary>
    public IReadOnlyList<Figures.PaperFigure> Figures { get; init; } = [];
}

/// <summary>One study as stored: its definition, which axes define a method, and every trial.</summary>
public sealed record StudyRecord
{
    public required string Name { get; init; }
    public string Description { get; init; } = "";
    /// <summary>The study file as written, shown verbatim in the report.</summary>
    public string DefinitionText { get; init; } = "";
    /// <summary>Axes whose value combination names a compared method (e.g. "model.kind", "schedule"); trials differing in any other axis (seed, hyperparameters) are repetitions of that method.</summary>
    public IReadOnlyList<string> CompareAxes { get; init; } = [];
    /// <summary>The metric the ranking is ordered by.</summary>
    public string Headline { get; init; } = MetricNames.SigmaMinBestCut;
    public IReadOnlyList<TrialRecord> Trials { get; init; } = [];
    /// <summary>Git commit, host, libtorch and BLAS versions, and anything else worth recording.</summary>
    public IReadOnlyDictionary<string, string> Provenance { get; init; } = new Dictionary<string, string>();
    /// <summary>A hyperparameter search: adds parallel coordinates and metric-versus-hyperparameter charts.</summary>
    public bool IsSearch { get; init; }
    /// <summary>A search's objectives (validation metrics at the trained masses, the first the samplers optimise); empty when it named none.</summary>
    public IReadOnlyList<string> SearchObjectives { get; init; } = [];
    /// <summary>Units of masses, cross-sections and luminosity, from the data source.</summary>
    public StudyUnits Units { get; init; } = StudyUnits.Default;
    /// <summary>Settings that differ between the compared methods beyond the compared axes (from the resolved specs; see <see cref="Analysis.Fairness"/>).</summary>
    public IReadOnlyList<Analysis.SettingDifference> SettingDifferences { get; init; } = [];
}

/// <summary>One trial of a study: where it stands and, once it ran, what it produced.</summary>
public sealed record TrialRecord
{
    public required string TrialId { get; init; }
    public required TrialState State { get; init; }
    public int Attempts { get; init; }
    /// <summary>Wall time spent on the trial over all attempts.</summary>
    public double Seconds { get; init; }
    public string Device { get; init; } = "";
    public string? Error { get; init; }
    /// <summary>Axis name to value label; includes "seed".</summary>
    public IReadOnlyDictionary<string, string> Axes { get; init; } = new Dictionary<string, string>();
    public TrialResult? Result { get; init; }
}
