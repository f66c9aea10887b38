using System.Text;
using Studies.Reports.Rendering;

namespace Studies.Reports.Figures;

/// <summary>
/// <c>studies report --latex</c>: the verdict, ranking and paired tables of the report as booktabs
/// LaTeX (verdict.tex, ranking.tex, paired.tex), one <c>table</c> environment per report table,
/// for <c>\input</c> into a paper (needs <c>\usepackage{booktabs}</c>). The numbers are exactly the
/// report's; a starred (resolved) cell is set bold.
/// </summary>
public static class LatexTables
{
    public static readonly IReadOnlyList<(string Section, string File)> Files =
        [(VerdictSection.Title, "verdict.tex"), ("Ranking", "ranking.tex"), ("Paired comparisons", "paired.tex")];

    public static IReadOnlyList<string> Write(ReportDocument document, string directory)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        foreach (var (section, file) in Files)
        {
            var tables = document.Sections.Where(s => s.Title == section).SelectMany(s => s.Blocks.OfType<Table>()).ToList();
            var tex = new StringBuilder();
            tex.Append("% ").Append(section).Append(" tables of ").Append(document.Title).Append(" (written by studies report --latex; needs \\usepackage{booktabs})\n");
            foreach (var t in tables) tex.Append(Render(t)).Append('\n');
            if (tables.Count == 0) tex.Append("% (no table in this section)\n");
            var path = Path.Combine(directory, file);
            File.WriteAllText(path, tex.ToString(), new UTF8Encoding(false));
            written.Add(path);
        }
        return written;
    }

    public static string Render(Table table)
    {
        var tex = new StringBuilder();
        tex.Append("\\begin{table}[htbp]\n\\centering\n\\caption{").Append(Escape(table.Caption)).Append("}\n");
        tex.Append("\\begin{tabular}{").Append(new string('l', table.Header.Count)).Append("}\n\\toprule\n");
        tex.Append(string.Join(" & ", table.Header.Select(Escape))).Append(" \\\\\n\\midrule\n");
        foreach (var row in table.Rows)
            tex.Append(string.Join(" & ", row.Select(c => c.Best ? $"\\textbf{{{Escape(c.Text)}}}" : Escape(c.Text)))).Append(" \\\\\n");
        tex.Append("\\bottomrule\n\\end{tabular}\n\\end{table}\n");
        return tex.ToString();
    }

    /// <summary>LaTeX's special characters escaped, and the report's Unicode symbols as math.</summary>
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
                '★' => "$\\star$",
                '†' => "$\\dagger$",
                '◦' => "$\\circ$",
                '•' => "$\\bullet$",
                '⁻' => "$^{-}$",
                '¹' => "$^{1}$",
                '✔' => "",
                '⚠' => "",
                '<' => "$<$",
                '>' => "$>$",
                _ => c.ToString(),
            });
        return b.ToString();
    }
}
