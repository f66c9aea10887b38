using System.Diagnostics;

namespace Studies.Reports.Tests;

/// <summary>
/// Opens paper output with real readers: pdflatex for LaTeX, poppler for PDF. Shared with the end-to-end tests of
/// <c>studies report</c> (linked into Orchestrator.Tests).
/// </summary>
internal static class PaperFiles
{
    public static (int ExitCode, string Output) Run(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }

    /// <summary>
    /// Compiles <paramref name="file"/> with pdflatex as a paper would (no shell escape, stop at the first error) in its own
    /// folder, so that relative figure paths resolve, writing into a temporary one; fails with pdflatex's own error lines.
    /// </summary>
    public static void AssertCompiles(string file)
    {
        var (found, _) = Run("sh", "-c", "command -v pdflatex");
        Assert.True(found == 0, "pdflatex is not installed: ./test.sh installs texlive-latex-base and texlive-latex-recommended (booktabs)");
        var work = Directory.CreateTempSubdirectory("latex-").FullName;
        try
        {
            var info = new ProcessStartInfo("pdflatex") { WorkingDirectory = Path.GetDirectoryName(file)!, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-halt-on-error", "-no-shell-escape", "-interaction=nonstopmode", "-output-directory", work, Path.GetFileName(file) })
                info.ArgumentList.Add(a);
            using var p = Process.Start(info)!;
            var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            var errors = string.Join("\n", output.Split('\n').Where(l => l.StartsWith('!') || l.StartsWith("l.", StringComparison.Ordinal)));
            Assert.True(p.ExitCode == 0, $"pdflatex {file} failed:\n{errors}\n{output[^Math.Min(output.Length, 1500)..]}");
            var pdf = Path.Combine(work, Path.ChangeExtension(Path.GetFileName(file), ".pdf"));
            Assert.True(File.Exists(pdf), $"pdflatex wrote no {pdf}");
            Assert.Equal(0, Run("pdfinfo", pdf).ExitCode);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
