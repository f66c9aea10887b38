using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Studies.Orchestrator.Dashboard;

/// <summary>
/// Who may use the dashboard. Bound to loopback (the default), only requests from this machine's
/// loopback addresses are answered, and only for a loopback host name (a web page on another site
/// that rebinds its name to 127.0.0.1 is refused). Bound to another address on purpose
/// (<c>--bind</c>), any client may connect but must present the token printed at start: once in
/// the URL (<c>?token=</c>), then as a cookie, or as an <c>Authorization: Bearer</c> header.
/// Actions (POST) must carry the <see cref="ActionHeader"/> header, which a cross-site form cannot set.
/// </summary>
/// <param name="expires">When the token stops opening the dashboard (<see cref="DashboardOptions.TokenLifetime"/> after start); null: never.</param>
/// <param name="clock">Now, for tests; the system clock by default.</param>
public sealed class AccessGuard(bool allowRemote, string? token, DateTimeOffset? expires = null, Func<DateTimeOffset>? clock = null)
{
    public const string ActionHeader = "X-Studies-Action";
    public const string TokenCookie = "studies_dashboard_token";
    public const string TokenQuery = "token";

    /// <summary>Whether the remote address is this machine's loopback (an IPv4-mapped 127.x counts).</summary>
    public static bool IsLoopback(IPAddress? address) =>
        address is not null && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);

    /// <summary>Host names a loopback-bound dashboard answers to.</summary>
    public static bool IsLoopbackHost(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>Null when the request may go on; otherwise the status code and the one-line reason.</summary>
    public (int Status, string Reason)? Check(HttpContext context)
    {
        var request = context.Request;
        if (!allowRemote)
        {
            if (!IsLoopback(context.Connection.RemoteIpAddress))
                return (StatusCodes.Status403Forbidden, $"the dashboard answers this machine only (request from {context.Connection.RemoteIpAddress?.ToString() ?? "an unknown address"}); start it with --bind ADDRESS to serve others");
            if (!IsLoopbackHost(request.Host.Host))
                return (StatusCodes.Status403Forbidden, $"the dashboard answers localhost only, not host '{request.Host.Host}'");
        }
        if (token is not null && !HasToken(context))
            return (StatusCodes.Status401Unauthorized, "this dashboard needs its token: open the address written in the workspace's dashboard-token file (?token=...)");
        // A token that leaked (a shared screen, a shell history) stops working: the cookie a browser holds expires with it.
        if (token is not null && expires is { } end && (clock?.Invoke() ?? DateTimeOffset.UtcNow) > end)
            return (StatusCodes.Status401Unauthorized, $"the dashboard's token expired at {end.UtcDateTime:yyyy-MM-dd HH:mm} UTC; restart the dashboard for a new one (--token-hours sets how long one lasts)");
        if (HttpMethods.IsPost(request.Method) && !request.Headers.ContainsKey(ActionHeader))
            return (StatusCodes.Status403Forbidden, $"actions need the {ActionHeader} header (sent by the dashboard's page)");
        return null;
    }

    private bool HasToken(HttpContext context)
    {
        var request = context.Request;
        if (Matches(request.Query[TokenQuery].ToString()))
        {
            context.Response.Cookies.Append(TokenCookie, token!, new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/", Expires = expires });
            return true;
        }
        if (request.Cookies.TryGetValue(TokenCookie, out var cookie) && Matches(cookie)) return true;
        var authorization = request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.Ordinal) && Matches(authorization["Bearer ".Length..]);
    }

    private bool Matches(string? candidate) =>
        candidate is { Length: > 0 } && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(candidate), Encoding.UTF8.GetBytes(token!));

    /// <summary>The middleware: refuses with one plain line, or passes the request on.</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (Check(context) is { } refusal)
        {
            context.Response.StatusCode = refusal.Status;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync(refusal.Reason + "\n");
            return;
        }
        await next(context);
    }

    /// <summary>A fresh random token for a dashboard bound beyond loopback.</summary>
    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
