using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Studies.Orchestrator.Dashboard;
using Studies.Orchestrator.Reporting;
using Studies.Orchestrator.Storage;
using Studies.Reports.Input;
using Studies.Reports.Rendering;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Dashboard;

/// <summary>The dashboard's web server, in process on a free port, over a recorded synthetic study.</summary>
public sealed class DashboardServerTests : IAsyncLifetime
{
    private static readonly TimeSpan EventTimeout = TimeSpan.FromSeconds(30);
    private DashboardWorkspace workspace = null!;
    private DashboardServer server = null!;
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(60) };

    public async Task InitializeAsync()
    {
        workspace = await DashboardWorkspace.SeededAsync();
        server = await workspace.StartAsync(readOnly: false);
        http.BaseAddress = server.Url;
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await server.DisposeAsync();
        workspace.Dispose();
    }

    private async Task<HttpResponseMessage> PostAsync(string path, bool actionHeader = true)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (actionHeader) request.Headers.Add(AccessGuard.ActionHeader, "1");
        return await http.SendAsync(request);
    }

    private async Task<string> FirstTrialAsync(TrialState state)
    {
        var view = JsonNode.Parse(await http.GetStringAsync($"/api/studies/{DashboardWorkspace.StudyName}"))!;
        return view["trials"]!.AsArray().First(t => t!["state"]!.GetValue<string>() == state.Name())!["id"]!.GetValue<string>();
    }

    /// <summary>Reads server-sent events until one's data satisfies <paramref name="until"/>.</summary>
    private static async Task<JsonNode> NextEventAsync(StreamReader events, Func<JsonNode, bool> until)
    {
        using var timeout = new CancellationTokenSource(EventTimeout);
        while (await events.ReadLineAsync(timeout.Token) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            var data = JsonNode.Parse(line["data: ".Length..])!;
            if (until(data)) return data;
        }
        throw new InvalidOperationException("the event stream ended");
    }

    [Fact]
    public async Task By_default_it_listens_on_loopback_only_and_no_other_address_of_this_machine_answers()
    {
        Assert.NotEmpty(server.Addresses);
        Assert.All(server.Addresses, a => Assert.True(IPAddress.IsLoopback(IPAddress.Parse(a.Host)), $"listening on {a}"));
        Assert.Null(server.Token);
        var port = server.Addresses[0].Port;
        var others = NetworkInterface.GetAllNetworkInterfaces().SelectMany(n => n.GetIPProperties().UnicastAddresses).Select(u => u.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a)).ToList();
        foreach (var address in others)
        {
            using var client = new TcpClient();
            await Assert.ThrowsAsync<SocketException>(() => client.ConnectAsync(address, port));
        }
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/")).StatusCode);
    }

    [Fact]
    public async Task Bound_to_all_addresses_on_purpose_it_asks_for_the_token_it_printed()
    {
        await using var open = await workspace.StartAsync(readOnly: true, IPAddress.Any);
        Assert.NotNull(open.Token);
        Assert.Contains("token=" + open.Token, open.Url.Query);
        var port = open.Addresses[0].Port;
        using var client = new HttpClient();
        var without = await client.GetAsync($"http://127.0.0.1:{port}/api/overview");
        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        var with = await client.GetAsync($"http://127.0.0.1:{port}/api/overview?token={open.Token}");
        Assert.Equal(HttpStatusCode.OK, with.StatusCode);
    }

    [Fact]
    public async Task Pages_views_charts_and_events_write_nothing_to_the_store()
    {
        var before = workspace.ContentHash();
        var trial = await FirstTrialAsync(TrialState.Completed);
        foreach (var path in new[]
        {
            "/", $"/studies/{DashboardWorkspace.StudyName}", $"/studies/{DashboardWorkspace.StudyName}/trials/{trial}", "/api/overview",
            $"/api/studies/{DashboardWorkspace.StudyName}", $"/api/studies/{DashboardWorkspace.StudyName}/trials/{trial}",
            $"/api/studies/{DashboardWorkspace.StudyName}/charts", "/assets/dashboard.js", "/assets/dashboard.css", "/assets/vega-embed.min.js",
        })
        {
            var response = await http.GetAsync(path);
            Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"/studies/{DashboardWorkspace.StudyName}/report")).StatusCode);
        using (var stream = await http.GetStreamAsync($"/events?view=study&study={DashboardWorkspace.StudyName}"))
        using (var events = new StreamReader(stream))
            await NextEventAsync(events, e => e["page"]?.GetValue<string>() == "study");
        // An action without the page's header is refused before it reaches the store.
        Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync($"/api/studies/{DashboardWorkspace.StudyName}/cancel", actionHeader: false)).StatusCode);
        Assert.Equal(before, workspace.ContentHash());
    }

    [Fact]
    public async Task Cancel_and_retry_change_the_store_as_the_cli_commands_do()
    {
        await using (var store = await workspace.OpenAsync())
        {
            var study = (await store.FindStudyAsync(DashboardWorkspace.StudyName))!;
            var failed = (await store.CountStatesAsync(study.Id)).Count(TrialState.Failed);
            var interrupted = (await store.CountStatesAsync(study.Id)).Count(TrialState.Interrupted);
            Assert.True(failed > 0 && interrupted > 0);

            var retry = await PostAsync($"/api/studies/{DashboardWorkspace.StudyName}/retry");
            Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
            Assert.Contains($"{failed + interrupted} trial(s) queued again", await retry.Content.ReadAsStringAsync());
            var counts = await store.CountStatesAsync(study.Id);
            Assert.Equal(0, counts.Count(TrialState.Failed));
            Assert.Equal(DashboardWorkspace.QueuedTrials + failed + interrupted, counts.Count(TrialState.Queued));

            var cancel = await PostAsync($"/api/studies/{DashboardWorkspace.StudyName}/cancel");
            Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
            counts = await store.CountStatesAsync(study.Id);
            Assert.Equal(0, counts.Count(TrialState.Queued));
            Assert.Equal(DashboardWorkspace.QueuedTrials + failed + interrupted, counts.Count(TrialState.Cancelled));
            Assert.True((await store.FindStudyAsync(DashboardWorkspace.StudyName))!.Cancelled);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync("/api/studies/no-such-study/cancel")).StatusCode);
    }

    [Fact]
    public async Task The_read_only_view_refuses_actions_and_leaves_the_store_alone()
    {
        await using var view = await workspace.StartAsync(readOnly: true);
        var before = workspace.ContentHash();
        using var client = new HttpClient { BaseAddress = view.Url };
        foreach (var action in new[] { "cancel", "retry", "report" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/studies/{DashboardWorkspace.StudyName}/{action}");
            request.Headers.Add(AccessGuard.ActionHeader, "1");
            Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(request)).StatusCode);
        }
        Assert.Equal(before, workspace.ContentHash());
        Assert.False(Directory.Exists(workspace.Workspace.ReportDirectory(DashboardWorkspace.StudyName)));
    }

    [Fact]
    public async Task The_report_action_writes_report_html_where_studies_report_does_and_serves_it()
    {
        var write = await PostAsync($"/api/studies/{DashboardWorkspace.StudyName}/report");
        Assert.Equal(HttpStatusCode.OK, write.StatusCode);
        var path = Path.Combine(workspace.Workspace.ReportDirectory(DashboardWorkspace.StudyName), "report.html");
        Assert.True(File.Exists(path));
        Assert.Equal(await File.ReadAllTextAsync(path), await http.GetStringAsync($"/studies/{DashboardWorkspace.StudyName}/report"));
        var download = await http.GetAsync($"/studies/{DashboardWorkspace.StudyName}/report?download=true");
        Assert.Equal("attachment", download.Content.Headers.ContentDisposition?.DispositionType);
    }

    [Fact]
    public async Task The_charts_are_the_reports_own_vega_lite_specs()
    {
        var served = JsonNode.Parse(await http.GetStringAsync($"/api/studies/{DashboardWorkspace.StudyName}/charts"))!["charts"]!.AsArray();
        List<Chart> expected;
        await using (var store = await workspace.OpenAsync())
        {
            var record = await StudyRecords.LoadAsync(store, (await store.FindStudyAsync(DashboardWorkspace.StudyName))!, CancellationToken.None);
            expected = ReportComposer.Compose(new ReportInput { Studies = [record] }).Sections.SelectMany(s => s.Blocks.OfType<Chart>()).ToList();
        }
        Assert.True(expected.Count > 3, $"only {expected.Count} charts");
        Assert.Equal(expected.Count, served.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Title, served[i]!["title"]!.GetValue<string>());
            Assert.True(JsonNode.DeepEquals(expected[i].Spec, served[i]!["spec"]), $"chart {expected[i].Title} differs from the report's");
        }
    }

    [Fact]
    public async Task A_change_in_the_store_is_pushed_to_an_open_page()
    {
        using var stream = await http.GetStreamAsync($"/events?view=study&study={DashboardWorkspace.StudyName}");
        using var events = new StreamReader(stream);
        var first = await NextEventAsync(events, _ => true);
        Assert.False(first["cancelled"]!.GetValue<bool>());
        // Another process (the CLI) cancels the study: the open page hears of it without asking.
        await using (var store = await workspace.OpenAsync())
            await store.SetCancelledAsync((await store.FindStudyAsync(DashboardWorkspace.StudyName))!.Id);
        var next = await NextEventAsync(events, e => e["cancelled"]!.GetValue<bool>());
        Assert.Equal(first["counts"]!["queued"]!.GetValue<int>() + first["counts"]!["interrupted"]!.GetValue<int>(), next["counts"]!["cancelled"]!.GetValue<int>());
        Assert.Equal(0, next["counts"]!["queued"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_workspace_without_a_database_is_shown_empty_and_no_database_is_created()
    {
        using var empty = new DashboardWorkspace();
        await using var view = await empty.StartAsync(readOnly: true);
        using var client = new HttpClient { BaseAddress = view.Url };
        var overview = JsonNode.Parse(await client.GetStringAsync("/api/overview"))!;
        Assert.Empty(overview["studies"]!.AsArray());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/studies/anything")).StatusCode);
        Assert.False(File.Exists(empty.Workspace.Database));
    }
}
