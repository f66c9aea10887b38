using Studies.Orchestrator.Dashboard;
using Studies.Orchestrator.Storage;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Dashboard;

public sealed class DashboardViewTests
{
    private const string Owner = "test-owner";
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    private static TrialRow Trial(TrialState state, double? seconds = null) => new(
        "t", 0, "{}", new Dictionary<string, string>(), true, state, 1, 0, null, null, null, null, null, null, null, seconds, null, null, null, null, null);

    [Fact]
    public void The_eta_is_the_remaining_trials_times_the_measured_trial_time_over_the_trials_running_at_once()
    {
        var trials = new[]
        {
            Trial(TrialState.Completed, 10), Trial(TrialState.Completed, 20), Trial(TrialState.Failed, 500),
            Trial(TrialState.Running), Trial(TrialState.Running), Trial(TrialState.Queued), Trial(TrialState.Queued), Trial(TrialState.Cancelled),
        };
        // 4 left (2 running, 2 queued) x 15 s mean / 2 at once.
        Assert.Equal(30, DashboardViews.EtaSeconds(trials));
        Assert.Null(DashboardViews.EtaSeconds([Trial(TrialState.Queued), Trial(TrialState.Running)]));
        Assert.Null(DashboardViews.EtaSeconds([Trial(TrialState.Completed, 10)]));
    }

    [Fact]
    public void Before_a_trial_completed_the_eta_is_projected_from_the_running_trials_epochs()
    {
        const string spec = """{"data": {"source": "gaussian-toy"}, "model": {}, "schedule": [{"loss": "bce", "epochs": 30}, {"loss": "punzi", "epochs": 10}]}""";
        TrialRow Running(double started, int epoch) => Trial(TrialState.Running) with { SpecJson = spec, StartedAt = started, Epoch = epoch };
        // 10 s for 4 of 40 epochs and 20 s for 10 of 40: 100 s and 80 s a trial, 90 s on average; 3 left (2 running, 1 queued) over 2 at once.
        var trials = new[] { Running(90, 4), Running(80, 10), Trial(TrialState.Queued) };
        Assert.Equal(135, DashboardViews.EtaSeconds(trials, now: 100));
        // Not yet at an epoch: nothing to project from.
        Assert.Null(DashboardViews.EtaSeconds([Running(90, 0), Trial(TrialState.Queued)], now: 100));
    }

