using System.CommandLine;
using Studies.Orchestrator.Actions;
using Microsoft.Extensions.DependencyInjection;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Reporting;
using Studies.Orchestrator.Storage;
using Studies.Reports;

namespace Studies.Orchestrator.Cli;

/// <summary><c>studies report</c> and <c>studies export</c>: read recorded results (safe while a run is writing).</summary>
internal static class ReportCommands
{
    public static Command Report()
    {
        var studies = new Argument<string[]>("study") { Description = "One study, or several to compare side by side", Arity = ArgumentArity.OneOrMore };
        var output = new Option<DirectoryInfo?>("--out") { Description = "Output folder (default: the workspace's <study>/report, or compare-<a>-<b>/report)" };
        var figures = new Option<string?>("--figures") { Description = "Also write every chart, and the ROC, classifier-output and significance-versus-cut figures, as files in a HEP style under figures/: a comma-separated list of png, pdf, svg" };
        var latex = new Option<bool>("--latex") { Description = "Also write the verdict, ranking and paired tables as booktabs LaTeX under latex/, with figures.tex placing the figures and a standalone report.tex" };
        var command = new Command("report", "Write report.html, report.md and the CSV exports for recorded studies") { studies, output, figures, latex };
        command.SetAction(async (parse, ct) =>
        {
            await using var opened = await CommonOptions.OpenExistingStoreAsync(parse, StoreAccess.ReadOnly, ct);
            if (opened is null) return 1;
            var store = opened.Store;
            var names = parse.GetValue(studies)!;
            IReadOnlyList<string> formats = [];
            if (parse.GetValue(figures) is { } list)
            {
                try
                {
                    formats = global::Studies.Reports.Figures.PaperFigures.ParseFormats(list);
                }
                catch (ArgumentException e)
                {
                    Console.Error.WriteLine($"report: {e.Message}");
                    return 1;
                }
            }
            foreach (var name in names)
            {
                if (await CommonOptions.FindStudyAsync(store, name, ct) is null) return 1;
            }
            var workspace = CommonOptions.Workspace(parse);
            var path = await StudyActions.ReportAsync(opened.Services.GetRequiredService<IReportPublisher>(), store, workspace, names, parse.GetValue(output)?.FullName, ct);
            Console.WriteLine($"report: {path}");
            if (formats.Count > 0 || parse.GetValue(latex))
            {
                var written = await PaperOutput.WriteAsync(store, names, Path.GetDirectoryName(path)!, formats, parse.GetValue(latex), ct);
                foreach (var folder in written.Select(Path.GetDirectoryName).Distinct())
                    Console.WriteLine($"paper output: {written.Count(f => Path.GetDirectoryName(f) == folder)} files in {folder}");
            }
            return 0;
        });
        return command;
    }

    public static Command Export()
    {
        var study = new Argument<string>("study") { Description = "The study's name" };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for trials, epochs and mass_metrics (.csv or .parquet)", Required = true };
        var format = new Option<string>("--format") { Description = "csv (default) or parquet: the same columns either way", DefaultValueFactory = _ => "csv" };
        format.AcceptOnlyFromAmong("csv", "parquet");
        var command = new Command("export", "Export a study's records as CSV or Parquet (trials, epochs, mass_metrics; see docs/exports.md)") { study, output, format };
        command.SetAction(async (parse, ct) =>
        {
            await using var opened = await CommonOptions.OpenExistingStoreAsync(parse, StoreAccess.ReadOnly, ct);
            if (opened is null) return 1;
            var store = opened.Store;
            var row = await CommonOptions.FindStudyAsync(store, parse.GetValue(study)!, ct);
            if (row is null) return 1;
            var directory = parse.GetValue(output)!.FullName;
            Directory.CreateDirectory(directory);
            var record = await StudyRecords.LoadAsync(store, row, ct);
            if (parse.GetValue(format) == "parquet")
            {
                await ParquetExport.WriteAsync(record, directory, ct);
                Console.WriteLine($"exported {row.Name} to {directory}: {ParquetExport.TrialsFile}, {ParquetExport.EpochsFile}, {ParquetExport.MassMetricsFile}");
            }
            else
            {
                CsvExport.Write(record, directory);
                Console.WriteLine($"exported {row.Name} to {directory}: {CsvExport.SummaryFile}, {CsvExport.TrialsFile}, {CsvExport.EpochsFile}, {CsvExport.MassMetricsFile}");
            }
            return 0;
        });
        return command;
    }
}
