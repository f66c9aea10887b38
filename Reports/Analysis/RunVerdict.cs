using System.Globalization;
using Studies.Reports.Input;
using Studies.Trials.Training;

namespace Studies.Reports.Analysis;

/// <summary>
/// The one line a run ends with before its report path: which method leads the ranking on the headline metric (held-out
/// masses where there are any), by how much over the next, and how many trials did not complete. A minimal verdict of
/// this branch; the report's own verdict (branch <c>reports</c>) is meant to replace it.
/// </summary>
public static class RunVerdict
{
    public static string Line(ReportInput input)
    {
        var study = input.Studies[0];
        var headline = study.Headline;
        var methods = MethodGroups.Build(input);
        var table = Ranking.Build(methods, [headline], headline);
        var problems = methods.Sum(m => m.Trials.Count(t => t.State is Trials.Results.TrialState.Failed or Trials.Results.TrialState.Diverged));
        var tail = problems > 0 ? $" ({problems} trial{(problems == 1 ? "" : "s")} failed or diverged)" : "";
        var column = table.HeadlineColumn;
        var ranked = column < 0 ? [] : table.Rows.Where(r => r.Cells[column].HasValue).ToList();
        if (ranked.Count == 0) return $"verdict: no completed trial has a {headline} value{tail}";
        var where = table.Columns[column].Heldout ? "held-out masses" : "trained masses";
        var direction = MetricDirection.HigherIsBetter(headline) ? "higher" : "lower";
        var first = ranked[0];
        var lead = $"{first.Method.Label} {Cell(first.Cells[column])}";
        if (ranked.Count == 1)
            return methods.Count == 1
                ? $"verdict: {headline} at {where} ({direction} is better): {lead}{tail}"
                : $"verdict: best at {where} by {headline} ({direction} is better): {lead}; no other method has a value{tail}";
        var second = ranked[1];
        return $"verdict: best at {where} by {headline} ({direction} is better): {lead}; next {second.Method.Label} {Cell(second.Cells[column])}{tail}";
    }

    private static string Cell(Summary s) =>
        s.Count > 1 && double.IsFinite(s.Std)
            ? $"{s.Mean.ToString("G4", CultureInfo.InvariantCulture)} ± {s.Std.ToString("G2", CultureInfo.InvariantCulture)} ({s.Count} trials)"
            : $"{s.Mean.ToString("G4", CultureInfo.InvariantCulture)} ({s.Count} trial{(s.Count == 1 ? "" : "s")})";
}
