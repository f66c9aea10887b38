using System.Net;
using Microsoft.AspNetCore.Http;
using Studies.Orchestrator.Dashboard;

namespace Studies.Orchestrator.Tests.Dashboard;

/// <summary>
/// The dashboard's access rule, on requests with a chosen remote address (a fake connection): a
/// second loopback address such as 127.0.0.2 is still this machine, so only a real non-loopback
/// address shows that others are refused.
/// </summary>
public sealed class AccessGuardTests
{
    private static HttpContext Request(string remote, string host = "127.0.0.1:8050", string method = "GET", string path = "/",
        string? query = null, Action<HttpRequest>? more = null)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(remote);
        context.Request.Method = method;
        context.Request.Host = new HostString(host);
        context.Request.Path = path;
        if (query is not null) context.Request.QueryString = new QueryString(query);
        more?.Invoke(context.Request);
        return context;
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.2")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    public void Loopback_clients_are_answered_without_a_token(string remote)
    {
        Assert.Null(new AccessGuard(allowRemote: false, token: null).Check(Request(remote)));
    }

    [Theory]
    [InlineData("192.168.1.20")]
    [InlineData("10.0.0.7")]
    [InlineData("2001:db8::5")]
    [InlineData("::ffff:192.168.1.20")]
    public void Other_machines_are_refused_unless_bind_was_given(string remote)
    {
        var refusal = new AccessGuard(allowRemote: false, token: null).Check(Request(remote));
        Assert.NotNull(refusal);
        Assert.Equal(StatusCodes.Status403Forbidden, refusal.Value.Status);
        Assert.Contains("--bind", refusal.Value.Reason);
    }

    [Fact]
    public void A_request_without_a_remote_address_is_refused()
    {
        var context = Request("127.0.0.1");
        context.Connection.RemoteIpAddress = null;
        Assert.Equal(StatusCodes.Status403Forbidden, new AccessGuard(false, null).Check(context)?.Status);
    }

    [Theory]
    [InlineData("evil.example:8050")]
    [InlineData("192.168.1.20:8050")]
    public void A_page_of_another_site_rebound_to_loopback_is_refused(string host)
    {
        var refusal = new AccessGuard(false, null).Check(Request("127.0.0.1", host));
        Assert.Equal(StatusCodes.Status403Forbidden, refusal?.Status);
    }

    [Theory]
    [InlineData("localhost:8050")]
    [InlineData("[::1]:8050")]
    public void Loopback_host_names_are_answered(string host)
    {
        Assert.Null(new AccessGuard(false, null).Check(Request("::1", host)));
    }

    [Fact]
    public void Bound_elsewhere_a_client_needs_the_token_then_holds_it_as_a_cookie()
    {
        var guard = new AccessGuard(allowRemote: true, token: "s3cret");
        Assert.Equal(StatusCodes.Status401Unauthorized, guard.Check(Request("192.168.1.20", "studies-host:8050"))?.Status);
        Assert.Equal(StatusCodes.Status401Unauthorized, guard.Check(Request("192.168.1.20", "studies-host:8050", query: "?token=wrong"))?.Status);
        // Loopback clients need it too: a token is the only rule once the dashboard is reachable from outside.
        Assert.Equal(StatusCodes.Status401Unauthorized, guard.Check(Request("127.0.0.1"))?.Status);

        var first = Request("192.168.1.20", "studies-host:8050", query: "?token=s3cret");
        Assert.Null(guard.Check(first));
        Assert.Contains(AccessGuard.TokenCookie + "=s3cret", first.Response.Headers.SetCookie.ToString());

        Assert.Null(guard.Check(Request("192.168.1.20", "studies-host:8050", more: r => r.Headers.Cookie = $"{AccessGuard.TokenCookie}=s3cret")));
        Assert.Null(guard.Check(Request("192.168.1.20", "studies-host:8050", more: r => r.Headers.Authorization = "Bearer s3cret")));
        Assert.NotNull(guard.Check(Request("192.168.1.20", "studies-host:8050", more: r => r.Headers.Authorization = "Bearer s3cre")));
    }

    [Fact]
    public void Actions_need_the_dashboards_header_so_a_cross_site_form_cannot_post_one()
    {
        var guard = new AccessGuard(false, null);
        Assert.Equal(StatusCodes.Status403Forbidden, guard.Check(Request("127.0.0.1", method: "POST", path: "/api/studies/x/cancel"))?.Status);
        Assert.Null(guard.Check(Request("127.0.0.1", method: "POST", path: "/api/studies/x/cancel", more: r => r.Headers[AccessGuard.ActionHeader] = "1")));
    }
}
