using System.Text.Json.Nodes;

namespace Studies.Reports.Rendering;

/// <summary>
/// The report as a format-neutral document, so report.html and report.md show the same tables
/// from one source: sections of paragraphs, tables, verbatim text and charts (HTML only).
/// </summary>
public sealed record ReportDocument(string Title, IReadOnlyList<Section> Sections);

public sealed record Section(string Title, IReadOnlyList<Block> Blocks);

public abstract record Block;

public sealed record Paragraph(string Text) : Block;

/// <summary>Preformatted text (a study definition) behind a collapsed heading.</summary>
public sealed record Verbatim(string Summary, string Text) : Block;

/// <summary>A table cell; <see cref="Best"/> marks the best value of its column.</summary>
public sealed record Cell(string Text, bool Best = false)
{
    public static implicit operator Cell(string text) => new(text);
}

public sealed record Table(string Caption, IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<Cell>> Rows) : Block;

/// <summary>A Vega-Lite chart: its container id, a title, and the spec with data inlined.</summary>
public sealed record Chart(string Id, string Title, JsonObject Spec) : Block;

/// <summary>A figure written as files (studies report --figures): its caption and its files, relative to the report's folder.</summary>
public sealed record FigureLinks(string Caption, IReadOnlyList<string> Files) : Block;