    [Fact]
    public async Task The_epochs_a_running_trial_recorded_so_far_become_a_live_training_curve_until_it_ends()
    {
        using var workspace = await DashboardWorkspace.SeededAsync();
        await using var store = await workspace.OpenAsync();
        var study = (await store.FindStudyAsync(DashboardWorkspace.StudyName))!;
        var running = (await store.ClaimNextAsync(study.Id, new TrialClaim(Owner, "cpu", Lease)))!;
        await using var dashboardStore = workspace.Store();
        var views = new DashboardViews(dashboardStore, readOnly: false);

        var idle = (await views.StudyAsync(DashboardWorkspace.StudyName, CancellationToken.None))!;
        Assert.Null(idle["live"]);

        var losses = new[] { 0.69, 0.52, 0.47, 9.5 };
        var validation = new[] { 0.71, 0.6, 0.55, 0.58 };
        var epochs = losses.Select((loss, e) => new EpochRecord(e < 3 ? 0 : 1, e + 1, new Dictionary<string, double>
        {
            ["loss"] = loss, ["val_loss"] = validation[e], ["total_epochs"] = 4,
        })).ToList();
        Assert.True(await store.HeartbeatAsync(study.Id, running.TrialId, Owner, Lease, 1, 4));
        Assert.True(await store.RecordEpochsAsync(study.Id, running.TrialId, Owner, epochs));

        var view = (await views.StudyAsync(DashboardWorkspace.StudyName, CancellationToken.None))!;
        var live = view["live"]!;
        // Every metric recorded per epoch can be drawn (the worker's total_epochs is progress, not a metric); the training loss first.
        Assert.Equal(["loss", "val_loss"], live["metrics"]!.AsArray().Select(m => m!.GetValue<string>()));
        Assert.Equal("loss", live["default"]!.GetValue<string>());
        var points = live["rows"]!.AsArray();
        Assert.Equal(losses, points.Where(p => p!["metric"]!.GetValue<string>() == "loss").Select(p => p!["value"]!.GetValue<double>()));
        Assert.Equal(validation, points.Where(p => p!["metric"]!.GetValue<string>() == "val_loss").Select(p => p!["value"]!.GetValue<double>()));
        // One line per trial, named by its axes and id, its method the legend's group.
        Assert.All(points, p => Assert.EndsWith($"({running.TrialId[..Math.Min(8, running.TrialId.Length)]})", p!["trial"]!.GetValue<string>()));
        Assert.All(points, p => Assert.Equal("dnn", p!["method"]!.GetValue<string>()));
        // The phase change is drawn as a dashed rule between epochs 3 and 4, as in the report.
        Assert.Contains(live["phases"]!.AsArray(), r => r!["epoch"]!.GetValue<double>() == 3.5);
        var row = view["trials"]!.AsArray().Single(t => t!["id"]!.GetValue<string>() == running.TrialId)!;
        Assert.Equal(4, row["epoch"]!.GetValue<int>());
        Assert.Equal(2, row["phase"]!.GetValue<int>());

        var trialView = (await views.TrialAsync(DashboardWorkspace.StudyName, running.TrialId, CancellationToken.None))!;
        Assert.Equal(2 * losses.Length, trialView["curve"]!["rows"]!.AsArray().Count);
        Assert.Contains("(live)", trialView["curve"]!["title"]!.GetValue<string>());

        await store.RecordFailureAsync(study.Id, running.TrialId, Owner, new TrialFailure(TrialState.Interrupted, "stopped", "interrupted"));
        Assert.Null((await views.StudyAsync(DashboardWorkspace.StudyName, CancellationToken.None))!["live"]);
    }

    [Fact]
    public async Task A_completed_trials_page_has_its_phases_per_mass_metrics_and_log_tail()
    {
        using var workspace = await DashboardWorkspace.SeededAsync();
        await using var dashboardStore = workspace.Store();
        var views = new DashboardViews(dashboardStore, readOnly: true);
        var study = (await views.StudyAsync(DashboardWorkspace.StudyName, CancellationToken.None))!;
        var completed = study["trials"]!.AsArray().First(t => t!["state"]!.GetValue<string>() == "completed")!;
        var id = completed["id"]!.GetValue<string>();
        Assert.NotNull(completed["headline"]);
        var log = Path.Combine(workspace.Workspace.Artifacts(DashboardWorkspace.StudyName), id, "worker.log");
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        await File.WriteAllLinesAsync(log, Enumerable.Range(1, 100).Select(i => $"line {i}"));

        var trial = (await views.TrialAsync(DashboardWorkspace.StudyName, id, CancellationToken.None))!;
        Assert.Equal(2, trial["phases"]!.AsArray().Count);
        var masses = trial["masses"]!;
        Assert.Equal(6, masses["rows"]!.AsArray().Count);
        Assert.Contains("sigma_min_best_cut", masses["header"]!.AsArray().Select(h => h!.GetValue<string>()));
        Assert.Equal(12, trial["curve"]!["rows"]!.AsArray().Count(r => r!["metric"]!.GetValue<string>() == "loss"));
        Assert.Contains("(recorded)", trial["curve"]!["title"]!.GetValue<string>());
        var tail = trial["log"]!.GetValue<string>().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("line 100", tail[^1]);
        Assert.True(tail.Length < 100);

        var queued = (await views.TrialAsync(DashboardWorkspace.StudyName, "queued-0", CancellationToken.None))!;
        Assert.Equal("{\n  \"seed\": 1\n}", queued["spec"]!.GetValue<string>());
        Assert.Null(queued["masses"]);
        Assert.Null(await views.TrialAsync(DashboardWorkspace.StudyName, "no-such-trial", CancellationToken.None));
    }
}
