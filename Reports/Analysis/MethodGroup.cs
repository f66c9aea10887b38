using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports.Analysis;

/// <summary>
/// The trials of one compared method: one combination of a study's compare-axis values. With
/// several studies the label is "study / method" so methods of different studies stay apart.
/// </summary>
public sealed record MethodGroup(string Label, string Method, StudyRecord Study, IReadOnlyList<TrialRecord> Trials)
{
    /// <summary>Trials that finished and produced metrics: the only ones statistics are taken over.</summary>
    public IReadOnlyList<(TrialRecord Trial, TrialResult Result)> Completed { get; } = Trials
        .Where(t => t.State == TrialState.Completed && t.Result is { Outcome: TrialOutcome.Completed })
        .Select(t => (t, t.Result!))
        .ToList();
}

public static class MethodGroups
{
    public const string AllTrials = "all trials";

    /// <summary>Groups every study's trials by compare-axis values, in order of first appearance.</summary>
    public static IReadOnlyList<MethodGroup> Build(ReportInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Studies.Count == 0) throw new ArgumentException("a report needs at least one study; ReportInput.Studies is empty", nameof(input));
        var prefix = input.Studies.Count > 1;
        var groups = new List<MethodGroup>();
        foreach (var study in input.Studies)
        {
            var byMethod = new Dictionary<string, List<TrialRecord>>(StringComparer.Ordinal);
            var order = new List<string>();
            foreach (var trial in study.Trials)
            {
                var method = MethodName(study, trial);
                if (!byMethod.TryGetValue(method, out var list))
                {
                    byMethod[method] = list = [];
                    order.Add(method);
                }
                list.Add(trial);
            }
            foreach (var method in order)
                groups.Add(new MethodGroup(prefix ? $"{study.Name} / {method}" : method, method, study, byMethod[method]));
        }
        return groups;
    }

    /// <summary>The trial's compare-axis values joined, e.g. "affine-pnn, punzi"; a missing axis reads "?".</summary>
    public static string MethodName(StudyRecord study, TrialRecord trial) =>
        study.CompareAxes.Count == 0
            ? AllTrials
            : string.Join(", ", study.CompareAxes.Select(a => trial.Axes.GetValueOrDefault(a, "?")));
}
