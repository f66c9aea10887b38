using Studies.Trials.Results;
using Studies.Trials.Training;

namespace Studies.Reports.Analysis;

/// <summary>
/// One ranking column: a metric averaged over the trained or the held-out masses. A held-out
/// column names the masses it averages (<see cref="Masses"/>), so two tables over different
/// held-out sets can never be read as one.
/// </summary>
public sealed record RankingColumn(string Metric, bool Heldout)
{
    public IReadOnlyList<double> Masses { get; init; } = [];

    public string Title => !Heldout ? $"{Metric} (trained)"
        : Masses.Count == 0 ? $"{Metric} (held-out)"
        : $"{Metric} (held-out {(Masses.Count == 1 ? "mass" : "masses")} {string.Join(", ", Masses.Select(Ranking.MassText))})";
}

/// <summary>
/// A method's cells. <see cref="AtHeldoutMasses"/>: the method held nothing out (a per-mass net
/// trained at every mass, the reference of methods.md section 6), so its held-out cells are its
/// values at those masses, where it was trained and evaluated.
/// </summary>
public sealed record RankingRow(MethodGroup Method, IReadOnlyList<Summary> Cells)
{
    public bool AtHeldoutMasses { get; init; }
}

/// <summary>Methods ordered by the headline, each cell the mean ± sample std over seeds of a per-trial mass average.</summary>
public sealed record RankingTable(IReadOnlyList<RankingColumn> Columns, IReadOnlyList<RankingRow> Rows, IReadOnlyList<int> BestRowPerColumn, int HeadlineColumn)
{
    /// <summary>The held-out masses of every trial in this table; empty when nothing is held out.</summary>
    public IReadOnlyList<double> HeldoutMasses { get; init; } = [];
}

public static class Ranking
{
    /// <summary>The metrics every ranking and mass chart shows, after the headline.</summary>
    public static readonly IReadOnlyList<string> KeyMetrics =
        [MetricNames.RocAuc, MetricNames.SigmaMinBestCut, MetricNames.SigmaMinGlobalCut, MetricNames.ZBest];

    /// <summary>The headline(s) then the key metrics, keeping only those some trial recorded.</summary>
    public static IReadOnlyList<string> MetricsShown(IReadOnlyList<MethodGroup> methods)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var g in methods)
            foreach (var (_, r) in g.Completed)
                foreach (var m in r.Masses)
                    foreach (var k in m.Metrics.Keys) present.Add(k);
        return methods.Select(g => g.Study.Headline).Concat(KeyMetrics).Distinct().Where(present.Contains).ToList();
    }

    /// <summary>
    /// Per method and column: each completed trial's metric averaged over the column's masses (test
    /// split, best epoch), then mean and sample std over those trials (the seeds, and in a search
    /// the hyperparameter points). Rows are sorted by the headline column, best first.
    /// Every trial must share one held-out set (see <see cref="BuildPerHeldoutSet"/>); a method
    /// that held nothing out is ranked on its values at that set's masses.
    /// </summary>
    public static RankingTable Build(IReadOnlyList<MethodGroup> methods, IReadOnlyList<string> metrics, string headline)
    {
        var heldoutMasses = methods.SelectMany(g => g.Completed).Select(c => HeldoutSet(c.Result)).FirstOrDefault(set => set.Length > 0) ?? [];
        var hasHeldout = heldoutMasses.Length > 0;
        var columns = new List<RankingColumn>();
        foreach (var metric in metrics)
        {
            columns.Add(new RankingColumn(metric, false));
            if (hasHeldout) columns.Add(new RankingColumn(metric, true) { Masses = heldoutMasses });
        }
        var rows = methods.Select(g =>
        {
            var atMasses = hasHeldout && g.Completed.Count > 0 && g.Completed.All(c => HeldoutSet(c.Result).Length == 0);
            return new RankingRow(g, columns
                .Select(c => ReportMath.Summarise(g.Completed.Select(t => atMasses && c.Heldout
                    ? ReportMath.MassAverageAt(t.Result, c.Metric, heldoutMasses)
                    : ReportMath.MassAverage(t.Result, c.Metric, c.Heldout))))
                .ToList()) { AtHeldoutMasses = atMasses };
        }).ToList();

        var headlineColumn = columns.FindIndex(c => c.Metric == headline && c.Heldout == hasHeldout);
        if (headlineColumn >= 0)
        {
            var higher = MetricDirection.HigherIsBetter(headline);
            rows = rows
                .OrderBy(r => r.Cells[headlineColumn].HasValue ? 0 : 1)
                .ThenBy(r => higher ? -r.Cells[headlineColumn].Mean : r.Cells[headlineColumn].Mean)
                .ToList();
        }
        var best = columns.Select((c, i) => ReportMath.BestIndex(rows.Select(r => r.Cells[i].Mean).ToList(), c.Metric)).ToList();
        return new RankingTable(columns, rows, best, headlineColumn) { HeldoutMasses = heldoutMasses };
    }

    /// <summary>
    /// One ranking per held-out set (in order of first appearance) when <c>data.holdout</c> varies
    /// between trials, so a held-out column never averages different masses for different rows;
    /// a single table otherwise. Methods that held nothing out appear in every table.
    /// </summary>
    public static IReadOnlyList<RankingTable> BuildPerHeldoutSet(IReadOnlyList<MethodGroup> methods, IReadOnlyList<string> metrics, string headline)
    {
        var sets = new List<double[]>();
        foreach (var (_, result) in methods.SelectMany(g => g.Completed))
        {
            var set = HeldoutSet(result);
            if (set.Length > 0 && !sets.Any(s => s.SequenceEqual(set))) sets.Add(set);
        }
        if (sets.Count <= 1) return [Build(methods, metrics, headline)];
        return sets.Select(set =>
        {
            var members = methods.Select(g =>
            {
                if (g.Completed.Count > 0 && g.Completed.All(c => HeldoutSet(c.Result).Length == 0)) return g;
                var kept = g.Trials.Where(t => t.Result is { } r && HeldoutSet(r).SequenceEqual(set)).ToList();
                return kept.Count == 0 ? null : new MethodGroup(g.Label, g.Method, g.Study, kept);
            }).OfType<MethodGroup>().ToList();
            return Build(members, metrics, headline);
        }).ToList();
    }

    /// <summary>The sorted held-out masses of a trial (test split, best epoch).</summary>
    public static double[] HeldoutSet(TrialResult result) =>
        result.Masses.Where(m => m.Heldout && m.Split == SplitKind.Test && m.EpochKind == EpochKind.Best)
            .Select(m => m.Mass).Distinct().Order().ToArray();

    /// <summary>A mass as the report writes it: four significant digits.</summary>
    public static string MassText(double mass) => mass.ToString("G4", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A trial's single score for choosing its method's representative trial and for search charts: the headline on held-out masses when there are any, else on trained masses.</summary>
    public static double TrialScore(TrialResult result, string headline)
    {
        var heldout = ReportMath.MassAverage(result, headline, heldout: true);
        return double.IsFinite(heldout) ? heldout : ReportMath.MassAverage(result, headline, heldout: false);
    }
}
