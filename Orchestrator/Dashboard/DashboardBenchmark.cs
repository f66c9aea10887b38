using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Orchestrator.Workers;
using Studies.Reports;
using Studies.Reports.Browser;
using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Dashboard;

/// <summary>
/// <c>studies bench dashboard</c>: records the report benchmark's synthetic 1,000-trial study
/// (50 masses, 100 epochs) in a fresh workspace, starts <c>studies serve --dashboard</c> on it as
/// its own process, and opens the study's page in headless Chromium several times. Reports the
/// page's first paint, when its trial table was drawn and when the report's charts were, and the
/// serve process's resident memory (peak over the run). Targets: under 300 MB, first paint under 2 s.
/// </summary>
public static partial class DashboardBenchmark
{
    public const int Rounds = 3;
    private static readonly TimeSpan PageTimeout = TimeSpan.FromMinutes(3);

    /// <param name="keep">A folder to record the study in and keep (a second run reuses it); null: a temporary one.</param>
    public static async Task<int> RunAsync(TextWriter output, string? keep = null)
    {
        if (!HeadlessChromium.IsInstalled())
        {
            output.WriteLine(HeadlessChromium.NotInstalled);
            return 1;
        }
        var home = keep is null ? Directory.CreateTempSubdirectory("studies-dashboard-benchmark-").FullName : Path.GetFullPath(keep);
        Process? serve = null;
        try
        {
            var database = Path.Combine(home, "studies.db");
            if (File.Exists(database))
            {
                output.WriteLine($"using the study recorded in {database}");
            }
            else
            {
                var clock = Stopwatch.StartNew();
                Directory.CreateDirectory(home);
                var study = SyntheticStudies.Create(ReportBenchmark.Shape);
                await using (var store = await SqliteStudyStorage.OpenAsync(database, StoreAccess.ReadWrite, CancellationToken.None))
                    await RecordAsync(store, study);
                output.WriteLine(Invariant($"recorded {study.Trials.Count} synthetic trials x {ReportBenchmark.Shape.Masses} masses x {ReportBenchmark.Shape.Epochs} epochs in {clock.Elapsed.TotalSeconds:0.0} s"));
            }

            var self = WorkerCommandLine.Self();
            var start = new ProcessStartInfo(self.FileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in self.PrefixArguments.Concat(["serve", "--dashboard", "--port", "0", "--home", home])) start.ArgumentList.Add(a);
            serve = Process.Start(start) ?? throw new InvalidOperationException("could not start studies serve");
            serve.ErrorDataReceived += (_, _) => { };
            serve.BeginErrorReadLine();
            var url = await DashboardUrlAsync(serve);
            var page = new Uri(url, $"/studies/{ReportBenchmark.Shape.Name}#bench");
            output.WriteLine($"serve --dashboard (pid {serve.Id}) at {url}; opening {page.AbsolutePath}");

            output.WriteLine($"{"round",5} {"first paint",12} {"trial table",12} {"report charts",14} {"serve RSS",10}");
            var paints = new List<double>();
            var tables = new List<double>();
            for (var round = 1; round <= Rounds; round++)
            {
                var marks = await OpenAsync(page);
                var rss = Memory(serve.Id, "VmRSS");
                paints.Add(marks.GetValueOrDefault("first-contentful-paint", double.NaN) / 1000);
                tables.Add(marks.GetValueOrDefault("first-view", double.NaN) / 1000);
                output.WriteLine(Invariant($"{round,5} {paints[^1],10:0.00} s {tables[^1],10:0.00} s {marks.GetValueOrDefault("charts", double.NaN) / 1000,12:0.00} s {rss,7:0} MB"));
            }
            var peak = Memory(serve.Id, "VmHWM");
            output.WriteLine(Invariant($"first paint best {paints.Min():0.00} s (spread {paints.Max() - paints.Min():0.00} s); trial table best {tables.Min():0.00} s (spread {tables.Max() - tables.Min():0.00} s)"));
            output.WriteLine(Invariant($"dashboard: serve peak memory {peak:0} MB with a 1,000-trial study open (target < 300 MB); first paint {paints.Min():0.00} s, trial table drawn {tables.Min():0.00} s (target < 2 s)"));
            return 0;
        }
        finally
        {
            if (serve is not null)
            {
                if (!serve.HasExited) serve.Kill(entireProcessTree: true);
                await serve.WaitForExitAsync();
                serve.Dispose();
            }
            if (keep is null) Directory.Delete(home, recursive: true);
        }
    }

