using System.Text;
using Studies.Reports.Rendering;

namespace Studies.Reports.Figures;

/// <summary>
/// <c>studies report --latex</c>: the verdict, ranking and paired tables of the report as booktabs
/// LaTeX (verdict.tex, ranking.tex, paired.tex), one <c>table</c> environment per report table,
/// for <c>\input</c> into a paper (needs <c>\usepackage{booktabs}</c>, and graphicx, which scales a table wider
/// than the text down to its width); figures.tex places the
/// figures written with <c>--figures</c> (needs graphicx), and report.tex is a standalone document
/// that inputs them all, compiled by pdflatex in the tests. The numbers are exactly the report's; a
/// starred (resolved) cell is set bold.
/// </summary>
public static class LatexTables
{
    public static readonly IReadOnlyList<(string Section, string File)> Files =
        [(VerdictSection.Title, "verdict.tex"), ("Ranking", "ranking.tex"), ("Paired comparisons", "paired.tex")];

    public const string FiguresFile = "figures.tex";
    public const string DocumentFile = "report.tex";

    /// <summary>
    /// Writes the tables, figures.tex and report.tex into <paramref name="directory"/>; <paramref name="figures"/> are figure
    /// files already written (any format: each figure is placed once, from its PDF if there is one, else its PNG).
    /// </summary>
    public static IReadOnlyList<string> Write(ReportDocument document, string directory, IReadOnlyList<PaperFigure>? figures = null)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        foreach (var (section, file) in Files)
        {
            var tables = document.Sections.Where(s => s.Title == section).SelectMany(s => s.Blocks.OfType<Table>()).ToList();
            var tex = new StringBuilder();
            tex.Append("% ").Append(section).Append(" tables of ").Append(OneLine(document.Title)).Append(" (written by studies report --latex; needs \\usepackage{booktabs} and \\usepackage{graphicx})\n");
            foreach (var t in tables) tex.Append(Render(t)).Append('\n');
            if (tables.Count == 0) tex.Append("% (no table in this section)\n");
            written.Add(Save(directory, file, tex.ToString()));
        }
        written.Add(Save(directory, FiguresFile, Figures(figures ?? [], directory)));
        var main = new StringBuilder();
        main.Append("% ").Append(OneLine(document.Title)).Append(": every table and figure of studies report --latex/--figures; pdflatex report.tex\n");
        main.Append("\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n\\usepackage{graphicx}\n\\begin{document}\n");
        main.Append("\\section*{").Append(Escape(document.Title)).Append("}\n");
        foreach (var file in Files.Select(f => f.File).Append(FiguresFile)) main.Append("\\input{").Append(Path.GetFileNameWithoutExtension(file)).Append("}\n");
        main.Append("\\end{document}\n");
        written.Add(Save(directory, DocumentFile, main.ToString()));
        return written;
    }

    /// <summary>One <c>figure</c> environment per figure, the file given relative to the LaTeX folder.</summary>
    private static string Figures(IReadOnlyList<PaperFigure> figures, string directory)
    {
        var tex = new StringBuilder("% Figures of studies report --figures (needs \\usepackage{graphicx})\n");
        var placed = figures.Where(f => f.Files.Any(IsIncludable)).ToList();
        if (placed.Count == 0) tex.Append("% (no pdf or png figure written: run studies report --figures pdf --latex)\n");
        foreach (var f in placed)
        {
            var file = f.Files.FirstOrDefault(p => p.EndsWith(".pdf", StringComparison.Ordinal)) ?? f.Files.First(IsIncludable);
            var relative = Path.GetRelativePath(directory, file).Replace('\\', '/');
            tex.Append("\\begin{figure}[htbp]\n\\centering\n\\includegraphics[width=\\linewidth]{").Append(relative).Append("}\n\\caption{")
                .Append(Escape(f.Caption)).Append("}\n\\end{figure}\n\\clearpage\n");
        }
        return tex.ToString();
    }

    private static bool IsIncludable(string file) => file.EndsWith(".pdf", StringComparison.Ordinal) || file.EndsWith(".png", StringComparison.Ordinal);

    private static string OneLine(string text) => text.ReplaceLineEndings(" ");

    private static string Save(string directory, string file, string text)
    {
        var path = Path.Combine(directory, file);
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    public static string Render(Table table)
    {
        var tex = new StringBuilder();
        tex.Append("\\begin{table}[htbp]\n\\centering\n\\caption{").Append(Escape(table.Caption)).Append("}\n");
        // Wide tables (the paired comparisons list every pair and its masses) are scaled down to the text width, never up.
        tex.Append("\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n");
        tex.Append("\\begin{tabular}{").Append(new string('l', table.Header.Count)).Append("}\n\\toprule\n");
        tex.Append(string.Join(" & ", table.Header.Select(Escape))).Append(" \\\\\n\\midrule\n");
        foreach (var row in table.Rows)
            tex.Append(string.Join(" & ", row.Select(c => c.Best ? $"\\textbf{{{Escape(c.Text)}}}" : Escape(c.Text)))).Append(" \\\\\n");
        tex.Append("\\bottomrule\n\\end{tabular}}\n\\end{table}\n");
        return tex.ToString();
    }

    /// <summary>
    /// LaTeX's special characters escaped, and the report's Unicode symbols as math, so that the tables compile with plain
    /// pdflatex (no fontspec, no extra package beyond booktabs; checked by compiling them in the tests). Latin letters with
    /// accents (Lovász) are left as they are: LaTeX reads UTF-8 and sets them. Any other character outside those would stop
    /// pdflatex ("Unicode character ... not set up for use with LaTeX"), so it becomes a question mark rather than an error.
    /// </summary>
    public static string Escape(string text)
    {
        var b = new StringBuilder(text.Length + 8);
        foreach (var c in text)
            b.Append(c switch
            {
                '\\' => "\\textbackslash{}",
                '&' or '%' or '$' or '#' or '_' or '{' or '}' => "\\" + c,
                '~' => "\\textasciitilde{}",
                '^' => "\\textasciicircum{}",
                '±' => "$\\pm$",
                '−' => "$-$",
                '–' => "--",
                '—' => "---",
                '★' => "$\\star$",
                '†' => "$\\dagger$",
                '◦' => "$\\circ$",
                '•' => "$\\bullet$",
                '·' => "$\\cdot$",
                '×' => "$\\times$",
                '√' => "$\\surd$",
                '→' => "$\\rightarrow$",
                '≤' => "$\\leq$",
                '≥' => "$\\geq$",
                '≈' => "$\\approx$",
                '∞' => "$\\infty$",
                'µ' => "$\\mu$",
                '⁻' => "$^{-}$",
                '¹' => "$^{1}$",
                '²' => "$^{2}$",
                '³' => "$^{3}$",
                '✔' or '⚠' => "",
                '<' => "$<$",
                '>' => "$>$",
                '|' => "$|$",
                _ when Greek.IndexOf(c) is var g and >= 0 => $"$\\{GreekNames[g]}$",
                _ when c < 0x80 || (c >= 0xC0 && c <= 0x17F && c != '×' && c != '÷') => c.ToString(),
                _ => "?",
            });
        return b.ToString();
    }

    private const string Greek = "αβγδεζηθκλμνξπρστφχψωΔΓΛΣΦΩ";

    private static readonly string[] GreekNames =
    [
        "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau",
        "phi", "chi", "psi", "omega", "Delta", "Gamma", "Lambda", "Sigma", "Phi", "Omega",
    ];
}
