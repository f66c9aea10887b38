using System.Text;
using Studies.Orchestrator.Tests.Studies;

namespace Studies.Orchestrator.Tests.Compatibility;

/// <summary>
/// The ids of every trial of every ready study file are pinned: a recorded study resumes by matching
/// ids, so a changed id re-runs (and duplicates) a user's finished trials. A new field of a trial's
/// spec must keep old ids (serialise it only when it differs from the old behaviour).
/// </summary>
public sealed class ReadyStudyIdentityTests
{
    /// <summary>Set to 1 to write the pin file anew, only after adding a ready study: existing lines must not change.</summary>
    private const string RewriteVariable = "STUDIES_REWRITE_TRIAL_ID_PINS";

    private static string PinFile => Path.Combine(ReadyStudies.RepositoryRoot(), "tests", "Orchestrator.Tests", "Compatibility", "ready-study-trial-ids.txt");

    /// <summary>"file trial-id" lines, files in name order, ids in expansion order.</summary>
    private static string CurrentPins()
    {
        // affine-hepmass.yaml reads a file, whose absolute path is part of its trials' ids.
        var copy = ReadyStudies.CopyWithHepmassFile(at: "/tmp/studies-trial-id-pins");
        try
        {
            var text = new StringBuilder();
            foreach (var file in Directory.GetFiles(copy, "*.yaml").Order(StringComparer.Ordinal))
            {
                foreach (var trial in StudyExpander.Expand(StudyLoader.Load(file)))
                    text.Append(Path.GetFileName(file)).Append(' ').Append(trial.TrialId).Append('\n');
            }
            return text.ToString();
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Fact]
    public void Every_trial_id_of_every_ready_study_is_unchanged()
    {
        var current = CurrentPins();
        if (Environment.GetEnvironmentVariable(RewriteVariable) == "1") File.WriteAllText(PinFile, current);
        var pinned = File.ReadAllLines(PinFile).Where(l => l.Length > 0).ToList();
        var now = current.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();

        // Every pinned id is still produced by its file (a study may gain trials only in a new file).
        var byFile = now.GroupBy(l => l.Split(' ')[0]).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var file in pinned.GroupBy(l => l.Split(' ')[0]))
        {
            Assert.True(byFile.TryGetValue(file.Key, out var lines), $"{file.Key}: a pinned ready study is gone");
            Assert.Equal(file.ToList(), lines);
        }
        var unpinned = byFile.Keys.Except(pinned.Select(l => l.Split(' ')[0])).ToList();
        Assert.True(unpinned.Count == 0,
            $"ready studies without pinned ids: {string.Join(", ", unpinned)}; run this test once with {RewriteVariable}=1 and commit the pin file");
    }

    [Fact]
    public void The_pin_file_covers_a_real_number_of_trials()
    {
        // Guards against an emptied pin file passing the test above.
        var pinned = File.ReadAllLines(PinFile).Where(l => l.Length > 0).ToList();
        Assert.True(pinned.Count >= 100, $"{pinned.Count} pinned ids");
        Assert.Contains(pinned, l => l.StartsWith("quickstart.yaml ", StringComparison.Ordinal));
        Assert.All(pinned, l => Assert.Matches("^[a-z0-9-]+\\.yaml [0-9a-f]{16}$", l));
    }
}
