using Studies.Reports.Analysis;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports.Rendering;

/// <summary>Turns the studies into the report document: every number and chart of report.html and report.md comes from here.</summary>
public static class ReportComposer
{
    public static ReportDocument Compose(ReportInput input)
    {
        var methods = MethodGroups.Build(input);
        var headline = input.Studies[0].Headline;
        var sections = new List<Section>();
        var chartIds = 0;
        string NextId() => $"chart-{++chartIds}";

        sections.Add(VerdictSection.Build(input, methods));
        foreach (var study in input.Studies) sections.Add(Summary(study));
        var units = input.Studies[0].Units;

        var metrics = Ranking.MetricsShown(methods);
        var rankings = Ranking.BuildPerHeldoutSet(methods, metrics, headline);
        var rankingBlocks = new List<Block>
        {
            new Paragraph($"Each cell: a trial's metric averaged over the trained or the held-out masses named in the column (test split, best epoch), then mean ± sample std over the method's completed trials. Sorted by {headline}; ★ marks the best value of a column only where its paired 95 % interval against every other method excludes 0 (sigma_min: lower is better; AUC, Z: higher is better); no star means the best is not resolved."
                + (rankings.Count > 1 ? $" The held-out set varies between trials: one table per held-out set, each over the trials that held out exactly those masses." : "")),
        };
        // A pure search (nothing compared) has one "method" whose mean ± std mixes different
        // hyperparameters: not a ranking. Its answer is the best-configurations table.
        var pureSearch = input.Studies.All(st => st.IsSearch && st.CompareAxes.Count == 0);
        if (pureSearch)
            rankingBlocks = [new Paragraph("A pure hyperparameter search compares no methods: a mean over its trials would average different hyperparameters. See the best configurations under Hyperparameter search.")];
        else
            rankingBlocks.AddRange(rankings.Select(r => (Block)RankingTable(r, rankings.Count > 1, units)));
        if (rankings.Any(r => r.Rows.Any(row => row.AtHeldoutMasses)))
            rankingBlocks.Add(new Paragraph("† the method held no mass out (e.g. one per-mass net trained at every mass): its held-out cells are its values at those masses, where it was trained and evaluated."));
        sections.Add(new Section("Ranking", rankingBlocks));
        var ranking = rankings[0];

        sections.Add(PairedSection(PairedComparison.Build(methods, headline), headline, units, methods));

        var curves = metrics.SelectMany(m => methods.Select(g => MassCurves.Build(g, m))).ToList();
        sections.Add(new Section("Metric versus mass", metrics
            .SelectMany(m => new Block[]
            {
                new Chart(NextId(), $"{m} vs mass", Charts.MetricVersusMass(curves.Where(c => c.Metric == m).ToList(), m, units)),
                PerMassTable(curves.Where(c => c.Metric == m).ToList(), m, units),
            })
            .ToList()));

        var interpolationBlocks = new List<Block>();
        foreach (var metric in new[] { headline, MetricNames.RocAuc }.Distinct().Where(metrics.Contains))
        {
            var table = Interpolation.Build(methods, curves, metric);
            if (table.HeldoutMasses.Count == 0) continue;
            interpolationBlocks.AddRange(InterpolationTables(table));
        }
        if (interpolationBlocks.Count == 0) interpolationBlocks.Add(new Paragraph("No held-out masses: nothing to interpolate."));
        else interpolationBlocks.Insert(0, new Paragraph("At each held-out mass: the metric divided by the straight line between the neighbouring trained masses (1 = the net interpolates as well as a linear guess; for AUC and Z above 1 is better, for sigma_min below 1 is better), and divided by the Bayes-optimal value where the data set has one. Area ratio: trapezoid area under the method's seed-mean metric-vs-mass curve over all masses, divided by that of the best method."));
        sections.Add(new Section("Interpolation to held-out masses", interpolationBlocks));

        var boundaries = TrainingCurves.Boundaries(methods);
        var training = TrainingCurves.RecordedMetrics(methods)
            .Select(m => (Block)new Chart(NextId(), $"{m} per epoch", Charts.TrainingCurve(TrainingCurves.Build(methods, m), boundaries, m)))
            .ToList();
        if (training.Count == 0) training.Add(new Paragraph("No completed trial recorded a training curve."));
        sections.Add(new Section("Training curves", training));

        if (input.Studies.Any(s => s.IsSearch))
        {
            var space = SearchSpaces.Build(methods.Where(g => g.Study.IsSearch).ToList());
            var scoreTitle = $"{headline} ({(ranking.Columns.Any(c => c.Heldout) ? "held-out" : "trained")} mean)";
            var blocks = new List<Block>();
            if (space.Axes.Count == 0) blocks.Add(new Paragraph("No hyperparameter varies between completed trials."));
            else
            {
                blocks.Add(BestConfigurations(space, headline, scoreTitle));
                blocks.Add(new Chart(NextId(), "Parallel coordinates", Charts.ParallelCoordinates(space, scoreTitle, Studies.Trials.Training.MetricDirection.HigherIsBetter(headline))));
                blocks.AddRange(space.Axes.Select(a => (Block)new Chart(NextId(), $"{scoreTitle} vs {a.Name}", Charts.ScoreVersusHyperparameter(space, a, scoreTitle))));
            }
            foreach (var study in input.Studies.Where(st => st.SearchObjectives.Count > 0)) blocks.AddRange(SearchViews(study, space, NextId));
            sections.Add(new Section("Hyperparameter search", blocks));
        }

        sections.Add(FiguresSection(input, methods, NextId));
        sections.Add(Problems(input));
        sections.Add(Provenance(input));
        var title = input.Studies.Count == 1 ? $"Study {input.Studies[0].Name}" : $"Studies {string.Join(" vs ", input.Studies.Select(s => s.Name))}";
        return new ReportDocument(title, sections);
    }

