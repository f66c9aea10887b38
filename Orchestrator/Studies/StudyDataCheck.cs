using Studies.Trials.Catalog;
using Studies.Trials.Data;

namespace Studies.Orchestrator.Studies;

/// <summary>
/// The data half of validation (<c>studies check</c>, and before <c>run</c>, <c>run --dry-run</c>
/// and <c>submit</c>): each distinct data source of a study is loaded once and checked
/// (<see cref="DataChecks"/>), then split as each distinct data definition (holdout, split) of its
/// trials asks. Generators are loaded with the first trial's seed: the checks look at what the
/// options produce, not at one seed's events.
/// </summary>
public static class StudyDataCheck
{
    /// <param name="filesOnly">Only sources that read a file (a <c>path</c> option): generators cannot hold bad values, and skipping them keeps a run's start quick.</param>
    /// <param name="components">The catalog the study was read with (<see cref="Study.Components"/>): its data sources are the ones loaded.</param>
    public static IReadOnlyList<DataCheckResult> Run(IReadOnlyList<PlannedTrial> trials, bool filesOnly = false, ComponentCatalog? components = null)
    {
        var results = new List<DataCheckResult>();
        foreach (var source in trials.Where(t => !filesOnly || t.Spec.Data.Options["path"] is not null).GroupBy(t => t.Spec.Data.Source + "\n" + t.Spec.Data.Options.ToJsonString()))
        {
            var first = source.First().Spec;
            var origin = DataChecks.Origin(first.Data);
            var (events, problems) = DataChecks.Load(first.Data, first.Seed, (components ?? ComponentCatalog.BuiltIn).DataSources);
            var all = new List<DataProblem>(problems);
            if (events is not null)
                all.AddRange(events.Dropped.Select(d => new DataProblem(DataSeverity.Warning, $"{origin}: {d}")));
            if (events is not null)
            {
                foreach (var definition in source.GroupBy(t => TrialIdentity.DataHash(t.Spec.Data)))
                {
                    foreach (var p in DataChecks.Split(events, definition.First().Spec.Data, first.Seed))
                        if (!all.Contains(p)) all.Add(p);
                }
            }
            results.Add(new DataCheckResult(origin, events, all));
        }
        return results;
    }

    /// <summary>Prints each source's summary line (to <paramref name="output"/>) and its problems (to <paramref name="errors"/>), one line each.</summary>
    public static void Print(Study study, IReadOnlyList<DataCheckResult> results, TextWriter output, TextWriter errors)
    {
        foreach (var r in results)
        {
            if (r.Events is not null) output.WriteLine($"data: {r.Summary}");
            foreach (var p in r.Problems) errors.WriteLine(p.IsStudyLevel ? Locate(study, p).ToString() : p.ToString());
        }
    }

    /// <summary>A study-file problem found in the data (a held-out mass the file lacks), at the study's <c>holdout</c> key.</summary>
    public static StudyError Locate(Study study, DataProblem problem) =>
        new(study.SourcePath, study.DataPositions.GetValueOrDefault(problem.StudyKey ?? "", study.DataPositions.GetValueOrDefault("", new SourcePosition(1, 1))), problem.Message);

    /// <summary>2 when a problem is the study file's (it is what to fix), else 3 for bad data, else 0.</summary>
    public static int ExitCode(IReadOnlyList<DataCheckResult> results) =>
        results.Any(r => r.Problems.Any(p => p.IsStudyLevel && p.Severity == DataSeverity.Error)) ? 2
        : results.Any(r => r.HasErrors) ? 3 : 0;
}
