using System.Net;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Reporting;
using Studies.Orchestrator.Storage;

namespace Studies.Orchestrator.Dashboard;

/// <param name="Address">The address Kestrel listens on: 127.0.0.1 unless <c>--bind</c> names another.</param>
/// <param name="Port">0 picks a free port.</param>
/// <param name="ReadOnly"><c>studies dashboard</c>: shows, never acts (no cancel, retry or report writing).</param>
/// <param name="TokenLifetime">How long the token of a dashboard bound beyond loopback opens it (default 24 h).</param>
public sealed record DashboardOptions(IPAddress Address, int Port, bool ReadOnly, TimeSpan? TokenLifetime = null)
{
    public const int DefaultPort = 8050;

    public static readonly TimeSpan DefaultTokenLifetime = TimeSpan.FromHours(24);

    /// <summary>The file in the workspace that holds the address with its token, readable by its owner only.</summary>
    public const string TokenFileName = "dashboard-token";

    /// <summary>Bound beyond loopback: other machines may connect, with the token.</summary>
    public bool Remote => !IPAddress.IsLoopback(Address);
}

/// <summary>
/// The dashboard's web server (Kestrel): pages and their assets from this binary, JSON views,
/// server-sent events that push a page's view whenever it changes, and the study actions.
/// Runs beside <c>studies serve</c> in the same process, or alone as <c>studies dashboard</c> (read-only)
/// over a workspace another process runs; either way it sees the store the commands use.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    /// <summary>How often an open page's view is recomputed; it is sent only when it changed.</summary>
    public static readonly TimeSpan PushInterval = TimeSpan.FromMilliseconds(700);

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        [".js"] = "text/javascript; charset=utf-8", [".css"] = "text/css; charset=utf-8", [".html"] = "text/html; charset=utf-8",
    };

    private readonly WebApplication app;
    private readonly DashboardStore store;

    private DashboardServer(WebApplication app, DashboardStore store, string? token)
    {
        this.app = app;
        this.store = store;
        Token = token;
    }

    /// <summary>The token a remote client must present; null on loopback.</summary>
    public string? Token { get; }

    /// <summary>When the token stops working; null on loopback.</summary>
    public DateTimeOffset? TokenExpires { get; private set; }

    /// <summary>The file (mode 0600) holding the address with the token: never printed, so it stays out of logs and terminals others see.</summary>
    public string? TokenFile { get; private set; }

    /// <summary>The address without the token, for printing.</summary>
    public Uri PublicUrl => new UriBuilder(Url) { Query = "" }.Uri;

    /// <summary>What Kestrel listens on (e.g. http://127.0.0.1:8050).</summary>
    public IReadOnlyList<Uri> Addresses { get; private set; } = [];

    /// <summary>The address to open, with the token when one is needed.</summary>
    public Uri Url { get; private set; } = null!;

    /// <param name="stores">The composition root's stores (<c>--home</c>, <c>--store</c>), as every command opens them.</param>
    /// <param name="reports">What <c>studies report</c> writes reports with.</param>
    public static async Task<DashboardServer> StartAsync(StudyStores stores, IReportPublisher reports, Workspace workspace, DashboardOptions options,
        CancellationToken ct = default)
    {
        var token = options.Remote ? AccessGuard.NewToken() : null;
        var expires = token is null ? (DateTimeOffset?)null : DateTimeOffset.UtcNow + (options.TokenLifetime ?? DashboardOptions.DefaultTokenLifetime);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        // A port that is taken made the host log its failure with an 18-frame stack trace before the command's own
        // clear line; the failure still reaches the command as an exception (one line there).
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Logging.SetMinimumLevel(StudiesOptions.From(StudiesServices.Configuration()).LogLevelOr(LogLevel.Warning));
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-dd HH:mm:ss "; });
        builder.WebHost.UseKestrel(k => k.Listen(options.Address, options.Port));
        // Ctrl+C and SIGTERM belong to the command that started the dashboard (serve checkpoints its trials first).
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(3));
        var app = builder.Build();

        var dashboardStore = new DashboardStore(stores, reports, workspace);
        var views = new DashboardViews(dashboardStore, options.ReadOnly);
        var guard = new AccessGuard(options.Remote, token, expires);
        app.Use(guard.InvokeAsync);
        Map(app, views, dashboardStore, app.Lifetime.ApplicationStopping);

        var server = new DashboardServer(app, dashboardStore, token);
        await app.StartAsync(ct);
        server.Addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToList();
        var bound = server.Addresses[0];
        var host = options.Address.Equals(IPAddress.Any) || options.Address.Equals(IPAddress.IPv6Any) ? Environment.MachineName : bound.Host;
        server.Url = new UriBuilder(bound) { Host = host, Path = "/", Query = token is null ? "" : $"{AccessGuard.TokenQuery}={token}" }.Uri;
        if (token is not null)
        {
            server.TokenExpires = expires;
            server.TokenFile = WriteTokenFile(workspace, server.Url, expires!.Value);
        }
        return server;
    }

    /// <summary>Writes the address with its token to a file only its owner can read: the workspace's, or one in the temporary folder when the workspace is read-only.</summary>
    private static string WriteTokenFile(Workspace workspace, Uri url, DateTimeOffset expires)
    {
        var text = $"{url}\nexpires {expires.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC\n";
        foreach (var path in new[] { Path.Combine(workspace.Root, DashboardOptions.TokenFileName), Path.Combine(Path.GetTempPath(), $"studies-{DashboardOptions.TokenFileName}-{Environment.ProcessId}") })
        {
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.Delete(path); // a file left by an earlier dashboard may carry other permissions
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using var stream = new FileStream(path, options);
                using var writer = new StreamWriter(stream);
                writer.Write(text);
                return path;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Read-only workspace: the temporary folder.
            }
        }
        throw new IOException($"the dashboard's token could not be written to {workspace.Root} nor to {Path.GetTempPath()}");
    }

    private static void Map(WebApplication app, DashboardViews views, DashboardStore store, CancellationToken stopping)
    {
        app.MapGet("/", () => Page("Studies", "overview", null, null));
        app.MapGet("/studies/{name}", (string name) => Page($"Study {name}", "study", name, null));
        app.MapGet("/studies/{name}/trials/{id}", (string name, string id) => Page($"Trial {id} of {name}", "trial", name, id));
        app.MapGet("/assets/{file}", (string file) => Asset(file));

        app.MapGet("/api/overview", async (CancellationToken ct) => Json(await views.OverviewAsync(ct)));
        app.MapGet("/api/studies/{name}", async (string name, int? from, CancellationToken ct) => Json(await views.StudyAsync(name, ct, from ?? 0)));
        app.MapGet("/api/studies/{name}/trials/{id}", async (string name, string id, CancellationToken ct) => Json(await views.TrialAsync(name, id, ct)));
        app.MapGet("/api/studies/{name}/charts", async (string name, CancellationToken ct) =>
            await views.ChartsAsync(name, ct) is { } json ? Results.Text(json, "application/json") : NotFound(name));
        app.MapGet("/events", (string view, string? study, string? trial, int? from, HttpContext context) =>
            TypedResults.ServerSentEvents(Push(views, view, study, trial, from ?? 0, CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping).Token), "snapshot"));

        app.MapPost("/api/studies/{name}/cancel", (string name, CancellationToken ct) => Act(views, store, name, async study =>
        {
            var n = await store.CancelAsync(study, ct);
            return $"{study.Name}: cancelled {n} trial(s); `studies run` the file again to resume them";
        }, ct));
        app.MapPost("/api/studies/{name}/retry", (string name, CancellationToken ct) => Act(views, store, name, async study =>
            $"{study.Name}: {await store.RetryFailedAsync(study, ct)} trial(s) queued again", ct));
        app.MapPost("/api/studies/{name}/report", (string name, CancellationToken ct) => Act(views, store, name, async study =>
        {
            await store.ReportAsync(study, ct);
            return $"report of {study.Name} written";
        }, ct));
        app.MapGet("/studies/{name}/report", (string name, bool? download) =>
        {
            var path = Path.Combine(store.Workspace.ReportDirectory(name), Reports.ReportBuilder.HtmlFile);
            if (!File.Exists(path)) return Results.Text($"no report of '{name}' yet: write it from the study page or with `studies report {name}`\n", statusCode: 404);
            return download == true
                ? Results.File(path, "text/html", $"{name}-report.html")
                : Results.File(path, "text/html; charset=utf-8");
        });
    }

    private static async Task<IResult> Act(DashboardViews views, DashboardStore store, string name, Func<StudyRow, Task<string>> action, CancellationToken ct)
    {
        if (views.ReadOnly) return Results.Text("this is a read-only view (studies dashboard); act with the CLI or studies serve --dashboard\n", statusCode: 403);
        var study = await store.StudyAsync(name, ct);
        if (study is null) return NotFound(name);
        try
        {
            return Json(new JsonObject { ["message"] = await action(study) });
        }
        catch (StoreException e)
        {
            return Results.Text($"error: {e.Message}\n", statusCode: 500);
        }
    }

    /// <summary>The page's view, pushed whenever it differs from the last one sent (and every 15 s regardless, to keep proxies from closing the stream).</summary>
    private static async IAsyncEnumerable<string> Push(DashboardViews views, string view, string? study, string? trial, int from, [EnumeratorCancellation] CancellationToken ct)
    {
        string? last = null;
        var sent = DateTime.MinValue;
        while (!ct.IsCancellationRequested)
        {
            string json;
            try
            {
                JsonObject? snapshot = view switch
                {
                    "study" when study is not null => await views.StudyAsync(study, ct, from),
                    "trial" when study is not null && trial is not null => await views.TrialAsync(study, trial, ct),
                    _ => await views.OverviewAsync(ct),
                };
                json = snapshot?.ToJsonString() ?? new JsonObject { ["missing"] = true }.ToJsonString();
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
            catch (StoreException e)
            {
                // Its own key: a trial view carries the trial's "error" (why it failed), which is no store failure.
                json = new JsonObject { ["storeError"] = e.Message }.ToJsonString();
            }
            if (json != last || DateTime.UtcNow - sent > TimeSpan.FromSeconds(15))
            {
                last = json;
                sent = DateTime.UtcNow;
                yield return json;
            }
            try
            {
                await Task.Delay(PushInterval, ct);
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
        }
    }

    private static IResult Json(JsonObject? value) => value is null ? Results.Text("not found\n", statusCode: 404) : Results.Text(value.ToJsonString(), "application/json");

    private static IResult NotFound(string study) => Results.Text($"no study named '{study}'\n", statusCode: 404);

    private static IResult Page(string title, string view, string? study, string? trial)
    {
        // The style inline: one request less before the first paint.
        var html = Resource("page.html")
            .Replace("{{STYLE}}", Resource("dashboard.css"), StringComparison.Ordinal)
            .Replace("{{TITLE}}", WebUtility.HtmlEncode(title), StringComparison.Ordinal)
            .Replace("{{VIEW}}", view, StringComparison.Ordinal)
            .Replace("{{STUDY}}", WebUtility.HtmlEncode(study ?? ""), StringComparison.Ordinal)
            .Replace("{{TRIAL}}", WebUtility.HtmlEncode(trial ?? ""), StringComparison.Ordinal);
        return Results.Text(html, "text/html; charset=utf-8");
    }

    private static IResult Asset(string file)
    {
        if (!ContentTypes.TryGetValue(Path.GetExtension(file), out var type)) return Results.NotFound();
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("dashboard/" + file);
        if (stream is null) return Results.NotFound();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return Results.Bytes(copy.ToArray(), type);
    }

    private static string Resource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("dashboard/" + name)
            ?? throw new InvalidOperationException($"embedded resource dashboard/{name} is missing from studies.dll");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
        await store.DisposeAsync();
    }

    /// <summary>A lifetime that leaves signals alone: the command decides when the dashboard stops.</summary>
    private sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