    /// <summary>What a search decided: its optimisation history (pruned trials marked), parameter importance, and the Pareto front of two objectives.</summary>
    private static IEnumerable<Block> SearchViews(StudyRecord study, SearchSpace space, Func<string> nextId)
    {
        var values = SearchProgress.Values(study);
        var metric = study.SearchObjectives[0];
        var pruned = study.Trials.Count(t => t.State == TrialState.Pruned);
        yield return new Paragraph($"Search of {study.Name}: objective{(study.SearchObjectives.Count > 1 ? "s" : "")} {string.Join(" and ", study.SearchObjectives)} "
            + $"(validation, trained masses; the best value over each trial's validation epochs); {values.Count(v => !v.Pruned)} trials completed, {pruned} pruned "
            + "(stopped by the pruner after a validation epoch, shown as pruned: not failures).");
        if (values.Count == 0) yield break;
        yield return new Chart(nextId(), "Optimisation history", Charts.OptimisationHistory(values, SearchProgress.BestSoFar(values, metric), metric));
        var importance = SearchProgress.Importance(values, space.Axes);
        if (importance.Count > 0)
        {
            yield return new Chart(nextId(), "Parameter importance", Charts.Importance(importance, metric));
            yield return new Table($"Parameter importance for validation {metric}: share of its variance over completed trials explained by each parameter alone "
                + "(eta squared of a one-way analysis of variance, numeric parameters in quartiles; interactions not counted)",
                ["parameter", "importance"], importance.Select(i => (IReadOnlyList<Cell>)[i.Parameter, Format.Value(i.Importance)]).ToList());
        }
        if (study.SearchObjectives.Count == 2)
        {
            var front = SearchProgress.ParetoFront(values, study.SearchObjectives);
            yield return new Chart(nextId(), "Pareto front", Charts.ParetoFront(values, front, study.SearchObjectives));
            yield return new Table($"Pareto front of validation {study.SearchObjectives[0]} and {study.SearchObjectives[1]} (no other completed trial is better in both)",
                ["trial", .. space.Axes.Select(a => a.Name), .. study.SearchObjectives],
                front.Select(f => (IReadOnlyList<Cell>)[f.Trial.TrialId[..8], .. space.Axes.Select(a => (Cell)f.Trial.Axes.GetValueOrDefault(a.Name, "")),
                    .. f.Values.Select(v => (Cell)Format.Value(v))]).ToList());
        }
    }

