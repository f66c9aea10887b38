using System.Text;

namespace Studies.Reports.Rendering;

/// <summary>report.md: the same sections and tables as report.html, without the charts.</summary>
public static class MarkdownReport
{
    public static string Render(ReportDocument document)
    {
        var md = new StringBuilder();
        md.Append("# ").Append(document.Title).Append("\n\n");
        foreach (var section in document.Sections)
        {
            md.Append("## ").Append(section.Title).Append("\n\n");
            var charts = 0;
            foreach (var block in section.Blocks)
            {
                switch (block)
                {
                    case Paragraph p:
                        md.Append(p.Text).Append("\n\n");
                        break;
                    case Verbatim v:
                        var fence = v.Text.Contains("```", StringComparison.Ordinal) ? "~~~~" : "```";
                        md.Append("<details><summary>").Append(v.Summary).Append("</summary>\n\n").Append(fence).Append('\n')
                            .Append(v.Text.TrimEnd()).Append('\n').Append(fence).Append("\n\n</details>\n\n");
                        break;
                    case Table t:
                        AppendTable(md, t);
                        break;
                    case Chart:
                        charts++;
                        break;
                    default:
                        throw new InvalidOperationException($"MarkdownReport cannot render a {block.GetType().Name}");
                }
            }
            if (charts > 0) md.Append('(').Append(charts).Append(charts == 1 ? " chart" : " charts").Append(" in report.html)\n\n");
        }
        return md.ToString();
    }

    private static void AppendTable(StringBuilder md, Table t)
    {
        md.Append("**").Append(Escape(t.Caption)).Append("**\n\n|");
        foreach (var h in t.Header) md.Append(' ').Append(Escape(h)).Append(" |");
        md.Append("\n|");
        foreach (var _ in t.Header) md.Append("---|");
        md.Append('\n');
        foreach (var row in t.Rows)
        {
            md.Append('|');
            foreach (var cell in row)
                md.Append(' ').Append(cell.Best ? "**★ " + Escape(cell.Text) + "**" : Escape(cell.Text)).Append(" |");
            md.Append('\n');
        }
        md.Append('\n');
    }

    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}
