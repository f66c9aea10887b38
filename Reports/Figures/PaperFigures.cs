using System.Globalization;
using ScottPlot;
using SkiaSharp;
using Studies.Reports.Analysis;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports.Figures;

/// <summary>
/// <c>studies report --figures png,pdf,svg</c>: every metric-versus-mass chart of the report, the
/// best cut versus mass (the Punzi-net paper's working point per mass) and the training curves as
/// files in a HEP style: a closed frame, no grid, the "Studies Simulation" label and the luminosity
/// top left and right as CMS/ATLAS plots carry them, held-out masses as open markers, the Bayes
/// optimum dashed. ScottPlot 5 draws PNG and SVG; the PDF is the same drawing on Skia's PDF canvas.
/// The seed papers' score figures (ROC with the working point, classifier output per mass with the cut,
/// significance versus cut) come from the trials' recorded score curves (<see cref="ScoreFigures"/>).
/// </summary>
public static class PaperFigures
{
    public static readonly IReadOnlyList<string> Formats = ["png", "pdf", "svg"];
    public const int Width = 900;
    public const int Height = 600;

    /// <summary>Parses "png,pdf,svg"; throws <see cref="ArgumentException"/> naming an unknown format.</summary>
    public static IReadOnlyList<string> ParseFormats(string list)
    {
        var formats = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(f => f.ToLowerInvariant()).Distinct().ToList();
        var unknown = formats.FirstOrDefault(f => !Formats.Contains(f));
        if (unknown is not null || formats.Count == 0)
            throw new ArgumentException($"--figures takes a comma-separated list of {string.Join(", ", Formats)}; got '{list}'");
        return formats;
    }

    /// <summary>Writes every figure in every format into <paramref name="directory"/>; returns the files written.</summary>
    public static IReadOnlyList<string> Write(ReportInput input, string directory, IReadOnlyList<string> formats) =>
        Draw(input, directory, formats).SelectMany(f => f.Files).ToList();

    /// <summary>Writes every figure in every format into <paramref name="directory"/>; returns each figure with its caption and files.</summary>
    public static IReadOnlyList<PaperFigure> Draw(ReportInput input, string directory, IReadOnlyList<string> formats)
    {
        Directory.CreateDirectory(directory);
        var methods = MethodGroups.Build(input);
        var units = input.Studies[0].Units;
        var figures = new List<PaperFigure>();
        var metrics = Ranking.MetricsShown(methods).ToList();
        if (methods.Any(g => g.Completed.Any(c => c.Result.Masses.Any(m => m.Metrics.ContainsKey(MetricNames.BestCut)))))
            metrics.Add(MetricNames.BestCut);
        foreach (var metric in metrics)
        {
            var plot = MetricVersusMass(methods.Select(g => MassCurves.Build(g, metric)).ToList(), metric, units);
            figures.Add(new PaperFigure($"{metric}_vs_mass", $"{units.Label(metric)} versus {units.MassLabel} (test split, kept epoch): mean over seeds with ±1 std, open markers at held-out masses",
                Save(plot, Path.Combine(directory, $"{metric}_vs_mass"), formats).ToList()));
        }
        foreach (var metric in TrainingCurves.RecordedMetrics(methods))
            figures.Add(new PaperFigure($"{metric}_per_epoch", $"{metric} per epoch of each method's representative trial",
                Save(TrainingCurve(TrainingCurves.Build(methods, metric).Where(c => c.Representative).ToList(), metric, units), Path.Combine(directory, $"{metric}_per_epoch"), formats).ToList()));
        figures.AddRange(ScoreFigures.Draw(methods, units, directory, formats));
        return figures;
    }

    internal static readonly Color[] Palette =
    [
        // The Petroff colour sequence recommended for HEP plots (mplhep's default since 2024).
        Color.FromHex("#3f90da"), Color.FromHex("#ffa90e"), Color.FromHex("#bd1f01"), Color.FromHex("#94a4a2"),
        Color.FromHex("#832db6"), Color.FromHex("#a96b59"), Color.FromHex("#e76300"), Color.FromHex("#b9ac70"),
        Color.FromHex("#717581"), Color.FromHex("#92dadd"),
    ];