    private static Section Summary(StudyRecord study)
    {
        var blocks = new List<Block>();
        if (!string.IsNullOrWhiteSpace(study.Description)) blocks.Add(new Paragraph(study.Description.Trim()));
        var counts = TrialStates.All
            .Select(s => (State: s, Count: study.Trials.Count(t => t.State == s))).Where(x => x.Count > 0).ToList();
        var devices = study.Trials.Where(t => !string.IsNullOrEmpty(t.Device)).GroupBy(t => t.Device)
            .Select(g => $"{g.Key} ({g.Count()})").ToList();
        blocks.Add(new Table("Trials", ["trials", .. counts.Select(c => c.State.Name()), "total wall time", "devices"],
        [
            [study.Trials.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                .. counts.Select(c => (Cell)c.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Format.Seconds(study.Trials.Sum(t => t.Seconds)), devices.Count == 0 ? Format.Missing : string.Join(", ", devices)],
        ]));
        blocks.Add(new Paragraph($"Compared axes: {(study.CompareAxes.Count == 0 ? "none" : string.Join(", ", study.CompareAxes))}; headline metric: {study.Headline}{(study.IsSearch ? "; hyperparameter search" : "")}."));
        return new Section($"Study {study.Name}", blocks);
    }

    public const string FiguresTitle = "Figures";

    /// <summary>The figure files of studies report --figures, linked; and which trials the score figures could be drawn from.</summary>
    private static Section FiguresSection(ReportInput input, IReadOnlyList<MethodGroup> methods, Func<string> nextId)
    {
        var blocks = new List<Block>();
        var curves = ScoreCurveSets.Build(methods);
        const string ScoreFigures = "the ROC with its working point, the classifier output per mass with its cut, and the significance versus the cut";
        if (curves.CompletedTrials > 0)
        {
            blocks.Add(new Paragraph(curves.TrialsWithCurves == 0
                ? $"No completed trial recorded score curves, so {ScoreFigures} cannot be drawn: the curves are recorded at a trial's final evaluation from this release on, and these trials were recorded by an earlier one (their metrics are complete)."
                : curves.TrialsWithout > 0
                    ? $"{curves.TrialsWithout} of {curves.CompletedTrials} completed trials were recorded by an earlier release without score curves; {ScoreFigures} average the other {curves.TrialsWithCurves}."
                    : $"{ScoreFigures[..1].ToUpperInvariant()}{ScoreFigures[1..]} come from the score curves every completed trial recorded (test split, kept epoch, mean over seeds)."));
        }
        var units = input.Studies[0].Units;
        foreach (var mass in ScoreCurveSets.FigureMasses(curves, Figures.ScoreFigures.MaxMasses))
        {
            var at = curves.Curves.Where(c => c.Mass == mass).ToList();
            var label = Figures.ScoreFigures.MassText(mass, units, at[0].Heldout);
            blocks.Add(new Chart(nextId(), $"ROC at {label}", Charts.Roc(at, label)));
            blocks.Add(new Chart(nextId(), $"Z vs cut at {label}", Charts.SignificanceVersusCut(at, label)));
        }
        if (input.Figures.Count == 0)
            blocks.Add(new Paragraph("`studies report --figures png,pdf,svg` writes every chart of this report and the score figures as files under figures/ in a HEP style; with --latex, latex/figures.tex places them."));
        else
            blocks.AddRange(input.Figures.Select(f => (Block)new FigureLinks(f.Caption, f.Files)));
        return new Section(FiguresTitle, blocks);
    }

    /// <summary>Provenance and the study definitions, at the end: needed to reproduce, not to read the answer.</summary>
    private static Section Provenance(ReportInput input)
    {
        var blocks = new List<Block>();
        foreach (var study in input.Studies)
        {
            var prefix = input.Studies.Count > 1 ? $"{study.Name}: " : "";
            if (study.Provenance.Count > 0)
                blocks.Add(new Table($"{prefix}Provenance", ["item", "value"], study.Provenance.Select(kv => (IReadOnlyList<Cell>)[kv.Key, kv.Value]).ToList()));
            if (!string.IsNullOrWhiteSpace(study.DefinitionText)) blocks.Add(new Verbatim($"{prefix}Study definition", study.DefinitionText));
        }
        if (blocks.Count == 0) blocks.Add(new Paragraph("No provenance recorded."));
        return new Section("Provenance", blocks);
    }

    /// <summary>The numbers behind a metric-vs-mass chart: one row per method, one column per mass (held-out ones marked), mean ± std over seeds.</summary>
    private static Table PerMassTable(IReadOnlyList<MassCurve> curves, string metric, StudyUnits units)
    {
        var columns = curves.SelectMany(c => c.Points).Select(p => (p.Mass, p.Heldout)).Distinct()
            .OrderBy(k => k.Mass).ThenBy(k => k.Heldout).ToList();
        var rows = curves.Select(c => c.Points.ToDictionary(p => (p.Mass, p.Heldout), p => p.Value)).ToList();
        // No stars here: a per-mass mean ± std says nothing about whether a difference is resolved (see Verdict).
        return new Table($"{units.Label(metric)} per method and {units.MassLabel} (test split, best epoch; mean ± std over seeds; ◦ held-out mass, • trained)",
            ["method", .. columns.Select(k => $"{(k.Heldout ? "◦" : "•")} {Ranking.MassText(k.Mass)}")],
            curves.Select((c, i) => (IReadOnlyList<Cell>)[c.Method.Label,
                .. columns.Select(k => (Cell)(rows[i].TryGetValue(k, out var v) ? Format.MeanStd(v) : Format.Missing))]).ToList());
    }

    private static Table RankingTable(RankingTable ranking, bool namesHeldoutSet, StudyUnits units)
    {
        var header = new List<string> { "rank", "method", "completed" };
        header.AddRange(ranking.Columns.Select(c => units.Of(c.Metric) is { Length: > 0 } u ? $"{c.Title} [{u}]" : c.Title));
        var resolved = ranking.Columns.Select((c, i) => BestResolved(ranking, i)).ToList();
        var rows = new List<IReadOnlyList<Cell>>();
        for (var r = 0; r < ranking.Rows.Count; r++)
        {
            var row = ranking.Rows[r];
            var cells = new List<Cell>
            {
                (r + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), row.AtHeldoutMasses ? row.Method.Label + " †" : row.Method.Label,
                $"{row.Method.Completed.Count}/{row.Method.Trials.Count}",
            };
            for (var c = 0; c < ranking.Columns.Count; c++)
                cells.Add(new Cell(Format.MeanStd(row.Cells[c]), ranking.BestRowPerColumn[c] == r && resolved[c]));
            rows.Add(cells);
        }
        var caption = namesHeldoutSet
            ? $"Ranking of the trials holding out {string.Join(", ", ranking.HeldoutMasses.Select(Ranking.MassText))} (test split, best epoch)"
            : "Ranking (test split, best epoch)";
        return new Table(caption, header, rows);
    }

    /// <summary>The ten best trials of a search with their hyperparameters and score.</summary>
    private static Table BestConfigurations(SearchSpace space, string headline, string scoreTitle)
    {
        var best = SearchSpaces.Best(space, headline, 10);
        return new Table($"Best configurations by {scoreTitle} (one row per trial)",
            ["rank", "method", .. space.Axes.Select(a => a.Name), "seed", scoreTitle, "trial"],
            best.Select((p, i) => (IReadOnlyList<Cell>)
            [
                (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), p.Method.Label,
                .. space.Axes.Select(a => (Cell)p.Values.GetValueOrDefault(a.Name, Format.Missing)),
                p.Values.GetValueOrDefault(SearchSpaces.SeedAxis, Format.Missing), Format.Value(p.Score), p.TrialId,
            ]).ToList());
    }

    /// <summary>Whether the best row of a column leads every other row with a value by a paired 95 % interval excluding 0.</summary>
    private static bool BestResolved(RankingTable ranking, int column)
    {
        var bestRow = ranking.BestRowPerColumn[column];
        if (bestRow < 0) return false;
        var c = ranking.Columns[column];
        var best = ranking.Rows[bestRow].Method;
        var others = ranking.Rows.Where((r, i) => i != bestRow && r.Cells[column].HasValue).ToList();
        return others.Count > 0 && others.All(o =>
        {
            var p = PairedComparison.Compare(best, o.Method, c.Metric, c.Heldout);
            return p.Significant && p.ABetter;
        });
    }

    private static IEnumerable<Block> InterpolationTables(InterpolationTable table)
    {
        var metric = table.Metric;
        var hasOptimum = table.Rows.Any(r => double.IsFinite(r.MeanToOptimum));
        var hasPerMass = table.Rows.Any(r => double.IsFinite(r.MeanToPerMass));
        var summaryHeader = new List<string> { "method", "mean ratio to interpolation" };
        if (hasOptimum) summaryHeader.Add("mean ratio to optimum");
        if (hasPerMass) summaryHeader.Add("mean ratio to per-mass net trained there");
        summaryHeader.Add("area ratio to best method");
        yield return new Table($"{metric}: interpolation summary (means over held-out masses)", summaryHeader, table.Rows.Select((r, i) =>
        {
            var cells = new List<Cell> { r.Method.Label, (Cell)Format.Value(r.MeanToInterpolation) };
            if (hasOptimum) cells.Add((Cell)Format.Value(r.MeanToOptimum));
            if (hasPerMass) cells.Add((Cell)Format.Value(r.MeanToPerMass));
            cells.Add((Cell)Format.Value(r.AreaRatio));
            return (IReadOnlyList<Cell>)cells;
        }).ToList());

        var massHeader = new List<string> { "method" };
        massHeader.AddRange(table.HeldoutMasses.Select(m => $"m = {Format.Value(m)}"));
        yield return new Table($"{metric} / linear interpolation between neighbouring trained masses, per held-out mass",
            massHeader, table.Rows.Select(r => (IReadOnlyList<Cell>)[r.Method.Label, .. r.PerMass.Select(p => (Cell)Format.MeanStd(p.ToInterpolation))]).ToList());
        if (hasOptimum)
            yield return new Table($"{metric} / optimal {metric}, per held-out mass",
                massHeader, table.Rows.Select(r => (IReadOnlyList<Cell>)[r.Method.Label, .. r.PerMass.Select(p => (Cell)Format.MeanStd(p.ToOptimum))]).ToList());
        if (hasPerMass)
            yield return new Table($"{metric} / {metric} of a per-mass net trained at that mass, per held-out mass",
                massHeader, table.Rows.Select(r => (IReadOnlyList<Cell>)[r.Method.Label, .. r.PerMass.Select(p => (Cell)Format.MeanStd(p.ToPerMass))]).ToList());
    }

    /// <summary>Paired seed-by-seed differences of the headline per method pair (also written as paired.csv).</summary>
    private static Section PairedSection(IReadOnlyList<PairedRow> rows, string headline, StudyUnits units, IReadOnlyList<MethodGroup> methods)
    {
        if (rows.Count == 0) return new Section("Paired comparisons", [new Paragraph("Only one method: nothing to pair.")]);
        var text = $"Method A against method B on trials with the same seed (and the same value of every other non-compared axis: same split, same initialisation). Each trial's {headline} is averaged over the masses both trials of the pair share in the role (trained masses both trained at; held-out masses both held out, or against a method that held nothing out, the other's held-out masses; test split, best epoch), so two methods are never compared at different masses; the table gives the mean of A − B over the seed pairs with its 95 % Student-t interval, and in how many pairs A is better. ★: the interval excludes 0.";
        var unit = units.Of(headline) is { Length: > 0 } u ? $" ({u})" : "";
        var table = new Table($"Paired comparisons of {units.Label(headline)}", ["A", "B", "masses", "shared masses", "pairs", $"mean A − B{unit}", "95 % interval", "A better in"],
            rows.Select(r => (IReadOnlyList<Cell>)
            [
                r.A.Label, r.B.Label, r.Heldout ? "held-out" : "trained",
                r.Masses.Count == 0 ? "none shared" : string.Join(", ", r.Masses.Select(Ranking.MassText)) + (units.Mass.Length > 0 ? " " + units.Mass : ""),
                r.Pairs.ToString(System.Globalization.CultureInfo.InvariantCulture),
                new Cell(Format.Value(r.MeanDifference), r.Significant),
                double.IsFinite(r.Low) ? $"[{Format.Value(r.Low)}, {Format.Value(r.High)}]" : Format.Missing,
                $"{r.WinsA}/{r.Pairs} seeds",
            ]).ToList());
        return new Section("Paired comparisons", [new Paragraph(text), table, .. VerdictSection.InterpolationQuestion(methods, headline, units)]);
    }

    private static Section Problems(ReportInput input)
    {
        var prefix = input.Studies.Count > 1;
        var rows = new List<IReadOnlyList<Cell>>();
        foreach (var study in input.Studies)
            foreach (var t in study.Trials.Where(t => t.State.IsProblem()))
            {
                var reason = t.Error ?? t.Result?.Error ?? "no reason recorded";
                rows.Add([prefix ? $"{study.Name} / {t.TrialId}" : t.TrialId, t.State.Name(),
                    t.Attempts.ToString(System.Globalization.CultureInfo.InvariantCulture), MethodGroups.MethodName(study, t), reason]);
            }
        return new Section("Failed, diverged and interrupted trials", rows.Count == 0
            ? [new Paragraph("None.")]
            : [new Table("Trials that did not complete", ["trial", "state", "attempts", "method", "reason"], rows)]);
    }
}
