using System.Globalization;
using Studies.Reports.Analysis;
using Studies.Reports.Input;
using Studies.Reports.Verdict;
using Studies.Trials.Results;
using Studies.Trials.Training;

namespace Studies.Reports.Rendering;

/// <summary>
/// The report's first section: the answer. One sentence per study and mass role, the best
/// method's paired comparison to every other, the interpolation question mass by mass, and
/// warnings where a method beats the Bayes optimum beyond its noise.
/// </summary>
public static class VerdictSection
{
    public const string Title = "Verdict";

    public static Section Build(ReportInput input, IReadOnlyList<MethodGroup> methods)
    {
        var blocks = new List<Block>();
        foreach (var study in input.Studies)
        {
            var inStudy = methods.Where(g => g.Study == study).ToList();
            var verdict = Verdicts.Compute(study);
            var units = study.Units;
            var direction = MetricDirection.HigherIsBetter(study.Headline) ? "higher is better" : "lower is better";
            var prefix = input.Studies.Count > 1 ? $"Study {study.Name}: " : "";
            blocks.Add(new Paragraph($"{prefix}headline {units.Label(study.Headline)}, {direction}; masses in {(units.Mass.Length == 0 ? "the source's own units (dimensionless)" : units.Mass)}"
                + (units.Luminosity is { } l ? $"; luminosity {l.ToString("G4", CultureInfo.InvariantCulture)} {units.CrossSection}⁻¹" : "") + "."));
            foreach (var h in verdict.Headlines)
                blocks.Add(new Paragraph((h.Resolved ? "✔ " : "• ") + Capitalise(Verdicts.Sentence(h)) + "."));
            var table = ComparisonTable(verdict, units);
            if (table is not null) blocks.Add(table);
            blocks.AddRange(BayesWarnings(inStudy, units));
            if (study.SettingDifferences.Count > 0)
            {
                blocks.Add(new Table($"{prefix}Settings that differ between the compared methods beyond {string.Join(", ", study.CompareAxes)} (a difference in the headline may come from these too)",
                    ["setting", "values", "decided by"],
                    study.SettingDifferences.Select(d => (IReadOnlyList<Cell>)[d.Setting, string.Join(", ", d.Values.Select(v => $"{v.Label}: {v.Value}")), d.FollowsAxis ?? "varies"]).ToList()));
                if (Fairness.KindWarning(study.SettingDifferences) is { } warning) blocks.Add(new Paragraph("⚠ " + Capitalise(warning)));
            }
        }
        blocks.Add(new Paragraph("How to read this: each trial's headline is averaged over the masses both compared trials share in the role (trained masses both trained at; held-out masses both held out, or against a method that held nothing out, the other's held-out masses), paired by seed; the interval is the 95 % Student-t interval of the mean difference over seed pairs. Resolved: the interval excludes 0. ★ only where an interval excludes 0. Seeds needed: the smallest number of seeds at which the observed mean difference and spread would give an interval excluding 0. Per-mass comparisons where one method held out a mass the other trained at (the interpolation question) are under Paired comparisons."));
        return new Section(Title, blocks);
    }

