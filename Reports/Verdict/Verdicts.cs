using System.Globalization;
using MathNet.Numerics.Distributions;
using Studies.Reports.Analysis;
using Studies.Reports.Input;
using Studies.Trials.Training;

namespace Studies.Reports.Verdict;

/// <summary>
/// The best method against one other, seed by seed over the masses both share (see
/// <see cref="SharedMasses"/>). Differences are best − other, so for sigma_min (lower is better) a
/// resolved lead is negative.
/// </summary>
/// <param name="Masses">Every mass some pair averaged over (pairs normally share one set).</param>
/// <param name="BestWins">Pairs in which the best method is strictly better.</param>
/// <param name="OtherWins">Pairs in which the other method is strictly better (ties count for neither).</param>
/// <param name="SeedsNeeded">Seeds at which the observed mean and spread would give a 95 % interval excluding 0; null when no number would (a zero mean, fewer than two pairs) or above <see cref="Verdicts.MaxSeeds"/>.</param>
/// <param name="TrainedThere">The other method held no mass out: at held-out masses it is the reference trained at those masses, not a competitor.</param>
public sealed record VerdictComparison(
    string Other, string Metric, MassRole Role, IReadOnlyList<double> Masses, int Pairs,
    double MeanDifference, double Low, double High, int BestWins, int OtherWins, int? SeedsNeeded, bool TrainedThere)
{
    /// <summary>The 95 % interval excludes 0 on the best method's side.</summary>
    public bool Resolved => double.IsFinite(Low) && double.IsFinite(High)
        && (MetricDirection.HigherIsBetter(Metric) ? Low > 0 : High < 0);

    /// <summary>The interval excludes 0 on the other method's side: the other is significantly better (only possible against a reference, which is never the best).</summary>
    public bool OtherResolvedBetter => double.IsFinite(Low) && double.IsFinite(High)
        && (MetricDirection.HigherIsBetter(Metric) ? High < 0 : Low > 0);
}

/// <summary>
/// The verdict for the headline at one mass role: the best method and its paired comparison to every other.
/// </summary>
/// <param name="Best">The best method's label; null when fewer than two methods have values in this role.</param>
/// <param name="BestValue">The best method's headline (mean ± std over its trials, each averaged over its own masses in the role).</param>
/// <param name="Unit">The headline's unit ("fb", "" for AUC and Z).</param>
public sealed record HeadlineVerdict(MassRole Role, string Metric, string Unit, string? Best, Summary BestValue, IReadOnlyList<VerdictComparison> Against)
{
    /// <summary>Comparisons with competitors (not references trained at the held-out masses).</summary>
    public IEnumerable<VerdictComparison> Competitors => Against.Where(c => !c.TrainedThere);

    /// <summary>The best method leads every competitor with a 95 % interval excluding 0.</summary>
    public bool Resolved => Best is not null && Competitors.Any() && Competitors.All(c => c.Resolved);

    /// <summary>The fewest seed pairs behind any competitor comparison (the "n" of "not resolved with n seeds").</summary>
    public int Seeds => Competitors.Select(c => c.Pairs).DefaultIfEmpty(0).Min();

    /// <summary>Seeds that would resolve every unresolved comparison at the observed spread; null when unknown or beyond reach.</summary>
    public int? SeedsNeeded
    {
        get
        {
            var open = Competitors.Where(c => !c.Resolved).ToList();
            if (open.Count == 0) return Seeds;
            return open.Any(c => c.SeedsNeeded is null) ? null : open.Max(c => c.SeedsNeeded);
        }
    }

    /// <summary>The competitor the best method is least clearly ahead of: the unresolved one with the smallest lead, else the smallest resolved lead.</summary>
    public VerdictComparison? Closest => Competitors
        .OrderBy(c => c.Resolved ? 1 : 0)
        .ThenBy(c => double.IsFinite(c.Low) ? Math.Abs(c.MeanDifference) / Math.Max(c.High - c.Low, 1e-300) : double.PositiveInfinity)
        .FirstOrDefault();
}

/// <summary>One study's verdict: the headline at trained masses and, when anything was held out, at held-out masses.</summary>
public sealed record StudyVerdict(string Study, string Metric, IReadOnlyList<HeadlineVerdict> Headlines)
{
    /// <summary>One line for a terminal, e.g. "verdict quickstart (sigma_min_best_cut, lower is better): trained: punzi, pnn best, resolved with 2 seeds; held-out: not resolved with 2 seeds: ...".</summary>
    public string Line() => Verdicts.Line(this);
}

/// <summary>
/// Computes the verdict of a study (pure): which method is best at trained and at held-out masses,
/// by how much against each other method (paired over seeds and over the masses both share, with a
/// 95 % Student-t interval), how often it wins per seed, and whether that is resolved.
/// </summary>
public static class Verdicts
{
    /// <summary>Seeds-needed estimates above this are reported as out of reach.</summary>
    public const int MaxSeeds = 1000;

    /// <summary>The verdict of every study of a report, in order.</summary>
    public static IReadOnlyList<StudyVerdict> Compute(ReportInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var methods = MethodGroups.Build(input);
        return input.Studies.Select(s => Compute(s, methods.Where(g => g.Study == s).ToList())).ToList();
    }

