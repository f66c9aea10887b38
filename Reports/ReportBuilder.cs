using System.Text;
using Studies.Reports.Input;
using Studies.Reports.Rendering;

namespace Studies.Reports;

/// <summary>What <see cref="ReportBuilder.Write"/> produced.</summary>
public sealed record ReportFiles(string Html, string Markdown, IReadOnlyList<string> CsvDirectories);

/// <summary>Writes a comparison report: report.html, report.md and the CSV exports of every study.</summary>
public static class ReportBuilder
{
    public const string HtmlFile = "report.html";
    public const string MarkdownFile = "report.md";

    /// <summary>
    /// Writes into <paramref name="outDir"/> (created if missing). One study's CSVs go beside the
    /// report; with several studies each gets a sub-folder named after it, as their trial ids may clash.
    /// </summary>
    public static ReportFiles Write(ReportInput input, string outDir, bool writeCsv = true)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Studies.Count == 0) throw new ArgumentException("a report needs at least one study; ReportInput.Studies is empty", nameof(input));
        var duplicate = input.Studies.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"study '{duplicate.Key}' is given twice; a comparison needs distinct study names", nameof(input));
        Directory.CreateDirectory(outDir);

        var document = ReportComposer.Compose(input);
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        var html = Path.Combine(outDir, HtmlFile);
        var md = Path.Combine(outDir, MarkdownFile);
        WriteAtomically(html, HtmlReport.Render(document), utf8);
        WriteAtomically(md, MarkdownReport.Render(document), utf8);

        var csv = new List<string>();
        if (writeCsv)
        {
            foreach (var study in input.Studies)
            {
                var dir = input.Studies.Count == 1 ? outDir : Path.Combine(outDir, SafeFolderName(study.Name));
                CsvExport.Write(study, dir, massMetrics: false);
                csv.Add(dir);
            }
            CsvExport.WritePaired(Analysis.PairedComparison.Build(Analysis.MethodGroups.Build(input), input.Studies[0].Headline),
                Path.Combine(outDir, CsvExport.PairedFile));
        }
        return new ReportFiles(html, md, csv);
    }

    private static string SafeFolderName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        var safe = new string(name.Select(c => invalid.Contains(c) ? '_' : c).ToArray());
        return safe is "" or "." or ".." ? "study" : safe;
    }

    /// <summary>
    /// Written beside and renamed into place: a reader (a browser refresh, a second orchestrator publishing the same
    /// study at the same moment) sees the old report or the new one, never half of one.
    /// </summary>
    private static void WriteAtomically(string path, string text, System.Text.Encoding encoding)
    {
        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temp, text, encoding);
        File.Move(temp, path, overwrite: true);
    }
}
