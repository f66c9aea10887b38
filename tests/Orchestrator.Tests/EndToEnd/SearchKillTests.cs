using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Search;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary>
/// An adaptive search (TPE + ASHA, 2 worker slots) run by the real <c>studies</c> program, SIGKILLed at random moments
/// five times and resumed: no proposal is lost or duplicated, no trial is left running or run twice to completion, and
/// every trial ends completed or pruned with its reason.
/// </summary>
public sealed class SearchKillTests : IDisposable
{
    private readonly StudiesHome home = new();

    public void Dispose() => home.Dispose();

    [Fact]
    public async Task A_search_killed_five_times_resumes_with_no_proposal_lost_or_duplicated_and_no_trial_stuck()
    {
        var file = StudiesHome.StudyFile("e2e-search.yaml");
        var random = new Random(2026);
        var killedWithProposals = 0;
        for (var round = 0; round < 5; round++)
        {
            using var run = home.Start("run", file, "--progress", "log");
            var delay = TimeSpan.FromSeconds(1.5 + 4 * random.NextDouble());
            await Task.Delay(delay);
            if (run.HasExited) break; // the search finished before this kill: the checks below still hold
            run.KillHard();
            await run.WaitAsync(TimeSpan.FromSeconds(90));
            Assert.Empty(await home.WaitForNoWorkersAsync(TimeSpan.FromSeconds(10)));
            if (File.Exists(home.Database) && home.Scalar("SELECT COUNT(*) FROM proposals") > 0) killedWithProposals++;
        }
        Assert.True(killedWithProposals >= 3, $"only {killedWithProposals} kills came after the first proposal");

        var last = await home.RunAsync(TimeSpan.FromSeconds(300), "run", file, "--progress", "log");
        Assert.True(last.ExitCode == 0, last.ToString());

        await using var store = await home.OpenStoreAsync();
        var study = (await store.FindStudyAsync("e2e-search"))!;
        var proposals = await store.ListProposalsAsync(study.Id);
        Assert.Equal(Enumerable.Range(0, 12), proposals.Select(p => p.Proposal.Number));
        Assert.All(proposals, p => Assert.Single(p.TrialIds));
        var points = proposals.Select(p => string.Join(",", p.Proposal.Point.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value:R}"))).ToList();
        Assert.Equal(points.Count, points.Distinct().Count());

        var trials = (await store.ListTrialsAsync(study.Id)).ToList();
        var describe = string.Join("\n", trials.Select(t => $"{t.TrialId} {t.State} attempts {t.Attempts} {t.Error}"));
        Assert.Equal(12, trials.Count);
        Assert.True(trials.All(t => t.State is TrialState.Completed or TrialState.Pruned), describe);
        Assert.All(trials.Where(t => t.State == TrialState.Pruned), t => Assert.True(TrialStates.PrunedEpoch(t.Error) <= 60, t.Error));
        foreach (var t in trials.Where(t => t.State == TrialState.Completed)) await RecordChecks.AssertCompletedOnceAsync(home, store, study.Id, t);
        // No epoch row twice for any trial, pruned ones included.
        Assert.Equal(0, home.Scalar("SELECT COUNT(*) FROM (SELECT 1 FROM epochs GROUP BY study_id, trial_id, phase, epoch, metric HAVING COUNT(*) > 1)"));
        Assert.Equal("ok", await store.IntegrityCheckAsync());
        Assert.Empty(home.WorkerPids());
    }
}
