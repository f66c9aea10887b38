using Studies.Trials.Results;
using Studies.Trials.Training;

namespace Studies.Reports.Analysis;

/// <summary>One ranking column: a metric averaged over the trained or the held-out masses.</summary>
public sealed record RankingColumn(string Metric, bool Heldout)
{
    public string Title => $"{Metric} ({(Heldout ? "held-out" : "trained")})";
}

public sealed record RankingRow(MethodGroup Method, IReadOnlyList<Summary> Cells);

/// <summary>Methods ordered by the headline, each cell the mean ± sample std over seeds of a per-trial mass average.</summary>
public sealed record RankingTable(IReadOnlyList<RankingColumn> Columns, IReadOnlyList<RankingRow> Rows, IReadOnlyList<int> BestRowPerColumn, int HeadlineColumn);

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
    /// </summary>
    public static RankingTable Build(IReadOnlyList<MethodGroup> methods, IReadOnlyList<string> metrics, string headline)
    {
        var hasHeldout = methods.Any(g => g.Completed.Any(c => c.Result.Masses.Any(m => m.Heldout)));
        var columns = new List<RankingColumn>();
        foreach (var metric in metrics)
        {
            columns.Add(new RankingColumn(metric, false));
            if (hasHeldout) columns.Add(new RankingColumn(metric, true));
        }
        var rows = methods.Select(g => new RankingRow(g, columns
            .Select(c => ReportMath.Summarise(g.Completed.Select(t => ReportMath.MassAverage(t.Result, c.Metric, c.Heldout))))
            .ToList())).ToList();

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
        return new RankingTable(columns, rows, best, headlineColumn);
    }

    /// <summary>A trial's single score for choosing its method's representative trial and for search charts: the headline on held-out masses when there are any, else on trained masses.</summary>
    public static double TrialScore(TrialResult result, string headline)
    {
        var heldout = ReportMath.MassAverage(result, headline, heldout: true);
        return double.IsFinite(heldout) ? heldout : ReportMath.MassAverage(result, headline, heldout: false);
    }
}