    /// <summary>
    /// Records a synthetic study through the store's own write path, as a run would have: each trial
    /// claimed in turn and its result or failure recorded by its owner. <paramref name="queued"/>
    /// trials are planned after them and left queued.
    /// </summary>
    public static async Task RecordAsync(IStudyStorage store, StudyRecord study, IReadOnlyList<PlannedTrialRow>? queued = null)
    {
        const string owner = "synthetic";
        var settings = new StudySettings
        {
            Description = study.Description, Compare = study.CompareAxes, Headline = study.Headline, IsSearch = study.IsSearch, Objectives = study.SearchObjectives,
        };
        var row = await store.SyncStudyAsync(new StudyDefinition(study.Name, null, study.DefinitionText, "synthetic", "synthetic", settings),
            [.. study.Trials.Select(t => new PlannedTrialRow(t.TrialId, "{}", t.Axes)), .. queued ?? []], force: false);
        foreach (var t in study.Trials)
        {
            var claimed = await store.ClaimNextAsync(row.Id, new TrialClaim(owner, t.Device is { Length: > 0 } d ? d : "cpu", TimeSpan.FromHours(1)))
                ?? throw new InvalidOperationException($"trial {t.TrialId} could not be claimed");
            if (claimed.TrialId != t.TrialId) throw new InvalidOperationException($"claimed {claimed.TrialId}, expected {t.TrialId}");
            if (t.State == TrialState.Pruned)
            {
                // As a search records one: its epochs as they were reported, then the pruner's verdict.
                await store.RecordEpochsAsync(row.Id, t.TrialId, owner, t.Result?.Epochs ?? []);
                await store.RecordFailureAsync(row.Id, t.TrialId, owner, new TrialFailure(TrialState.Pruned, t.Error ?? "pruned", "pruned"));
            }
            else if (t.Result is { } result)
                await store.RecordResultAsync(row.Id, t.TrialId, owner, t.State, result, t.Seconds, "{}");
            else
                await store.RecordFailureAsync(row.Id, t.TrialId, owner, new TrialFailure(t.State, t.Error ?? t.State.Name(), t.State.Name()));
        }
    }

    private static async Task<Uri> DashboardUrlAsync(Process serve)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (await serve.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("dashboard: ", StringComparison.Ordinal)) return new Uri(line["dashboard: ".Length..]);
        }
        throw new InvalidOperationException($"studies serve --dashboard exited ({serve.ExitCode}) without printing its address");
    }

    /// <summary>
    /// Opens the page in headless Chromium (real time, no virtual clock) and collects the times the
    /// page logs in bench mode (<c>#bench</c>): milliseconds since navigation.
    /// </summary>
    private static async Task<Dictionary<string, double>> OpenAsync(Uri page)
    {
        var profile = Directory.CreateTempSubdirectory("dashboard-chromium-");
        var start = new ProcessStartInfo(HeadlessChromium.DefaultPath) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--enable-logging=stderr", "--v=0", "--window-size=1400,1000", $"--user-data-dir={profile.FullName}", page.AbsoluteUri,
        }) start.ArgumentList.Add(arg);
        using var chromium = Process.Start(start) ?? throw new InvalidOperationException($"could not start {HeadlessChromium.DefaultPath}");
        var marks = new Dictionary<string, double>();
        try
        {
            _ = chromium.StandardOutput.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(PageTimeout);
            while (!marks.ContainsKey("charts") && await chromium.StandardError.ReadLineAsync(timeout.Token) is { } line)
            {
                if (BenchMark().Match(line) is { Success: true } m)
                    marks[m.Groups[1].Value] = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            }
            return marks;
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the page {page} did not draw its charts within {PageTimeout.TotalSeconds:0} s (marks so far: {JsonSerializer.Serialize(marks)})");
        }
        finally
        {
            if (!chromium.HasExited) chromium.Kill(entireProcessTree: true);
            await chromium.WaitForExitAsync();
            try { profile.Delete(recursive: true); } catch (IOException) { /* chromium may still release files */ }
        }
    }

    /// <summary>A line of /proc/PID/status in MB (VmRSS: now; VmHWM: the peak).</summary>
    private static double Memory(int pid, string key)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(key + ":", StringComparison.Ordinal))
                return double.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        }
        return double.NaN;
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex("\"bench ([a-z-]+) ([0-9.]+)\"")]
    private static partial Regex BenchMark();
}