    private static string Capitalise(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    private static string Masses(IReadOnlyList<double> masses, StudyUnits units) =>
        masses.Count == 0 ? Format.Missing : string.Join(", ", masses.Select(Ranking.MassText)) + (units.Mass.Length > 0 ? " " + units.Mass : "");

    private static Table? ComparisonTable(StudyVerdict verdict, StudyUnits units)
    {
        var rows = new List<IReadOnlyList<Cell>>();
        foreach (var h in verdict.Headlines.Where(h => h.Best is not null))
            foreach (var c in h.Against)
                rows.Add(
                [
                    Verdicts.RoleName(h.Role), h.Best!, c.TrainedThere ? $"{c.Other} (trained there)" : c.Other, Masses(c.Masses, units),
                    c.Pairs.ToString(CultureInfo.InvariantCulture),
                    new Cell(Format.Value(c.MeanDifference), c.Resolved || c.OtherResolvedBetter),
                    double.IsFinite(c.Low) ? $"[{Format.Value(c.Low)}, {Format.Value(c.High)}]" : Format.Missing,
                    $"{c.BestWins}/{c.Pairs}",
                    c.Pairs == 0 ? "no shared mass" : c.Resolved ? "yes" : c.OtherResolvedBetter ? $"no: {c.Other} better" : $"not resolved with {c.Pairs} seeds",
                    c.Resolved || c.OtherResolvedBetter || c.Pairs == 0 ? Format.Missing : c.SeedsNeeded is { } n ? n.ToString(CultureInfo.InvariantCulture) : $"> {Verdicts.MaxSeeds} or unknown",
                ]);
        if (rows.Count == 0) return null;
        var unit = units.Of(verdict.Metric);
        var u = unit.Length > 0 ? $" ({unit})" : "";
        return new Table($"{verdict.Metric}: the best method against every other, paired by seed over shared masses",
            ["masses", "best", "other", "shared masses", "seed pairs", $"best − other{u}", "95 % interval", "best better in (seeds)", "resolved", "seeds needed"], rows);
    }

    /// <summary>
    /// Per mass where one method held out a mass another trained at: the held-out value against the
    /// trained-there value, paired by seed (issue 28's "pnn vs per-mass at 1000 GeV").
    /// </summary>
    public static IEnumerable<Block> InterpolationQuestion(IReadOnlyList<MethodGroup> methods, string metric, StudyUnits units)
    {
        var rows = new List<IReadOnlyList<Cell>>();
        var higher = MetricDirection.HigherIsBetter(metric);
        foreach (var a in methods)
            foreach (var b in methods.Where(b => b != a))
                foreach (var (mass, pairs) in SharedMasses.HeldoutAgainstTrained(a, b, metric))
                {
                    var d = pairs.Select(p => p.Difference).ToList();
                    var (mean, low, high) = PairedComparison.MeanInterval(d);
                    var excludes = double.IsFinite(low) && (low > 0 || high < 0);
                    rows.Add(
                    [
                        $"{Ranking.MassText(mass)}{(units.Mass.Length > 0 ? " " + units.Mass : "")}", $"{a.Label} (held out)", $"{b.Label} (trained there)",
                        d.Count.ToString(CultureInfo.InvariantCulture), new Cell(Format.Value(mean), excludes),
                        double.IsFinite(low) ? $"[{Format.Value(low)}, {Format.Value(high)}]" : Format.Missing,
                        $"{d.Count(x => higher ? x > 0 : x < 0)}/{d.Count}",
                    ]);
                }
        if (rows.Count == 0) yield break;
        var unit = units.Of(metric);
        yield return new Table($"{metric} at each mass one method held out and the other trained at (the interpolation question), paired by seed",
            ["mass", "A", "B", "seed pairs", $"A − B{(unit.Length > 0 ? $" ({unit})" : "")}", "95 % interval", "A better in (seeds)"], rows);
    }

    /// <summary>
    /// A method whose seed mean at a mass beats the Bayes-optimal value by more than two standard
    /// errors (or at all, with one seed) has been lucky on a small validation or test sample: its
    /// numbers there are noise, not skill.
    /// </summary>
    public static IEnumerable<Block> BayesWarnings(IReadOnlyList<MethodGroup> methods, StudyUnits units)
    {
        var lines = new List<string>();
        foreach (var g in methods)
        {
            var recorded = g.Completed.SelectMany(c => c.Result.Masses).SelectMany(m => m.Metrics.Keys)
                .Where(k => k.EndsWith(MetricNames.OptimalSuffix, StringComparison.Ordinal)).Distinct().ToList();
            foreach (var optimalName in recorded)
            {
                var metric = optimalName[..^MetricNames.OptimalSuffix.Length];
                foreach (var p in MassCurves.Build(g, metric).Points)
                {
                    if (!double.IsFinite(p.Optimal) || !p.Value.HasValue) continue;
                    var margin = p.Value.Count > 1 && double.IsFinite(p.Value.Std) ? 2 * p.Value.Std / Math.Sqrt(p.Value.Count) : 0;
                    var beyond = MetricDirection.HigherIsBetter(metric) ? p.Value.Mean - margin > p.Optimal : p.Value.Mean + margin < p.Optimal;
                    if (!beyond) continue;
                    lines.Add($"{g.Label} at {Ranking.MassText(p.Mass)}{(units.Mass.Length > 0 ? " " + units.Mass : "")} ({(p.Heldout ? "held out" : "trained")}): {units.Label(metric)} {Format.MeanStd(p.Value)} beats the Bayes optimum {Format.Value(p.Optimal)} by more than two standard errors over {p.Value.Count} seed(s)");
                }
            }
        }
        if (lines.Count == 0) yield break;
        const int shown = 8;
        yield return new Paragraph($"⚠ Warning: a method beats the Bayes-optimal value beyond its noise, which no classifier can do: the split it is measured on is too small (few background events make the best cut lucky). Treat those numbers as noise. {string.Join("; ", lines.Take(shown))}{(lines.Count > shown ? $"; and {lines.Count - shown} more" : "")}.");
    }
}
