using System.Diagnostics;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary>
/// One clean run of <c>e2e-faults.yaml</c>, shared by the fault tests: the workspace they copy and
/// the exports a resumed run must reproduce exactly.
/// </summary>
public sealed class CleanRunFixture : IAsyncLifetime
{
    internal StudiesHome Home { get; } = new();

    /// <summary>epochs.csv and mass_metrics.csv of the clean run, lines sorted.</summary>
    internal IReadOnlyDictionary<string, string[]> Exports { get; private set; } = new Dictionary<string, string[]>();

    public async Task InitializeAsync()
    {
        var run = await Home.RunAsync(FaultTests.RunTimeout, "run", StudiesHome.StudyFile("e2e-faults.yaml"));
        Assert.True(run.ExitCode == 0, run.ToString());
        Exports = await FaultTests.ExportAsync(Home);
    }

    public Task DisposeAsync()
    {
        Home.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Faults of the machine, through the real <c>studies</c> program: a full disk (a small tmpfs as
/// the workspace), a read-only workspace (a read-only bind mount: root ignores permission bits), a
/// corrupt and a zero-length database. Each ends with one clear line and a non-zero exit code, no
/// stack trace; after space is freed the study resumes and its results equal a clean run's; a
/// read-only copy of a workspace can be listed, exported and reported. Mounting needs root (the
/// set-up runs as root); a test that cannot mount fails saying so.
/// </summary>
public sealed class FaultTests(CleanRunFixture clean) : IClassFixture<CleanRunFixture>, IDisposable
{
    internal static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);

    private readonly List<string> mounts = new();
    private readonly List<StudiesHome> homes = new();

    public void Dispose()
    {
        // Lazily: a worker killed a moment ago may still hold a file there.
        foreach (var path in Enumerable.Reverse(mounts)) Mount("umount", "-l", path);
        foreach (var home in homes) home.Dispose();
    }

    private StudiesHome NewHome()
    {
        var home = new StudiesHome();
        homes.Add(home);
        return home;
    }

    private static string Study => StudiesHome.StudyFile("e2e-faults.yaml");

    [Theory]
    [InlineData(192)]
    [InlineData(1024)]
    public async Task A_full_disk_ends_with_one_line_and_after_space_is_freed_the_study_resumes_to_the_clean_results(int freeKiB)
    {
        var home = NewHome();
        MountTmpfs(home.Root, sizeKiB: 4096);
        var filler = Path.Combine(home.Root, "filler");
        FillLeaving(filler, home.Root, freeKiB);

        var full = await home.RunAsync(RunTimeout, "run", Study);
        AssertOneClearError(full, "disk is full");
        Assert.Equal(5, full.ExitCode);
        // The crashed run's trials are not shown as running as if someone ran them: once its lease
        // ran out (3 s in these tests), status marks each as resuming at the next run.
        var (orphansMarked, status) = await RunningTrialsMarkedAsync(home);

        File.Delete(filler);
        var resumed = await home.RunAsync(RunTimeout, "run", Study);
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        var exports = await ExportAsync(home);
        foreach (var (file, lines) in clean.Exports) Assert.Equal(lines, exports[file]);

        Assert.True(orphansMarked, status.ToString());
    }

    [Fact]
    public async Task A_read_only_copy_of_a_workspace_is_listed_exported_and_reported_and_writes_fail_with_one_line()
    {
        var home = NewHome();
        CopyDirectory(clean.Home.Root, home.Root);
        MountReadOnly(home.Root);
        Assert.Throws<IOException>(() => File.WriteAllText(Path.Combine(home.Root, "probe"), "x"));
        var output = Directory.CreateTempSubdirectory("studies-ro-out-").FullName;
        try
        {
            var list = await home.RunAsync(CommandTimeout, "list");
            Assert.True(list.ExitCode == 0, list.ToString());
            Assert.Contains("e2e-faults", list.Stdout);
            var status = await home.RunAsync(CommandTimeout, "status", "e2e-faults");
            Assert.True(status.ExitCode == 0, status.ToString());
            Assert.Contains("2/2 finished", status.Stdout);
            var export = await home.RunAsync(CommandTimeout, "export", "e2e-faults", "--out", Path.Combine(output, "export"));
            Assert.True(export.ExitCode == 0, export.ToString());
            foreach (var (file, lines) in clean.Exports)
                Assert.Equal(lines, File.ReadAllLines(Path.Combine(output, "export", file)).Skip(1).Order(StringComparer.Ordinal).ToArray());
            var report = await home.RunAsync(CommandTimeout, "report", "e2e-faults", "--out", Path.Combine(output, "report"));
            Assert.True(report.ExitCode == 0, report.ToString());
            Assert.True(File.Exists(Path.Combine(output, "report", "report.html")), report.ToString());

            // Commands that write say so in one line.
            foreach (var args in new[] { new[] { "run", Study }, ["retry", "e2e-faults", "--failed"], ["cancel", "e2e-faults"], ["report", "e2e-faults"] })
            {
                var write = await home.RunAsync(RunTimeout, args);
                AssertOneClearError(write, "read-only");
            }
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [Theory]
    [InlineData("corrupt")]
    [InlineData("zero-length")]
    public async Task A_damaged_database_ends_every_command_with_one_line_naming_it(string damage)
    {
        var home = NewHome();
        CopyDirectory(clean.Home.Root, home.Root);
        if (damage == "corrupt")
        {
            using var db = new FileStream(home.Database, FileMode.Open, FileAccess.Write);
            db.Write(System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("not a database ", 8))));
        }
        else
        {
            File.WriteAllBytes(home.Database, []);
        }
        var before = File.ReadAllBytes(home.Database);
        foreach (var args in new[] { new[] { "list" }, ["status", "e2e-faults"], ["export", "e2e-faults", "--out", Path.Combine(home.Root, "export")], ["run", Study] })
        {
            var result = await home.RunAsync(RunTimeout, args);
            AssertOneClearError(result, home.Database);
            Assert.True(result.ExitCode == 4, $"`{string.Join(' ', args)}`: {result}");
        }
        // Nothing was written over it: what is left can still be rescued.
        Assert.Equal(before, File.ReadAllBytes(home.Database));
    }

    /// <summary>
    /// Polls <c>studies status</c> until every trial it counts as running carries the lease-expired
    /// mark (true), or 20 s pass (false); returns the last status.
    /// </summary>
    private static async Task<(bool Marked, CliResult Status)> RunningTrialsMarkedAsync(StudiesHome home)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var status = await home.RunAsync(CommandTimeout, "status", "e2e-faults");
            Assert.True(status.ExitCode == 0, status.ToString());
            var counts = System.Text.RegularExpressions.Regex.Match(status.Stdout, @"e2e-faults: \d+/\d+ finished.*?running (\d+)");
            var running = counts.Success ? int.Parse(counts.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
            var marked = System.Text.RegularExpressions.Regex.Matches(status.Stdout, "lease expired: resumes at the next run").Count;
            if (marked == running) return (true, status);
            if (clock.Elapsed > TimeSpan.FromSeconds(20)) return (false, status);
            await Task.Delay(1000);
        }
    }

    /// <summary>A non-zero exit, exactly one stderr line starting with <c>error:</c> and containing <paramref name="text"/>, no stack trace anywhere.</summary>
    private static void AssertOneClearError(CliResult result, string text)
    {
        Assert.True(result.ExitCode != 0, result.ToString());
        var errors = result.StderrLines.Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 1 && errors[0].Contains(text, StringComparison.Ordinal), $"expected one error line with '{text}'\n{result}");
        Assert.DoesNotContain(result.StderrLines.Concat(result.StdoutLines), l => l.StartsWith("at ", StringComparison.Ordinal) || l.Contains("Exception:", StringComparison.Ordinal));
    }

