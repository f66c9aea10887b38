using System.Globalization;
using ScottPlot;
using Studies.Reports.Analysis;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports.Figures;

/// <summary>
/// The seed papers' score figures, from the score curves the trials recorded (test split, kept epoch; mean over each
/// method's seeds): the ROC at a mass with the working point (the sigma_min cut chosen on validation) marked, the
/// classifier output per mass hypothesis with each mass's cut drawn (Punzi-net), and the significance versus the cut
/// with the z_best cut marked. Trials recorded before the curves were kept have none; with none at all nothing is
/// drawn, and the report says so (<see cref="Rendering.ReportComposer"/>).
/// </summary>
public static class ScoreFigures
{
    /// <summary>Per-mass figures (ROC, significance versus cut) are drawn at this many masses at most, spread over trained and held-out masses.</summary>
    public const int MaxMasses = 4;

    public static IEnumerable<PaperFigure> Draw(IReadOnlyList<MethodGroup> methods, StudyUnits units, string directory, IReadOnlyList<string> formats)
    {
        var set = ScoreCurveSets.Build(methods);
        if (set.Curves.Count == 0) yield break;
        var masses = ScoreCurveSets.FigureMasses(set, MaxMasses);
        foreach (var mass in masses)
        {
            var at = set.Curves.Where(c => c.Mass == mass).ToList();
            var name = MassName(mass);
            var label = MassText(mass, units, at[0].Heldout);
            yield return new PaperFigure($"roc_{name}", $"ROC at {label}: signal versus background efficiency (test split, kept epoch, mean over seeds); diamonds mark each seed's working point, the sigma_min cut chosen on validation (on the left edge when no background passes it)",
                PaperFigures.Save(Roc(at, methods, units, label), Path.Combine(directory, $"roc_{name}"), formats).ToList());
            yield return new PaperFigure($"significance_vs_cut_{name}", $"Significance Z = s/√b versus the cut on the classifier output at {label} (test split, mean over seeds); dotted: each method's z_best cut chosen on validation",
                PaperFigures.Save(SignificanceVersusCut(at, methods, units, label), Path.Combine(directory, $"significance_vs_cut_{name}"), formats).ToList());
        }
        var index = 0;
        foreach (var method in methods)
        {
            index++;
            var curves = set.Curves.Where(c => c.Method == method && masses.Contains(c.Mass)).ToList();
            if (curves.Count == 0) continue;
            var stem = $"classifier_output_{index}_{Slug(method.Label)}";
            yield return new PaperFigure(stem, $"Classifier output of {method.Label} per mass hypothesis (test split, mean over seeds, each class normalised to unit area): signal solid, background dashed, the mass's sigma_min cut dotted",
                PaperFigures.Save(ClassifierOutput(curves, units, method.Label), Path.Combine(directory, stem), formats).ToList());
        }
    }

    private static Plot Roc(IReadOnlyList<MethodScoreCurves> curves, IReadOnlyList<MethodGroup> methods, StudyUnits units, string massLabel)
    {
        var plot = PaperFigures.HepStyle(units);
        for (var i = 0; i < curves.Count; i++)
        {
            var c = curves[i].Mean;
            var color = Colour(methods, curves[i].Method);
            var points = c.BackgroundEfficiency.Zip(c.SignalEfficiency).Where(p => p.First > 0 && double.IsFinite(p.Second)).ToList();
            if (points.Count == 0) continue;
            var line = plot.Add.Scatter(points.Select(p => Math.Log10(p.First)).ToArray(), points.Select(p => p.Second).ToArray(), color);
            line.LegendText = curves[i].Method.Label;
            line.LineWidth = 2;
            line.MarkerSize = 0;
            // Each seed's working point (on its own ROC); one with no background passing sits on the axis' left edge (log scale).
            var working = curves[i].WorkingPoints.Where(p => p.Background >= 0).ToList();
            if (working.Count > 0)
            {
                var marks = plot.Add.Scatter(working.Select(p => Math.Log10(Math.Max(p.Background, c.BackgroundEfficiency[0]))).ToArray(), working.Select(p => p.Signal).ToArray(), color);
                marks.LineWidth = 0;
                marks.MarkerShape = MarkerShape.FilledDiamond;
                marks.MarkerSize = 12;
            }
        }
        LogTicks(plot.Axes.Bottom);
        plot.Axes.SetLimitsY(0, 1.05);
        return Labelled(plot, "background efficiency", "signal efficiency", massLabel);
    }

