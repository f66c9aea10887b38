using Studies.Orchestrator.Tests.EndToEnd;

namespace Studies.Orchestrator.Tests.Compatibility;

/// <summary>
/// A store written by an earlier release resumes with nothing re-run: the current build upgrades its
/// schema, finds every trial of the unchanged study file completed, and only writes the report.
/// </summary>
public sealed class PreviousReleaseStoreTests
{
    private static string Fixture(string release, string file) =>
        Path.Combine(ReadyStudies.RepositoryRoot(), "tests", "Orchestrator.Tests", "Compatibility", $"release-{release}", file);

    [Fact]
    public async Task The_quickstart_recorded_by_release_6b2b100_resumes_with_nothing_re_run()
    {
        using var home = new StudiesHome();
        File.Copy(Fixture("6b2b100", "quickstart-store.sqlite"), home.Database);
        var study = Path.Combine(home.Root, "quickstart.yaml");
        File.Copy(Fixture("6b2b100", "quickstart.yaml"), study);
        var attemptsBefore = home.Scalar("SELECT count(*) FROM attempts");
        var epochsBefore = home.Scalar("SELECT count(*) FROM epochs");
        Assert.Equal(12, attemptsBefore);

        var run = await home.RunAsync(TimeSpan.FromMinutes(4), "run", study);

        Assert.True(run.ExitCode == 0, run.ToString());
        // Neither a live row nor a log line of a trial run now ("start ..." live, "trial k/n ..." in log mode).
            Assert.DoesNotContain(run.StdoutLines, l => l.StartsWith("start ", StringComparison.Ordinal) || System.Text.RegularExpressions.Regex.IsMatch(l, @"^trial \d+/\d+ "));
        Assert.Contains(run.StdoutLines, l => l.StartsWith("report: ", StringComparison.Ordinal));
        Assert.Equal(attemptsBefore, home.Scalar("SELECT count(*) FROM attempts"));
        Assert.Equal(epochsBefore, home.Scalar("SELECT count(*) FROM epochs"));
        Assert.Equal(12, home.Scalar("SELECT count(*) FROM trials WHERE state = 'completed'"));
        Assert.Equal(12, home.Scalar("SELECT count(*) FROM trials"));

        // Its trials have no score curves: the paper output is written without the score figures, and the report says why.
        var report = await home.RunAsync(TimeSpan.FromMinutes(2), "report", "quickstart", "--figures", "png", "--latex");
        Assert.True(report.ExitCode == 0, report.ToString());
        var folder = Path.GetDirectoryName(report.StdoutLines.First(l => l.StartsWith("report: ", StringComparison.Ordinal))["report: ".Length..])!;
        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(folder, "figures")), f => Path.GetFileName(f).StartsWith("roc_m", StringComparison.Ordinal));
        Assert.Contains("No completed trial recorded score curves", File.ReadAllText(Path.Combine(folder, "report.md")));
        global::Studies.Reports.Tests.PaperFiles.AssertCompiles(Path.Combine(folder, "latex", "report.tex"));
    }

    [Fact]
    public void The_current_quickstart_file_still_names_the_recorded_trials()
    {
        // The ready quickstart may gain comments, but not new ids for what the old release recorded.
        using var home = new StudiesHome();
        File.Copy(Fixture("6b2b100", "quickstart-store.sqlite"), home.Database);
        var recorded = new HashSet<string>();
        using (var connection = home.OpenRaw())
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT trial_id FROM trials";
            using var reader = command.ExecuteReader();
            while (reader.Read()) recorded.Add(reader.GetString(0));
        }
        var current = StudyExpander.Expand(StudyLoader.Load(Path.Combine(ReadyStudies.RepositoryRoot(), "studies", "quickstart.yaml")))
            .Select(t => t.TrialId).ToHashSet();
        Assert.Equal(12, recorded.Count);
        Assert.Subset(current, recorded);
    }
}