    /// <summary>The verdict of one study.</summary>
    public static StudyVerdict Compute(StudyRecord study)
    {
        ArgumentNullException.ThrowIfNull(study);
        return Compute(study, MethodGroups.Build(new ReportInput { Studies = [study] }));
    }

    /// <summary>The one-line summary of one study's verdict (for `studies run` and notifications).</summary>
    /// <remarks>A search without compared methods gets its best trial instead (<see cref="SearchLine"/>).</remarks>
    public static string VerdictLine(StudyRecord study) =>
        study.SearchObjectives.Count > 0 && study.CompareAxes.Count == 0 ? SearchLine(study) : Compute(study).Line();

    /// <summary>
    /// A search's outcome in one line: its best completed trial by the first objective on validation (what the search chose
    /// by), with its searched settings and its test headline at the trained and held-out masses.
    /// </summary>
    public static string SearchLine(StudyRecord study)
    {
        var values = Analysis.SearchProgress.Values(study);
        var metric = study.SearchObjectives[0];
        var higher = MetricDirection.HigherIsBetter(metric);
        var completed = values.Where(v => !v.Pruned).ToList();
        var pruned = study.Trials.Count(t => t.State == Trials.Results.TrialState.Pruned);
        var head = $"verdict {study.Name} (search, validation {metric}, {(higher ? "higher" : "lower")} is better): {study.Trials.Count} trials, {completed.Count} completed, {pruned} pruned";
        if (completed.Count == 0) return head + "; no trial completed";
        var best = higher ? completed.MaxBy(v => v.Values[0])! : completed.MinBy(v => v.Values[0])!;
        var searched = best.Trial.Axes.Where(a => a.Key != Analysis.SearchSpaces.SeedAxis).Select(a => $"{a.Key} {a.Value}");
        var test = best.Trial.Result is { } r
            ? string.Join(", ", new[] { false, true }.Select(held => (held, value: Analysis.ReportMath.MassAverage(r, study.Headline, heldout: held)))
                .Where(x => double.IsFinite(x.value)).Select(x => $"{Rendering.Format.Value(x.value)} {(x.held ? "held-out" : "trained")}"))
            : "";
        return head + $"; best trial {best.Trial.TrialId[..8]} ({string.Join(", ", searched)}): validation {metric} {Rendering.Format.Value(best.Values[0])}"
            + (test.Length > 0 ? $"; test {study.Headline} {test}" : "");
    }

    private static StudyVerdict Compute(StudyRecord study, IReadOnlyList<MethodGroup> methods)
    {
        var metric = study.Headline;
        var unit = study.Units.Of(metric);
        var withResults = methods.Where(g => g.Completed.Count > 0).ToList();
        var headlines = new List<HeadlineVerdict> { ForRole(withResults, metric, unit, MassRole.Trained) };
        if (withResults.Any(g => g.Completed.Any(c => c.Result.Masses.Any(m => m.Heldout))))
            headlines.Add(ForRole(withResults, metric, unit, MassRole.Heldout));
        return new StudyVerdict(study.Name, metric, headlines);
    }

    /// <summary>Whether every completed trial of the method held nothing out (a reference trained at every mass).</summary>
    private static bool HoldsNothingOut(MethodGroup g) => g.Completed.All(c => !c.Result.Masses.Any(m => m.Heldout));

    private static HeadlineVerdict ForRole(IReadOnlyList<MethodGroup> methods, string metric, string unit, MassRole role)
    {
        // Candidates for "best": at held-out masses only methods that held something out.
        var candidates = role == MassRole.Heldout ? methods.Where(g => !HoldsNothingOut(g)).ToList() : methods.ToList();
        if (candidates.Count == 0 || methods.Count < 2)
            return new HeadlineVerdict(role, metric, unit, candidates.Count == 1 ? candidates[0].Label : null, candidates.Count == 1 ? OwnValue(candidates[0], metric, role) : Summary.Empty, []);

        // Best: the candidate that beats most other candidates on the paired mean over shared
        // masses (the comparison the verdict reports), ties broken by its own mean headline.
        var higher = MetricDirection.HigherIsBetter(metric);
        var scored = candidates.Select(g =>
        {
            var wins = candidates.Where(o => o != g).Count(o =>
            {
                var d = SharedMasses.Pairs(g, o, metric, role).Select(p => p.Difference).ToList();
                return d.Count > 0 && (higher ? d.Average() > 0 : d.Average() < 0);
            });
            var own = OwnValue(g, metric, role);
            return (Group: g, Wins: wins, Own: own);
        }).ToList();
        var best = scored
            .OrderByDescending(s => s.Wins)
            .ThenBy(s => !s.Own.HasValue ? double.PositiveInfinity : higher ? -s.Own.Mean : s.Own.Mean)
            .First();

        var against = methods.Where(o => o != best.Group).Select(o => Compare(best.Group, o, metric, role, role == MassRole.Heldout && HoldsNothingOut(o))).ToList();
        return new HeadlineVerdict(role, metric, unit, best.Group.Label, best.Own, against);
    }