    internal static async Task<IReadOnlyDictionary<string, string[]>> ExportAsync(StudiesHome home)
    {
        var directory = Path.Combine(Path.GetTempPath(), "studies-fault-export-" + Guid.NewGuid().ToString("N"));
        try
        {
            var export = await home.RunAsync(CommandTimeout, "export", "e2e-faults", "--out", directory);
            Assert.True(export.ExitCode == 0, export.ToString());
            // Metric values only: trials.csv holds run times and attempt counts, which a resumed run changes on purpose.
            return new[] { "epochs.csv", "mass_metrics.csv" }.ToDictionary(f => f,
                f => File.ReadAllLines(Path.Combine(directory, f)).Skip(1).Order(StringComparer.Ordinal).ToArray());
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    private void MountTmpfs(string path, int sizeKiB)
    {
        RequireMount("mount", "-t", "tmpfs", "-o", $"size={sizeKiB}k", "tmpfs", path);
        mounts.Add(path);
    }

    private void MountReadOnly(string path)
    {
        RequireMount("mount", "--bind", path, path);
        mounts.Add(path);
        RequireMount("mount", "-o", "remount,bind,ro", path);
    }

    /// <summary>A file that takes all but <paramref name="freeKiB"/> of the file system's free space.</summary>
    private static void FillLeaving(string file, string directory, int freeKiB)
    {
        var available = new DriveInfo(directory).AvailableFreeSpace;
        var size = available - freeKiB * 1024L;
        Assert.True(size > 0, $"only {available} bytes free in {directory}");
        using var stream = new FileStream(file, FileMode.CreateNew);
        var block = new byte[64 * 1024];
        for (long written = 0; written < size; written += block.Length) stream.Write(block, 0, (int)Math.Min(block.Length, size - written));
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
    }

    private static void RequireMount(params string[] command)
    {
        var (code, output) = Mount(command);
        Assert.True(code == 0, $"`{string.Join(' ', command)}` failed ({code}): {output}; these tests need root (CAP_SYS_ADMIN) to mount a small or read-only file system");
    }

    private static (int Code, string Output) Mount(params string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in command.Skip(1)) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output.Trim());
    }
}
