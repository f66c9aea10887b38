using Studies.Orchestrator.Storage;
using Studies.Reports;
using Studies.Reports.Figures;
using Studies.Reports.Input;
using Studies.Reports.Rendering;

namespace Studies.Orchestrator.Reporting;

/// <summary><c>studies report --figures ... --latex</c>: figure files and booktabs tables beside report.html.</summary>
public static class PaperOutput
{
    public const string FiguresFolder = "figures";
    public const string LatexFolder = "latex";

    /// <summary>Writes the requested paper output into <paramref name="reportDirectory"/>'s figures/ and latex/ folders; returns the files written.</summary>
    public static async Task<IReadOnlyList<string>> WriteAsync(IStudyStorage store, IReadOnlyList<string> studies, string reportDirectory,
        IReadOnlyList<string> figureFormats, bool latex, CancellationToken ct)
    {
        var records = new List<StudyRecord>();
        foreach (var name in studies)
        {
            var row = await store.FindStudyAsync(name, ct) ?? throw new StoreException($"no study named '{name}' in {store.Location}");
            records.Add(await StudyRecords.LoadAsync(store, row, ct));
        }
        var input = new ReportInput { Studies = records };
        var files = new List<string>();
        var figures = figureFormats.Count > 0 ? PaperFigures.Draw(input, Path.Combine(reportDirectory, FiguresFolder), figureFormats) : [];
        files.AddRange(figures.SelectMany(f => f.Files));
        if (latex) files.AddRange(LatexTables.Write(ReportComposer.Compose(input), Path.Combine(reportDirectory, LatexFolder), figures));
        if (figures.Count > 0)
        {
            // The report written a moment ago again, now linking the figure files (same records, same numbers).
            var linked = figures.Select(f => f with { Files = f.Files.Select(p => Path.GetRelativePath(reportDirectory, p)).ToList() }).ToList();
            ReportBuilder.Write(input with { Figures = linked }, reportDirectory, writeCsv: false);
        }
        return files;
    }
}