    private static Plot MetricVersusMass(IReadOnlyList<MassCurve> curves, string metric, StudyUnits units)
    {
        var plot = HepStyle(units);
        for (var i = 0; i < curves.Count; i++)
        {
            var color = Palette[i % Palette.Length];
            var points = curves[i].Points.Where(p => double.IsFinite(p.Value.Mean)).ToList();
            if (points.Count == 0) continue;
            var xs = points.Select(p => p.Mass).ToArray();
            var ys = points.Select(p => p.Value.Mean).ToArray();
            var line = plot.Add.Scatter(xs, ys, color);
            line.LegendText = curves[i].Method.Label;
            line.LineWidth = 2;
            line.MarkerSize = 0;
            var trained = points.Where(p => !p.Heldout).ToList();
            var heldout = points.Where(p => p.Heldout).ToList();
            var dots = plot.Add.Scatter(trained.Select(p => p.Mass).ToArray(), trained.Select(p => p.Value.Mean).ToArray(), color);
            dots.LineWidth = 0;
            dots.MarkerSize = 8;
            dots.MarkerShape = MarkerShape.FilledCircle;
            if (heldout.Count > 0)
            {
                var rings = plot.Add.Scatter(heldout.Select(p => p.Mass).ToArray(), heldout.Select(p => p.Value.Mean).ToArray(), color);
                rings.LineWidth = 0;
                rings.MarkerSize = 11;
                rings.MarkerShape = MarkerShape.OpenCircle;
                rings.MarkerLineWidth = 2;
            }
            var errors = plot.Add.ErrorBar(xs, ys, points.Select(p => double.IsFinite(p.Value.Std) ? p.Value.Std : 0).ToArray());
            errors.Color = color;
            var optimum = points.Where(p => double.IsFinite(p.Optimal)).ToList();
            if (optimum.Count > 1 && i == 0)
            {
                var opt = plot.Add.Scatter(optimum.Select(p => p.Mass).ToArray(), optimum.Select(p => p.Optimal).ToArray(), Colors.Black);
                opt.LinePattern = LinePattern.Dashed;
                opt.MarkerSize = 0;
                opt.LegendText = "Bayes optimum";
            }
        }
        plot.XLabel(units.MassLabel);
        // Error bars: ±1 std over seeds; open markers: held-out masses (docs/reports.md says so beside the figures).
        plot.YLabel(units.Label(metric));
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    private static Plot TrainingCurve(IReadOnlyList<TrainingCurve> curves, string metric, StudyUnits units)
    {
        var plot = HepStyle(units);
        for (var i = 0; i < curves.Count; i++)
        {
            var points = curves[i].Points.Where(p => double.IsFinite(p.Value)).ToList();
            if (points.Count == 0) continue;
            var line = plot.Add.Scatter(points.Select(p => (double)p.Epoch).ToArray(), points.Select(p => p.Value).ToArray(), Palette[i % Palette.Length]);
            line.LegendText = curves[i].Method.Label;
            line.LineWidth = 2;
            line.MarkerSize = 0;
        }
        plot.XLabel("epoch");
        plot.YLabel(metric);
        plot.ShowLegend(Edge.Right);
        return plot;
    }

    /// <summary>A closed frame without grid, large sans labels, and the experiment and luminosity labels above the frame.</summary>
    internal static Plot HepStyle(StudyUnits units)
    {
        var plot = new Plot();
        plot.HideGrid();
        plot.Axes.Frame(true);
        plot.Axes.FrameWidth(1.5f);
        foreach (var axis in new IAxis[] { plot.Axes.Bottom, plot.Axes.Left })
        {
            axis.Label.FontSize = 20;
            axis.TickLabelStyle.FontSize = 16;
        }
        var label = plot.Add.Annotation("Studies Simulation", Alignment.UpperLeft);
        label.LabelFontSize = 20;
        label.LabelBold = true;
        label.LabelItalic = true;
        label.LabelBackgroundColor = Colors.Transparent;
        label.LabelBorderColor = Colors.Transparent;
        label.LabelShadowColor = Colors.Transparent;
        if (units.Luminosity is { } l)
        {
            var lumi = plot.Add.Annotation($"{l.ToString("G4", CultureInfo.InvariantCulture)} {units.CrossSection}⁻¹", Alignment.UpperRight);
            lumi.LabelFontSize = 18;
            lumi.LabelBackgroundColor = Colors.Transparent;
            lumi.LabelBorderColor = Colors.Transparent;
            lumi.LabelShadowColor = Colors.Transparent;
        }
        return plot;
    }

    internal static IEnumerable<string> Save(Plot plot, string stem, IReadOnlyList<string> formats)
    {
        foreach (var format in formats)
        {
            var path = $"{stem}.{format}";
            switch (format)
            {
                case "png":
                    plot.SavePng(path, Width, Height);
                    break;
                case "svg":
                    plot.SaveSvg(path, Width, Height);
                    break;
                case "pdf":
                    // Skia's PDF backend: vector output from the same drawing code as the PNG.
                    using (var stream = File.Create(path))
                    using (var document = SKDocument.CreatePdf(stream))
                    {
                        var canvas = document.BeginPage(Width, Height);
                        plot.Render(canvas, Width, Height);
                        document.EndPage();
                        document.Close();
                    }
                    break;
                default:
                    throw new ArgumentException($"unknown figure format '{format}'");
            }
            yield return path;
        }
    }
}

/// <summary>One figure as written: its file name without extension, a caption for LaTeX and the reports, and its files (one per format).</summary>
public sealed record PaperFigure(string Stem, string Caption, IReadOnlyList<string> Files);
