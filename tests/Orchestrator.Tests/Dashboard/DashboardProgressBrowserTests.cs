using Microsoft.Playwright;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Storage;
using Studies.Trials.Results;
using Xunit.Abstractions;

namespace Studies.Orchestrator.Tests.Dashboard;

/// <summary>
/// What the dashboard shows of a run's progress, in Debian's chromium driven by Playwright against the real dashboard
/// server over a recorded study: a running trial's validation loss chosen and drawn live (it follows new epochs), a
/// queued file that failed validation with its problems listed, and diverged and failed trials as red parts of the
/// progress bar (never a full green bar).
/// </summary>
public sealed class DashboardProgressBrowserTests(ITestOutputHelper log)
{
    private const string Chromium = "/usr/bin/chromium";
    private const string Owner = "browser-test";
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(10);

    private static EpochRecord Epoch(int epoch, double loss, double validation) =>
        new(0, epoch, new Dictionary<string, double> { ["loss"] = loss, ["val_loss"] = validation, ["total_epochs"] = 10 });

    [Fact]
    public async Task A_live_validation_metric_a_failed_queued_files_problems_and_a_diverged_trial_in_the_bar_are_shown()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: tools/setup.sh chromium installs it");
        using var workspace = await DashboardWorkspace.SeededAsync();
        var queue = new StudyQueue(workspace.Workspace.Queue);
        Directory.CreateDirectory(queue.Failed);
        await File.WriteAllTextAsync(Path.Combine(queue.Failed, "broken.yaml"), "study: broken\n");
        string[] problems =
        [
            "broken.yaml:3:5: unknown key 'epoch' (did you mean 'epochs'?)",
            "broken.yaml:7:12: lr must be a number > 0, got 0",
        ];
        await File.WriteAllLinesAsync(Path.Combine(queue.Failed, "broken.yaml.error.txt"), ["2 problems in the study file:", .. problems]);

        await using var store = await workspace.OpenAsync();
        var study = (await store.FindStudyAsync(DashboardWorkspace.StudyName))!;
        var running = (await store.ClaimNextAsync(study.Id, new TrialClaim(Owner, "cpu", Lease)))!;
        Assert.True(await store.HeartbeatAsync(study.Id, running.TrialId, Owner, Lease, 0, 3));
        Assert.True(await store.RecordEpochsAsync(study.Id, running.TrialId, Owner, [Epoch(1, 0.69, 0.71), Epoch(2, 0.55, 0.62), Epoch(3, 0.5, 0.58)]));

        await using var server = await workspace.StartAsync(readOnly: true);
        var url = server.Url.ToString().TrimEnd('/');
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1200, Height = 900 } });
        context.SetDefaultTimeout(120_000);
        var errors = new List<string>();
        var page = await context.NewPageAsync();
        page.Console += (_, m) => { if (m.Type == "error") lock (errors) errors.Add($"console: {m.Text}"); };
        page.PageError += (_, e) => { lock (errors) errors.Add($"page error: {e}"); };

        // The overview: the failed file with its problems, not only "2 problems in the study file:".
        await page.GotoAsync(url + "/");
        var failed = page.Locator("#queue li[data-file='broken.yaml'] pre.file-error");
        await failed.WaitForAsync();
        var text = await failed.InnerTextAsync();
        Assert.All(problems, p => Assert.Contains(p, text));

        // The study: diverged and failed trials are red parts of the bar, as wide as their share.
        await page.GotoAsync($"{url}/studies/{DashboardWorkspace.StudyName}");
        var diverged = page.Locator("#summary .bar [data-part='diverged']");
        await diverged.WaitForAsync();
        var counts = await page.EvaluateAsync<int[]>("() => ['diverged', 'completed'].map(s => Number(document.querySelector(`#summary [data-count='${s}']`).textContent.trim().split(' ').pop()))");
        var total = await page.Locator("#trials-table tbody tr").CountAsync();
        var width = await diverged.EvaluateAsync<double>("e => e.getBoundingClientRect().width / e.parentElement.getBoundingClientRect().width");
        Assert.InRange(width, (double)counts[0] / total - 0.02, (double)counts[0] / total + 0.02);
        Assert.Equal("rgb(200, 74, 74)", await diverged.EvaluateAsync<string>("e => getComputedStyle(e).backgroundColor"));
        var green = await page.Locator("#summary .bar [data-part='completed']").EvaluateAsync<double>("e => e.getBoundingClientRect().width / e.parentElement.getBoundingClientRect().width");
        Assert.InRange(green, (double)counts[1] / total - 0.02, (double)counts[1] / total + 0.02);

        // The live chart: the training loss first; the validation loss chosen from the recorded metrics.
        await page.Locator("#live-chart svg.marks").WaitForAsync();
        Assert.Equal(["loss", "val_loss"], await page.Locator("#live-chart-metric option").AllInnerTextsAsync());
        await page.SelectOptionAsync("#live-chart-metric", "val_loss");
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#live-chart svg.marks text')].some(t => t.textContent === 'val_loss')");
        var drawn = int.Parse(await page.GetAttributeAsync("#live-chart", "data-drawn") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        // A new epoch arrives: the chart follows it and stays on the validation loss.
        Assert.True(await store.RecordEpochsAsync(study.Id, running.TrialId, Owner, [Epoch(4, 0.47, 0.123)]));
        Assert.True(await store.HeartbeatAsync(study.Id, running.TrialId, Owner, Lease, 0, 4));
        await page.WaitForFunctionAsync($"() => Number(document.getElementById('live-chart').getAttribute('data-drawn')) > {drawn}");
        Assert.Equal("val_loss", await page.Locator("#live-chart-metric").InputValueAsync());
        Assert.True(await page.EvaluateAsync<bool>("() => [...document.querySelectorAll('#live-chart svg.marks text')].some(t => t.textContent === 'val_loss')"));
        // The newest point's value is in the chart's data (drawn as the lowest point of the validation curve).
        Assert.True(await page.EvaluateAsync<bool>("() => [...document.querySelectorAll('#live-chart svg.marks text')].some(t => t.textContent === '0.15' || t.textContent === '0.2' || t.textContent === '0.1')"),
            "the validation axis does not reach down to the new epoch's 0.123");
        var shots = Path.Combine(AppContext.BaseDirectory, "dashboard-screenshots");
        Directory.CreateDirectory(shots);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(shots, "dashboard-progress.png"), FullPage = true });
        log.WriteLine($"bar: diverged {width:P0}, completed {green:P0} of {total} trials");

        Assert.Equal("", await page.Locator("#errors").InnerTextAsync());
        lock (errors) Assert.True(errors.Count == 0, string.Join("\n", errors));
    }
}
