using Microsoft.Playwright;
using Studies.Orchestrator.Tests.EndToEnd;
using Xunit.Abstractions;

namespace Studies.Orchestrator.Tests.Dashboard;

/// <summary>
/// The dashboard in a real browser (Debian's chromium driven by Playwright) against the real
/// <c>studies serve --dashboard</c>: the quickstart is submitted and watched to the end on one page
/// that is never reloaded, and a second study, run by another process, is cancelled from its page.
/// Screenshots go to <c>dashboard-screenshots/</c> in the test output.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper log) : IDisposable
{
    private const string Chromium = "/usr/bin/chromium";
    // The quickstart takes about a minute on two free cores; the test machine is shared.
    private static readonly TimeSpan StudyTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(4);

    private readonly StudiesHome home = new();

    public void Dispose() => home.Dispose();

    private static string Quickstart()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "studies", "quickstart.yaml");
            if (File.Exists(Path.Combine(dir.FullName, "Studies.sln")) && File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("studies/quickstart.yaml not found above the test output");
    }

    private static string Screenshots()
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "dashboard-screenshots");
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static Task<int> CountAsync(IPage page, string selector) => page.Locator(selector).CountAsync();

    [Fact]
    public async Task Serve_with_the_dashboard_shows_the_quickstart_live_to_the_end_and_cancels_another_study_from_the_page()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: tools/setup.sh chromium installs it");
        using var serve = home.Start("serve", "--dashboard", "--port", "0");
        Assert.True(await serve.WaitForOutputAsync("dashboard: ", TimeSpan.FromMinutes(1)), $"serve printed no dashboard address\n{serve.Stdout}\n{serve.Stderr}");
        var url = serve.Stdout.Split('\n').First(l => l.StartsWith("dashboard: ", StringComparison.Ordinal))["dashboard: ".Length..].Trim();
        Assert.StartsWith("http://127.0.0.1:", url);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        context.SetDefaultTimeout((float)StepTimeout.TotalMilliseconds);
        var problems = new List<string>();
        void Watch(IPage p)
        {
            p.Console += (_, m) => { if (m.Type == "error") lock (problems) problems.Add($"console: {m.Text}"); };
            p.PageError += (_, e) => { lock (problems) problems.Add($"page error: {e}"); };
            p.Dialog += async (_, d) => await d.AcceptAsync();
        }

        var submitted = await home.RunAsync(TimeSpan.FromMinutes(1), "submit", Quickstart());
        Assert.True(submitted.ExitCode == 0, submitted.ToString());

        var page = await context.NewPageAsync();
        Watch(page);
        await page.GotoAsync(url);
        await page.Locator("tr[data-study='quickstart']").WaitForAsync();
        await page.Locator("tr[data-study='quickstart'] a").ClickAsync();
        await page.WaitForURLAsync("**/studies/quickstart");
        // A mark that a reload would wipe out: every later update must arrive on this very page.
        await page.EvaluateAsync("() => { window.studiesTestMark = 'not reloaded'; }");

        await page.WaitForFunctionAsync("() => document.querySelectorAll('#trials-table tbody tr').length === 12");
        log.WriteLine($"quickstart: 12 trials listed after {serve.Started.Elapsed.TotalSeconds:F0} s");

        // A training curve drawn from the epochs of trials that are running right now.
        await page.Locator("#live-chart svg.marks").First.WaitForAsync();
        Assert.True(await CountAsync(page, "#trials-table tr[data-state='running']") > 0, "the live chart shows while no trial runs");
        Assert.True(await CountAsync(page, "#live-chart svg.marks path") > 0, "the live chart has no lines");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots(), "dashboard-study-first-epochs.png") });
        log.WriteLine($"live curve drawn after {serve.Started.Elapsed.TotalSeconds:F0} s");

        // A second study, run by another process in the same workspace, cancelled from its page.
        using var second = home.Start("run", Path.Combine(AppContext.BaseDirectory, "Dashboard", "Studies", "dash-second.yaml"), "--workers", "1");
        var secondPage = await context.NewPageAsync();
        Watch(secondPage);
        await secondPage.GotoAsync(url.TrimEnd('/') + "/studies/dash-second");
        await secondPage.Locator("#trials-table tr[data-state='queued']").First.WaitForAsync();
        Assert.Equal(0, await CountAsync(secondPage, "#trials-table tr[data-state='cancelled']"));
        await secondPage.Locator("#cancel").ClickAsync();
        await secondPage.Locator("#cancelled-mark").WaitForAsync();
        await secondPage.WaitForFunctionAsync("() => document.querySelectorAll(\"#trials-table tr[data-state='cancelled']\").length > 0");
        Assert.Contains("cancelled", await secondPage.Locator("#message").InnerTextAsync());
        var secondRun = await second.WaitAsync(StepTimeout);
        // A cancelled study did not complete: exit 6 with one line saying so (docs/running-studies.md#exit-codes).
        Assert.True(secondRun.ExitCode == 6, secondRun.ToString());
        Assert.Contains("the study was cancelled", secondRun.Stderr);
        await secondPage.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots(), "dashboard-cancelled.png") });
        await secondPage.CloseAsync();

        // Halfway: live curves of the running trials above the table, the report's charts of the completed ones below.
        await page.WaitForFunctionAsync("""
            () => document.querySelectorAll("#trials-table tr[data-state='completed']").length === 12
              || (document.querySelectorAll("#trials-table tr[data-state='completed']").length >= 4 && document.querySelector('#live-chart svg.marks')
                  && document.querySelectorAll('.report-chart svg.marks').length > 3
                  && [...document.querySelectorAll("#trials-table tr[data-state='running'] td:nth-child(6)")].some(td => Number(td.textContent) >= 8))
            """, null, new PageWaitForFunctionOptions { Timeout = (float)StudyTimeout.TotalMilliseconds });
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots(), "dashboard-study-live.png") });

        await page.WaitForFunctionAsync("() => document.querySelectorAll(\"#trials-table tr[data-state='completed']\").length === 12",
            null, new PageWaitForFunctionOptions { Timeout = (float)StudyTimeout.TotalMilliseconds });
        log.WriteLine($"quickstart: 12 completed after {serve.Started.Elapsed.TotalSeconds:F0} s");
        Assert.Equal("not reloaded", await page.EvaluateAsync<string>("() => window.studiesTestMark"));
        Assert.True(int.Parse(await page.GetAttributeAsync("body", "data-updates") ?? "0", System.Globalization.CultureInfo.InvariantCulture) > 12);
        // The report's charts of the completed trials, drawn on the same page.
        await page.WaitForFunctionAsync("() => document.querySelectorAll('.report-chart svg.marks').length > 3 && document.querySelector('#report-charts h2').textContent.includes('12 completed')");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots(), "dashboard-study-done.png"), FullPage = true });

        // One trial: its recorded curve, phases and per-mass metrics.
        var trialPage = await context.NewPageAsync();
        Watch(trialPage);
        var trialLink = await page.Locator("#trials-table tbody tr[data-state='completed'] a").Nth(6).GetAttributeAsync("href");
        await trialPage.GotoAsync(url.TrimEnd('/') + trialLink);
        await trialPage.Locator("#trial-chart svg.marks").WaitForAsync();
        Assert.Equal(2, await CountAsync(trialPage, "#phases tbody tr"));
        Assert.Equal(9, await CountAsync(trialPage, "#mass-table tbody tr"));
        await trialPage.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots(), "dashboard-trial.png"), FullPage = true });

        var overview = await context.NewPageAsync();
        Watch(overview);
        await overview.GotoAsync(url);
        await overview.Locator("tr[data-study='dash-second'] td[data-count='cancelled']").WaitForAsync();
        Assert.NotEqual("0", await overview.Locator("tr[data-study='dash-second'] td[data-count='cancelled']").InnerTextAsync());
        await overview.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots(), "dashboard-overview.png") });

        Assert.Equal("", await page.Locator("#errors").InnerTextAsync());
        lock (problems) Assert.True(problems.Count == 0, string.Join("\n", problems));
    }
}
