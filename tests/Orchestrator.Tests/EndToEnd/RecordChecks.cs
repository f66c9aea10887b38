using System.Text.Json.Nodes;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary>
/// Checks that a trial's records are complete and written once, read with raw SQL so a duplicate
/// row could not hide behind the store's own grouping.
/// </summary>
internal static class RecordChecks
{
    /// <summary>
    /// A completed trial has one row per (phase, epoch, metric) for every epoch 1..N of its schedule
    /// (N as its spec and its recorded result both say), one phase row per phase, and per-mass metrics
    /// for every mass x split x epoch kind, each once.
    /// </summary>
    public static async Task AssertCompletedOnceAsync(StudiesHome home, IStudyStorage store, long studyId, TrialRow trial)
    {
        var spec = SpecJson.Deserialize<TrialSpec>(trial.SpecJson);
        // A bdt records one point per boosting round (these studies stop none early).
        var epochs = spec.Model.Boosting?.Trees ?? spec.Schedule.Sum(p => p.Epochs);
        var masses = ((JsonArray)spec.Data.Options["masses"]!).Count;
        var where = ("$s", (object)studyId);
        var id = ("$t", (object)trial.TrialId);
        var what = $"trial {trial.TrialId} ({string.Join(", ", trial.Axes.Select(a => $"{a.Key}={a.Value}"))})";

        Assert.True(trial.State == TrialState.Completed, $"{what}: state {trial.State} ({trial.Error})");
        Assert.Equal(epochs, trial.LastEpoch);

        Assert.Equal(0, home.Scalar("""
            SELECT COUNT(*) FROM (SELECT 1 FROM epochs WHERE study_id = $s AND trial_id = $t GROUP BY phase, epoch, metric HAVING COUNT(*) > 1)
            """, where, id));
        // Epoch numbers count over all phases: exactly 1..N, each in one phase, each with its training loss.
        Assert.Equal(epochs, home.Scalar("SELECT COUNT(DISTINCT epoch) FROM epochs WHERE study_id = $s AND trial_id = $t", where, id));
        Assert.Equal(1, home.Scalar("SELECT MIN(epoch) FROM epochs WHERE study_id = $s AND trial_id = $t", where, id));
        Assert.Equal(epochs, home.Scalar("SELECT MAX(epoch) FROM epochs WHERE study_id = $s AND trial_id = $t", where, id));
        Assert.Equal(epochs, home.Scalar("SELECT COUNT(DISTINCT phase || ':' || epoch) FROM epochs WHERE study_id = $s AND trial_id = $t", where, id));
        Assert.Equal(epochs, home.Scalar("SELECT COUNT(*) FROM epochs WHERE study_id = $s AND trial_id = $t AND metric = 'loss'", where, id));

        Assert.Equal(spec.Schedule.Count, home.Scalar("SELECT COUNT(*) FROM phases WHERE study_id = $s AND trial_id = $t", where, id));
        Assert.Equal(epochs, home.Scalar("SELECT SUM(epochs) FROM phases WHERE study_id = $s AND trial_id = $t", where, id));

        Assert.Equal(0, home.Scalar("""
            SELECT COUNT(*) FROM (SELECT 1 FROM mass_metrics WHERE study_id = $s AND trial_id = $t
                                  GROUP BY mass, split, epoch_kind, metric HAVING COUNT(*) > 1)
            """, where, id));
        Assert.Equal(masses * 2 * 2, home.Scalar("""
            SELECT COUNT(*) FROM (SELECT DISTINCT mass, split, epoch_kind FROM mass_metrics WHERE study_id = $s AND trial_id = $t)
            """, where, id));

        // The result as the store gives it back says the same.
        var result = await store.LoadResultAsync(studyId, trial);
        Assert.Equal(epochs, result.Epochs.Count);
        Assert.Equal(epochs, result.LastEpoch);
        Assert.Equal(epochs, result.Phases.Sum(p => p.Epochs));
        Assert.Equal(masses * 2 * 2, result.Masses.Count);
    }
}