    /// <summary>A method's headline over its own masses in the role (a reference's at held-out masses: none).</summary>
    private static Summary OwnValue(MethodGroup g, string metric, MassRole role) =>
        ReportMath.Summarise(g.Completed.Select(c => ReportMath.MassAverage(c.Result, metric, role == MassRole.Heldout)));

    /// <summary>The paired comparison of <paramref name="best"/> against <paramref name="other"/> (differences best − other).</summary>
    public static VerdictComparison Compare(MethodGroup best, MethodGroup other, string metric, MassRole role, bool trainedThere = false)
    {
        var pairs = SharedMasses.Pairs(best, other, metric, role);
        var d = pairs.Select(p => p.Difference).ToList();
        var (mean, low, high) = PairedComparison.MeanInterval(d);
        var higher = MetricDirection.HigherIsBetter(metric);
        var masses = pairs.SelectMany(p => p.Masses).Distinct().Order().ToList();
        return new VerdictComparison(other.Label, metric, role, masses, d.Count, mean, low, high,
            d.Count(x => higher ? x > 0 : x < 0), d.Count(x => higher ? x < 0 : x > 0), SeedsNeeded(d), trainedThere);
    }

    /// <summary>
    /// The smallest number of seed pairs n >= 2 for which a difference with the observed mean and
    /// sample std would have a 95 % Student-t interval excluding 0 (t(0.975, n−1)·s/√n &lt; |mean|);
    /// null for fewer than two differences, a zero mean, or more than <see cref="MaxSeeds"/>.
    /// </summary>
    public static int? SeedsNeeded(IReadOnlyList<double> differences)
    {
        var s = ReportMath.Summarise(differences);
        if (s.Count < 2 || !double.IsFinite(s.Std) || s.Mean == 0) return null;
        if (s.Std == 0) return 2;
        for (var n = 2; n <= MaxSeeds; n++)
            if (StudentT.InvCDF(0, 1, n - 1, 0.975) * s.Std / Math.Sqrt(n) < Math.Abs(s.Mean)) return n;
        return null;
    }

    private static string Num(double v) => v.ToString("G3", CultureInfo.InvariantCulture);

    private static string WithUnit(string number, string unit) => unit.Length == 0 ? number : $"{number} {unit}";

    /// <summary>"−0.35 fb [−2.58, 1.88]" for a comparison's mean difference and interval.</summary>
    public static string DifferenceText(VerdictComparison c, string unit) =>
        double.IsFinite(c.Low)
            ? $"{WithUnit(Num(c.MeanDifference), unit)} [{Num(c.Low)}, {Num(c.High)}]"
            : $"{WithUnit(Num(c.MeanDifference), unit)} (one pair, no interval)";

    /// <summary>The role as the verdict names it.</summary>
    public static string RoleName(MassRole role) => role == MassRole.Trained ? "trained masses" : "held-out masses";

    /// <summary>One sentence for one headline verdict, e.g. "held-out masses: not resolved with 2 seeds (bce ahead of punzi by ...; about 9 seeds needed)".</summary>
    public static string Sentence(HeadlineVerdict h)
    {
        var references = string.Concat(h.Against.Where(c => c.TrainedThere).Select(c =>
            $"; against {c.Other} trained at these masses: {DifferenceText(c, h.Unit)}{(c.OtherResolvedBetter ? $", {c.Other} better" : c.Resolved ? $", {h.Best} better" : ", no resolved difference")}"));
        return Core(h) + references;
    }

    private static string Core(HeadlineVerdict h)
    {
        var role = RoleName(h.Role);
        if (h.Best is null) return $"{role}: no method has results";
        if (!h.Competitors.Any()) return $"{role}: only {h.Best} (nothing to compare)";
        if (h.Competitors.All(c => c.Pairs == 0)) return $"{role}: no comparison, the methods share no {(h.Role == MassRole.Trained ? "trained" : "held-out")} mass (see the per-mass comparisons)";
        var closest = h.Closest!;
        var detail = $"{h.Best} − {closest.Other} {DifferenceText(closest, h.Unit)}, {h.Best} better in {closest.BestWins}/{closest.Pairs} seeds";
        if (h.Resolved) return $"{role}: {h.Best} best, resolved with {h.Seeds} seeds ({detail})";
        var needed = h.SeedsNeeded is { } n ? $"; about {n} seeds needed at this spread" : closest.Pairs < 2 ? "; too few seeds to estimate" : "; no seed count would resolve it at this spread";
        return $"{role}: not resolved with {h.Seeds} seeds, {h.Best} ahead ({detail}{needed})";
    }

    /// <summary>The one-line verdict: study, headline and direction, then one sentence per mass role.</summary>
    public static string Line(StudyVerdict v)
    {
        var direction = MetricDirection.HigherIsBetter(v.Metric) ? "higher is better" : "lower is better";
        return $"verdict {v.Study} ({v.Metric}, {direction}): {string.Join("; ", v.Headlines.Select(Sentence))}";
    }
}
