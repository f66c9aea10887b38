using System.Diagnostics;
using System.Xml.Linq;
using SkiaSharp;
using Studies.Reports.Figures;
using Studies.Reports.Input;
using Studies.Reports.Rendering;

namespace Studies.Reports.Tests;

/// <summary>Issue 28: figure files open in real readers (Skia's and file(1) for PNG, poppler for PDF, an XML parser for SVG) and the LaTeX compiles with pdflatex.</summary>
public sealed class PaperOutputTests
{
    [Fact]
    public void Figures_in_png_pdf_and_svg_are_valid_files_and_the_latex_compiles_with_them()
    {
        var study = SyntheticStudies.Create(new SyntheticStudyShape { Name = "paper_study #1", Methods = 2, TrialsPerMethod = 3, Masses = 6, Epochs = 10, ScoreCurves = true })
            with { Units = new StudyUnits { Luminosity = 50 } };
        var input = new ReportInput { Studies = [study] };
        var dir = Directory.CreateTempSubdirectory("paper-output-").FullName;
        try
        {
            var figures = PaperFigures.Draw(input, Path.Combine(dir, "figures"), PaperFigures.ParseFormats("png, pdf,svg"));
            var files = figures.SelectMany(f => f.Files).ToList();
            var stems = files.Select(Path.GetFileNameWithoutExtension).Distinct().ToList();
            Assert.Contains("sigma_min_best_cut_vs_mass", stems);
            Assert.Contains("roc_auc_vs_mass", stems);
            Assert.Contains("loss_per_epoch", stems);
            // The seed papers' score figures: ROC and significance versus cut at trained and held-out masses, classifier output per method.
            Assert.Equal(["roc_m0p5", "roc_m0p7", "roc_m1p3", "roc_m1p5"], stems.Where(s => s!.StartsWith("roc_m", StringComparison.Ordinal)).Order());
            Assert.Equal(4, stems.Count(s => s!.StartsWith("significance_vs_cut_m", StringComparison.Ordinal)));
            Assert.Equal(["classifier_output_1_dnn", "classifier_output_2_pnn"], stems.Where(s => s!.StartsWith("classifier_output", StringComparison.Ordinal)).Order());
            Assert.Equal(stems.Count * 3, files.Count);
            foreach (var png in files.Where(f => f.EndsWith(".png", StringComparison.Ordinal)))
            {
                using var bitmap = SKBitmap.Decode(png);
                Assert.True(bitmap is { Width: PaperFigures.Width, Height: PaperFigures.Height }, $"{png} does not decode to {PaperFigures.Width}x{PaperFigures.Height}");
                Assert.Contains($"PNG image data, {PaperFigures.Width} x {PaperFigures.Height}", PaperFiles.Run("file", png).Output);
                // Something is drawn: more than a handful of distinct colours.
                Assert.True(bitmap.Pixels.Distinct().Take(50).Count() >= 50, $"{png} is nearly blank");
            }
            foreach (var pdf in files.Where(f => f.EndsWith(".pdf", StringComparison.Ordinal)))
            {
                var info = PaperFiles.Run("pdfinfo", pdf);
                Assert.True(info.ExitCode == 0, $"pdfinfo {pdf}: {info.Output}");
                Assert.Matches(@"Pages:\s+1\b", info.Output);
                var raster = Path.Combine(dir, "raster");
                var render = PaperFiles.Run("pdftoppm", "-png", "-r", "36", "-singlefile", pdf, raster);
                Assert.True(render.ExitCode == 0, $"pdftoppm {pdf}: {render.Output}");
                using var page = SKBitmap.Decode(raster + ".png");
                Assert.True(page is { Width: > 100 } && page.Pixels.Distinct().Take(20).Count() >= 20, $"{pdf} renders blank");
            }
            foreach (var svg in files.Where(f => f.EndsWith(".svg", StringComparison.Ordinal)))
                Assert.Equal("svg", XDocument.Load(svg).Root!.Name.LocalName);

            var tex = LatexTables.Write(ReportComposer.Compose(input), Path.Combine(dir, "latex"), figures);
            Assert.Equal(["verdict.tex", "ranking.tex", "paired.tex", LatexTables.FiguresFile, LatexTables.DocumentFile], tex.Select(Path.GetFileName));
            foreach (var file in tex.Take(3))
            {
                var text = File.ReadAllText(file);
                // Structure: every table opens and closes, booktabs rules in order, and no unescaped specials.
                Assert.Equal(Count(text, "\\begin{table}"), Count(text, "\\end{table}"));
                Assert.True(Count(text, "\\begin{tabular}") >= 1, $"{file} holds no tabular");
                Assert.Equal(Count(text, "\\begin{tabular}"), Count(text, "\\toprule"));
                Assert.Equal(Count(text, "\\toprule"), Count(text, "\\bottomrule"));
                foreach (var line in text.Split('\n').Where(l => l.Contains(" & ", StringComparison.Ordinal)))
                {
                    Assert.DoesNotMatch(@"(?<!\\)[_%#]", line);
                    Assert.DoesNotContain("±", line);
                }
            }
            Assert.Contains("$\\pm$", File.ReadAllText(tex[1]));
            // Every figure placed once, from its PDF; and the whole document compiles with them.
            var placed = File.ReadAllText(tex[3]);
            Assert.Equal(figures.Count, Count(placed, "\\includegraphics"));
            Assert.Contains("{../figures/roc_m0p7.pdf}", placed);
            PaperFiles.AssertCompiles(tex[4]);
            // Kept for a look after the run (tests/Reports.Tests/bin/.../paper-figures).
            var keep = Path.Combine(AppContext.BaseDirectory, "paper-figures");
            if (Directory.Exists(keep)) Directory.Delete(keep, recursive: true);
            Directory.Move(Path.Combine(dir, "figures"), keep);
            // And the exports of the same study, for trying docs/exports.md's pandas lines on.
            CsvExport.Write(study, Path.Combine(AppContext.BaseDirectory, "exports-sample"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static int Count(string text, string what) => (text.Length - text.Replace(what, "", StringComparison.Ordinal).Length) / what.Length;

    [Fact]
    public void Every_special_character_and_symbol_the_reports_use_compiles_in_a_latex_table()
    {
        var dir = Directory.CreateTempSubdirectory("latex-escape-").FullName;
        try
        {
            string[] texts =
            [
                "a_b 50% #1 $x$ {y} ~z^2 back\\slash & and", "±0.3 −1.2 – — ★ † ◦ • · × √ → ≤ ≥ ≈ ∞", "fb⁻¹ m² cm³ µ σ_min Δσ αβγ θ Ω", "Lovász Müller Ørsted ß é č",
                "⚠ ✔ unresolved", "漢字 and emoji 🙂 become question marks", "<less> |bar| \"quotes\" 'single'",
            ];
            var table = new Table("caption with σ_min ± 5% & #", ["col_1", "σ (fb)"], texts.Select(t => (IReadOnlyList<Cell>)[new Cell(t), new Cell(t, Best: true)]).ToList());
            var document = new ReportDocument("Study a_b & σ", [new Section("Ranking", [table])]);
            var files = LatexTables.Write(document, dir);
            PaperFiles.AssertCompiles(files.Single(f => f.EndsWith(LatexTables.DocumentFile, StringComparison.Ordinal)));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void An_unknown_figure_format_is_refused_by_name()
    {
        var e = Assert.Throws<ArgumentException>(() => PaperFigures.ParseFormats("png,jpeg"));
        Assert.Contains("png, pdf, svg", e.Message);
        Assert.Contains("'png,jpeg'", e.Message);
    }
}
