using Studies.Reports.Rendering;

namespace Studies.Reports.Tests.Rendering;

/// <summary>report.md shows the study file's text (names, descriptions, variant names) as text, never as HTML.</summary>
public sealed class MarkdownEscapeTests
{
    [Fact]
    public void Html_in_study_names_descriptions_and_table_cells_is_escaped()
    {
        const string attack = "<script>alert(1)</script><img src=x onerror=alert(2)>";
        var document = new ReportDocument($"Study {attack}",
        [
            new Section($"Section {attack}",
            [
                new Paragraph($"description {attack} & more"),
                new Verbatim($"definition {attack}", "study: x"),
                new Table($"caption {attack}", ["method", "auc"], [[new Cell($"variant {attack}"), new Cell("0.9|1", Best: true)]]),
            ]),
        ]);
        var md = MarkdownReport.Render(document);
        Assert.DoesNotContain("<script", md, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", md, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(6, md.Split("&lt;script&gt;alert(1)&lt;/script&gt;").Length - 1);
        Assert.Contains("description &lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; &amp; more", md);
        // The report's own markup is kept: the collapsed definition, bold best values, pipes escaped in cells.
        Assert.Contains("<details><summary>definition &lt;script&gt;", md);
        Assert.Contains("**★ 0.9\\|1**", md);
    }
}