    private static Plot SignificanceVersusCut(IReadOnlyList<MethodScoreCurves> curves, IReadOnlyList<MethodGroup> methods, StudyUnits units, string massLabel)
    {
        var plot = PaperFigures.HepStyle(units);
        for (var i = 0; i < curves.Count; i++)
        {
            var c = curves[i].Mean;
            var color = Colour(methods, curves[i].Method);
            var points = Enumerable.Range(0, c.Significance.Count).Where(k => double.IsFinite(c.Significance[k])).ToList();
            if (points.Count == 0) continue;
            var line = plot.Add.Scatter(points.Select(k => c.Edges[k]).ToArray(), points.Select(k => c.Significance[k]).ToArray(), color);
            line.LegendText = curves[i].Method.Label;
            line.LineWidth = 2;
            line.MarkerSize = 5;
            if (double.IsFinite(c.ZCut)) CutLine(plot, c.ZCut, color);
        }
        return Labelled(plot, "cut on the classifier output", "Z = s/√b", massLabel);
    }

    private static Plot ClassifierOutput(IReadOnlyList<MethodScoreCurves> curves, StudyUnits units, string methodLabel)
    {
        var plot = PaperFigures.HepStyle(units);
        for (var i = 0; i < curves.Count; i++)
        {
            var c = curves[i].Mean;
            var color = PaperFigures.Palette[i % PaperFigures.Palette.Length];
            var signal = Step(plot, c.Edges, Density(c.SignalHistogram, c.Edges), color, LinePattern.Solid);
            signal.LegendText = $"signal, {MassText(curves[i].Mass, units, curves[i].Heldout)}";
            Step(plot, c.Edges, Density(c.BackgroundHistogram, c.Edges), color, LinePattern.Dashed);
            if (double.IsFinite(c.WorkingCut)) CutLine(plot, c.WorkingCut, color);
        }
        return Labelled(plot, "classifier output", "normalised to unit area", methodLabel);
    }

    private static Plot Labelled(Plot plot, string x, string y, string title)
    {
        plot.XLabel(x);
        plot.YLabel(y);
        plot.Title(title);
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    /// <summary>A histogram as a step line over its edges.</summary>
    private static ScottPlot.Plottables.Scatter Step(Plot plot, IReadOnlyList<double> edges, double[] heights, Color color, LinePattern pattern)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        for (var k = 0; k < heights.Length; k++)
        {
            var h = double.IsFinite(heights[k]) ? heights[k] : 0;
            xs.Add(edges[k]);
            ys.Add(h);
            xs.Add(edges[k + 1]);
            ys.Add(h);
        }
        var line = plot.Add.Scatter(xs.ToArray(), ys.ToArray(), color);
        line.LineWidth = 2;
        line.MarkerSize = 0;
        line.LinePattern = pattern;
        return line;
    }

    /// <summary>Per-bin density with unit area (NaN bins as empty); all zero when the class has no weight.</summary>
    private static double[] Density(IReadOnlyList<double> histogram, IReadOnlyList<double> edges)
    {
        var total = histogram.Where(double.IsFinite).Sum();
        return histogram.Select((h, k) => total > 0 && double.IsFinite(h) ? h / total / (edges[k + 1] - edges[k]) : 0).ToArray();
    }

    private static void CutLine(Plot plot, double cut, Color color)
    {
        var line = plot.Add.VerticalLine(cut);
        line.Color = color;
        line.LinePattern = LinePattern.Dotted;
        line.LineWidth = 2;
    }

    /// <summary>Decades on a log10-transformed axis, labelled 10^-k.</summary>
    private static void LogTicks(IAxis axis)
    {
        var ticks = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = v => v == 0 ? "1" : $"1e{v.ToString("0", CultureInfo.InvariantCulture)}",
        };
        axis.TickGenerator = ticks;
    }

    /// <summary>A method's colour in every per-mass figure: its place in the report's method order, as in the metric-versus-mass figures.</summary>
    private static Color Colour(IReadOnlyList<MethodGroup> methods, MethodGroup method)
    {
        var i = 0;
        while (i < methods.Count && !ReferenceEquals(methods[i], method)) i++;
        return PaperFigures.Palette[i % methods.Count % PaperFigures.Palette.Length];
    }

    /// <summary>"m = 1000 GeV (held out)".</summary>
    public static string MassText(double mass, StudyUnits units, bool heldout) =>
        $"m = {mass.ToString("G6", CultureInfo.InvariantCulture)}{(units.Mass.Length > 0 ? " " + units.Mass : "")}{(heldout ? " (held out)" : "")}";

    /// <summary>A mass in a file name: "m1000", "m0p5" (one dot only, before the extension: LaTeX's graphicx reads the first dot as the extension's).</summary>
    private static string MassName(double mass) => "m" + mass.ToString("G6", CultureInfo.InvariantCulture).Replace('.', 'p').Replace('-', 'n');

    /// <summary>A method label as a file-name part: lower case letters, digits and dashes.</summary>
    private static string Slug(string label)
    {
        var slug = new string(label.ToLowerInvariant().Select(ch => ch is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? ch : '-').ToArray());
        while (slug.Contains("--", StringComparison.Ordinal)) slug = slug.Replace("--", "-", StringComparison.Ordinal);
        return slug.Trim('-') is { Length: > 0 } s ? s[..Math.Min(s.Length, 60)] : "method";
    }
}
