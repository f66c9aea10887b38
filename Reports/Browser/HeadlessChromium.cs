using System.Diagnostics;

namespace Studies.Reports.Browser;

/// <summary>Debian's chromium run headless on a local file: dumps the DOM after scripts ran, or takes a screenshot.</summary>
public static class HeadlessChromium
{
    public const string DefaultPath = "/usr/bin/chromium";
    public const string NotInstalled = "chromium not installed: run apt-get install -y chromium";

    public static bool IsInstalled(string path = DefaultPath) => File.Exists(path);

    /// <summary>
    /// The page's DOM once its scripts ran. Virtual time lets timers and animation frames run as
    /// fast as the CPU allows, up to <paramref name="virtualTimeBudgetMs"/> of page time.
    /// </summary>
    public static string DumpDom(string htmlPath, int virtualTimeBudgetMs = 30000, TimeSpan? timeout = null) =>
        Run(htmlPath, ["--dump-dom"], virtualTimeBudgetMs, timeout ?? TimeSpan.FromMinutes(2));

    public static void Screenshot(string htmlPath, string pngPath, int width = 1400, int height = 4000, int virtualTimeBudgetMs = 30000, TimeSpan? timeout = null)
    {
        Run(htmlPath, [$"--screenshot={Path.GetFullPath(pngPath)}", $"--window-size={width},{height}"], virtualTimeBudgetMs, timeout ?? TimeSpan.FromMinutes(2));
        if (!File.Exists(pngPath)) throw new InvalidOperationException($"chromium wrote no screenshot to {pngPath}");
    }

    private static string Run(string htmlPath, IReadOnlyList<string> mode, int budgetMs, TimeSpan timeout)
    {
        if (!IsInstalled()) throw new InvalidOperationException(NotInstalled);
        var profile = Directory.CreateTempSubdirectory("reports-chromium-");
        try
        {
            var start = new ProcessStartInfo(DefaultPath)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", $"--user-data-dir={profile.FullName}", $"--virtual-time-budget={budgetMs}",
            }) start.ArgumentList.Add(arg);
            foreach (var arg in mode) start.ArgumentList.Add(arg);
            start.ArgumentList.Add(new Uri(Path.GetFullPath(htmlPath)).AbsoluteUri);

            using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {DefaultPath}");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"chromium did not finish {htmlPath} within {timeout.TotalSeconds:0} s");
            }
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"chromium exited with {process.ExitCode} on {htmlPath}: {stderr.Result.Trim()}");
            return stdout.Result;
        }
        finally
        {
            try { profile.Delete(recursive: true); } catch (IOException) { /* chromium may still release files; a temp folder left behind is harmless */ }
        }
    }
}
