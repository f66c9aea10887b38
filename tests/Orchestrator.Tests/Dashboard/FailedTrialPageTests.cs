using System.Net;
using Microsoft.Playwright;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Dashboard;

/// <summary>
/// The page of a failed, diverged or interrupted trial renders in a real browser (Debian's chromium through
/// Playwright): its view carries the trial's own <c>error</c> (why it failed), which the page once took for a store
/// failure, showing "The store cannot be read right now" instead of the trial.
/// </summary>
public sealed class FailedTrialPageTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task The_page_of_every_problem_trial_shows_the_trial_and_its_reason()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: tools/setup.sh chromium installs it");
        using var workspace = await DashboardWorkspace.SeededAsync();
        await using var server = await workspace.StartAsync(readOnly: true, IPAddress.Loopback);
        List<(string Id, string State, string Error)> problems;
        await using (var store = await workspace.OpenAsync())
        {
            var study = (await store.FindStudyAsync(DashboardWorkspace.StudyName))!;
            problems = (await store.ListTrialsAsync(study.Id)).Where(t => t.State.IsProblem() && t.Error is { Length: > 0 })
                .Select(t => (t.TrialId, t.State.Name(), t.Error!)).ToList();
        }
        Assert.Contains(problems, p => p.State == "failed");
        Assert.Contains(problems, p => p.State == "interrupted");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        var scriptErrors = new List<string>();
        page.PageError += (_, e) => { lock (scriptErrors) scriptErrors.Add(e); };
        foreach (var (id, state, error) in problems.DistinctBy(p => p.State))
        {
            await page.GotoAsync(new Uri(server.Url, $"/studies/{DashboardWorkspace.StudyName}/trials/{id}").ToString());
            await page.Locator("h1", new PageLocatorOptions { HasTextString = $"Trial {id}" }).WaitForAsync();
            var title = await page.Locator("#title").InnerTextAsync();
            Assert.DoesNotContain("cannot be read", title);
            Assert.Contains(state, title);
            Assert.Contains(error.Split('\n')[0], await page.Locator("#title pre").InnerTextAsync());
            Assert.Equal(1, await page.Locator("#spec details").CountAsync());
        }
        Assert.Empty(scriptErrors);
    }
}
