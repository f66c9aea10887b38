using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Studies.Orchestrator.Dashboard;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary>
/// Small failures that used to be loud or wrong: a taken port, the dashboard token (never printed, expiring),
/// `check` of a CUDA study on a host without one, and the exit code of a command stopped by SIGTERM.
/// </summary>
public sealed class RoughEdgeTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly StudiesHome home = new();

    public void Dispose() => home.Dispose();

    [Fact]
    public async Task A_taken_port_is_one_line_without_a_stack_trace()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var r = await home.RunAsync(Timeout, "dashboard", "--port", $"{port}");
        Assert.True(r.ExitCode == 1, r.ToString());
        var line = Assert.Single(r.StderrLines);
        Assert.Contains($"cannot listen on 127.0.0.1:{port}", line);
        Assert.DoesNotContain("   at ", r.Stderr + r.Stdout);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task A_dashboard_bound_beyond_loopback_keeps_its_token_in_a_private_file_and_stops_with_130()
    {
        using var dashboard = home.Start("dashboard", "--bind", "0.0.0.0", "--port", "0", "--token-hours", "2");
        Assert.True(await dashboard.WaitForOutputAsync("dashboard: ", Timeout), dashboard.Stderr);
        var printed = dashboard.Stdout.Split('\n').First(l => l.StartsWith("dashboard: ", StringComparison.Ordinal))["dashboard: ".Length..].Trim();
        Assert.DoesNotContain("token", printed);
        var file = Path.Combine(home.Root, DashboardOptions.TokenFileName);
        Assert.Contains(file, dashboard.Stderr);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        var withToken = new Uri(File.ReadLines(file).First());
        var token = System.Web.HttpUtility.ParseQueryString(withToken.Query)["token"];
        Assert.False(string.IsNullOrEmpty(token));
        Assert.DoesNotContain(token!, dashboard.Stdout + dashboard.Stderr);
        var expires = DateTime.Parse(File.ReadLines(file).Skip(1).First()["expires ".Length..].Replace(" UTC", ""), System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal);
        Assert.InRange((expires - DateTime.UtcNow).TotalHours, 1.9, 2.01);

        var port = new Uri(printed).Port;
        using var http = new HttpClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync($"http://127.0.0.1:{port}/api/overview")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://127.0.0.1:{port}/api/overview?token={token}")).StatusCode);

        dashboard.Signal(StudiesProcess.SigTerm);
        var result = await dashboard.WaitAsync(Timeout);
        Assert.True(result.ExitCode == 130, result.ToString());
    }

    [Fact]
    public void An_expired_token_no_longer_opens_the_dashboard()
    {
        var now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var clock = now;
        var guard = new AccessGuard(allowRemote: true, token: "s3cret", expires: now.AddHours(24), clock: () => clock);
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse("192.168.1.20");
        context.Request.Host = new HostString("studies-host:8050");
        context.Request.QueryString = new QueryString("?token=s3cret");
        Assert.Null(guard.Check(context));
        Assert.Contains("expires=", context.Response.Headers.SetCookie.ToString(), StringComparison.OrdinalIgnoreCase);
        clock = now.AddHours(24).AddSeconds(1);
        var refusal = guard.Check(context);
        Assert.Equal(StatusCodes.Status401Unauthorized, refusal?.Status);
        Assert.Contains("expired", refusal!.Value.Reason);
    }

    [Fact]
    public async Task Serve_stopped_by_sigterm_exits_130()
    {
        using var serve = home.Start("serve");
        Assert.True(await serve.WaitForOutputAsync("watching", Timeout), serve.ToString());
        serve.Signal(StudiesProcess.SigTerm);
        var r = await serve.WaitAsync(Timeout);
        Assert.True(r.ExitCode == 130, r.ToString());
    }

    [Fact]
    public async Task Check_refuses_device_cuda_where_run_would()
    {
        var path = Path.Combine(home.Root, "cuda.yaml");
        await File.WriteAllTextAsync(path, "study: c\ndata: {source: gaussian-toy}\nbase: {schedule: [{loss: bce, epochs: 1}], device: cuda}\n");
        var r = await home.RunAsync(Timeout, "check", path);
        if (Trials.Engine.Torch.CudaDeviceCount() > 0)
        {
            // Where a GPU is visible the same file is ready to run.
            Assert.True(r.ExitCode == 0, r.ToString());
            return;
        }
        Assert.True(r.ExitCode == 2, r.ToString());
        var line = Assert.Single(r.StderrLines);
        Assert.Contains("the study asks for device cuda, but libtorch", line);
        // A Slurm study runs elsewhere: its devices are not this host's.
        await File.WriteAllTextAsync(path, "study: c\ndata: {source: gaussian-toy}\nbase: {schedule: [{loss: bce, epochs: 1}], device: cuda}\nresources: {executor: slurm}\n");
        r = await home.RunAsync(Timeout, "check", path);
        Assert.True(r.ExitCode == 0, r.ToString());
    }
}
