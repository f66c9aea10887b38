using System.Net;
using Studies.Orchestrator.Tests.EndToEnd;

namespace Studies.Orchestrator.Tests.Dashboard;

/// <summary><c>studies dashboard</c> as a user starts it: the real program as a child process.</summary>
public sealed class DashboardCommandTests : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(1);
    private readonly StudiesHome home = new();

    public void Dispose() => home.Dispose();

    [Fact]
    public async Task A_bind_address_that_is_not_an_address_is_refused_in_one_line()
    {
        var result = await home.RunAsync(CommandTimeout, "dashboard", "--bind", "my-laptop");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("--bind my-laptop: not an IP address (e.g. 127.0.0.1, 0.0.0.0 or this machine's address on the network)", Assert.Single(result.StderrLines));
    }

    [Fact]
    public async Task It_prints_its_loopback_address_serves_the_workspace_and_stops_quietly_on_sigterm()
    {
        using var dashboard = home.Start("dashboard", "--port", "0");
        Assert.True(await dashboard.WaitForOutputAsync("dashboard: ", CommandTimeout), dashboard.Stderr);
        var url = dashboard.Stdout.Split('\n').First(l => l.StartsWith("dashboard: ", StringComparison.Ordinal))["dashboard: ".Length..].Trim();
        Assert.Matches(@"^http://127\.0\.0\.1:\d+/$", url);
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        var overview = await http.GetAsync("/api/overview");
        Assert.Equal(HttpStatusCode.OK, overview.StatusCode);
        Assert.Contains(home.Root.Replace("\\", "\\\\"), await overview.Content.ReadAsStringAsync());
        dashboard.Signal(StudiesProcess.SigTerm);
        var result = await dashboard.WaitAsync(CommandTimeout);
        // 130, as every command stopped by Ctrl+C or SIGTERM (not System.CommandLine's 143); quietly.
        Assert.True(result.ExitCode == 130 && result.Stderr.Length == 0, result.ToString());
        Assert.False(File.Exists(Path.Combine(home.Root, "studies.db")), "the read-only dashboard created a database");
    }
}
