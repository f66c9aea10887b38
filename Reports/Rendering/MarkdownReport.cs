using System.Text;

namespace Studies.Reports.Rendering;

/// <summary>report.md: the same sections and tables as report.html, without the charts.</summary>
public static class MarkdownReport
{
    public static string Render(ReportDocument document)
    {
        var md = new StringBuilder();
        md.Append("# ").Append(Html(document.Title)).Append("\n\n");
        foreach (var section in document.Sections)
        {
            md.Append("## ").Append(Html(section.Title)).Append("\n\n");
            var charts = 0;
            foreach (var block in section.Blocks)
            {
                switch (block)
                {
                    case Paragraph p:
                        md.Append(Html(p.Text)).Append("\n\n");
                        break;
                    case Verbatim v:
                        var fence = v.Text.Contains("```", StringComparison.Ordinal) ? "~~~~" : "```";
                        md.Append("<details><summary>").Append(Html(v.Summary)).Append("</summary>\n\n").Append(fence).Append('\n')
                            .Append(v.Text.TrimEnd()).Append('\n').Append(fence).Append("\n\n</details>\n\n");
                        break;
                    case Table t:
                        AppendTable(md, t);
                        break;
                    case FigureLinks f:
                        if (f.Files.FirstOrDefault(x => x.EndsWith(".png", StringComparison.Ordinal) || x.EndsWith(".svg", StringComparison.Ordinal)) is { } image)
                            md.Append("![").Append(Escape(f.Caption)).Append("](").Append(HtmlReport.Href(image)).Append(")\n\n");
                        md.Append(Escape(f.Caption)).Append(':');
                        foreach (var file in f.Files) md.Append(" [").Append(Path.GetExtension(file).TrimStart('.')).Append("](").Append(HtmlReport.Href(file)).Append(')');
                        md.Append("\n\n");
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

    private static string Escape(string s) => Html(s).Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);

    /// <summary>
    /// Study names, descriptions and variant names are the study file's text: Markdown renderers pass raw HTML through,
    /// so a name like &lt;script&gt; would run wherever report.md is shown. The three HTML characters become entities
    /// (which every renderer shows as the characters); Markdown emphasis written by the report itself is kept.
    /// </summary>
    private static string Html(string s) =>
        s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);
}
