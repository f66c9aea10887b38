using System.CommandLine;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Studies.Orchestrator.Dashboard;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Reporting;
using Studies.Orchestrator.Studies;

namespace Studies.Orchestrator.Cli;

/// <summary><c>studies serve</c> and <c>studies submit</c>: a long-running service fed through a queue folder.</summary>
internal static class ServeCommands
{
    private static readonly Option<int> Port = new("--port") { Description = "Port of the dashboard (0: any free port)", DefaultValueFactory = _ => DashboardOptions.DefaultPort };
    private static readonly Option<string?> Bind = new("--bind")
    {
        Description = "Address the dashboard listens on (default 127.0.0.1, this machine only); another address lets other machines in, with a token written to the workspace's dashboard-token file",
    };
    private static readonly Option<double> TokenHours = new("--token-hours")
    {
        Description = "With --bind: how long the token lasts, in hours (default 24); restart the dashboard for a new one",
        DefaultValueFactory = _ => DashboardOptions.DefaultTokenLifetime.TotalHours,
    };

    public static Command Serve()
    {
        var dashboard = new Option<bool>("--dashboard") { Description = "Also serve the live dashboard in the browser (http://127.0.0.1:8050/; see docs/dashboard.md)" };
        var dataRoots = new Option<string[]>("--data-root")
        {
            Description = "A folder whose files queued studies may use (data, store, checkpoints) besides the workspace; repeat for several",
            AllowMultipleArgumentsPerToken = false,
        };
        var notify = new Option<string?>("--notify") { Description = "POST a JSON notification to this http(s) webhook when a study ends, fails or has a trial diverge (as a study's notify.webhook)" };
        var notifyCommand = new Option<string?>("--notify-command") { Description = "Run this shell command on the same events (the message in $STUDIES_NOTIFY_TEXT, the JSON on its input)" };
        var command = new Command("serve", "Run the orchestrator as a service: studies submitted to the workspace queue run one after another; SIGTERM checkpoints and stops")
        {
            dashboard, Port, Bind, TokenHours, dataRoots, notify, notifyCommand,
        };
        command.SetAction(async (parse, ct) =>
        {
            var webhook = parse.GetValue(notify);
            if (webhook is not null && !(Uri.TryCreate(webhook, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            {
                Console.Error.WriteLine($"--notify {webhook}: not an http:// or https:// address");
                return 1;
            }
            NotifySettings? everywhere = webhook is null && parse.GetValue(notifyCommand) is null ? null
                : new NotifySettings(webhook, parse.GetValue(notifyCommand), NotifySettings.AllEvents);
            var options = parse.GetValue(dashboard) ? DashboardOptionsOf(parse, readOnly: false) : null;
            if (parse.GetValue(dashboard) && options is null) return 2;
            var workspace = CommonOptions.Workspace(parse);
            var queue = new StudyQueue(workspace.Queue);
            using var serving = queue.TryLockServer();
            if (serving is null)
            {
                // Two servers on one queue would each take the other's running study back as abandoned.
                Console.Error.WriteLine($"error: {workspace.Root} is already served by {queue.ServerLockHolder()}; stop that server first, or serve another --home");
                return 1;
            }
            Console.Error.WriteLine($"serving {workspace.Root}: submit with `studies submit FILE --home {workspace.Root}` or copy a study file into {workspace.Queue}");
            var roots = parse.GetValue(dataRoots) ?? [];
            foreach (var root in roots)
            {
                if (!Directory.Exists(root))
                {
                    Console.Error.WriteLine($"--data-root {root}: not a folder");
                    return ExitCodes.Usage;
                }
            }
            using var host = StudiesServices.ServeHost(StudiesServices.Configuration(parse.GetValue(CommonOptions.Home), parse.GetValue(CommonOptions.Store),
                roots.Select(Path.GetFullPath).ToList()),
                s => s.AddSingleton(_ =>
                {
                    var targets = new ServeNotifications();
                    if (everywhere is not null) targets.Targets.Add(everywhere);
                    return targets;
                }));
            await using var server = options is null ? null : await StartDashboardAsync(host.Services, options, ct);
            if (options is not null && server is null) return 1;
            await host.RunAsync(ct);
            // The service ends only when stopped (SIGTERM, Ctrl+C): 130, as every command stopped by a signal.
            return ExitCodes.Stopped;
        });
        return command;
    }

    public static Command Dashboard()
    {
        var command = new Command("dashboard", "A read-only dashboard of the workspace in the browser, while another process runs its studies (Ctrl+C stops it)") { Port, Bind, TokenHours };
        command.SetAction(async (parse, ct) =>
        {
            if (DashboardOptionsOf(parse, readOnly: true) is not { } options) return 2;
            await using var services = CommonOptions.Services(parse, Logging.CreateFactory());
            await using var server = await StartDashboardAsync(services, options, ct);
            if (server is null) return 1;
            try { await Task.Delay(Timeout.Infinite, ct); } catch (OperationCanceledException) { }
            return ExitCodes.Stopped;
        });
        return command;
    }

    private static DashboardOptions? DashboardOptionsOf(ParseResult parse, bool readOnly)
    {
        var bind = parse.GetValue(Bind);
        var address = IPAddress.Loopback;
        if (bind is not null && !IPAddress.TryParse(bind, out address!))
        {
            Console.Error.WriteLine($"--bind {bind}: not an IP address (e.g. 127.0.0.1, 0.0.0.0 or this machine's address on the network)");
            return null;
        }
        var port = parse.GetValue(Port);
        if (port is < 0 or > 65535)
        {
            Console.Error.WriteLine($"--port {port}: a port is 0 (any free one) to 65535");
            return null;
        }
        var hours = parse.GetValue(TokenHours);
        if (!(hours > 0 && hours <= 24 * 365))
        {
            Console.Error.WriteLine($"--token-hours {hours}: a number of hours above 0 (at most a year)");
            return null;
        }
        return new DashboardOptions(address, port, readOnly, TimeSpan.FromHours(hours));
    }

    /// <summary>Starts the dashboard on the command's stores and prints its address on standard output (with the token when bound beyond loopback); null when the port cannot be had.</summary>
    private static async Task<DashboardServer?> StartDashboardAsync(IServiceProvider services, DashboardOptions options, CancellationToken ct)
    {
        try
        {
            var server = await DashboardServer.StartAsync(services.GetRequiredService<StudyStores>(), services.GetRequiredService<IReportPublisher>(),
                services.GetRequiredService<Workspace>(), options, ct);
            // The token is never printed (terminals and logs are shared): it is in a file only this user can read.
            Console.WriteLine($"dashboard: {server.PublicUrl}");
            if (server.Token is not null)
                Console.Error.WriteLine($"the dashboard is reachable from other machines on {options.Address}; it asks for a token: the address with it is in " +
                    $"{server.TokenFile} (readable by you only), valid until {server.TokenExpires!.Value.UtcDateTime:yyyy-MM-dd HH:mm} UTC");
            return server;
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"the dashboard cannot listen on {options.Address}:{options.Port}: {e.Message} (choose another with --port)");
            return null;
        }
    }

    public static Command Submit()
    {
        var file = new Argument<FileInfo>("file") { Description = "The study file (YAML); validated before it is queued" };
        var command = new Command("submit", "Validate a study file and queue it for `studies serve`") { file };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(file)!.FullName;
            var study = StudyLoader.Load(path);
            var trials = StudyExpander.Expand(study);
            if (CheckCommand.CheckData(study, trials, verbose: false) is var code && code != ExitCodes.Ok) return code;
            var queue = new StudyQueue(CommonOptions.Workspace(parse).Queue);
            queue.EnsureExists();
            var queued = queue.Submit(path);
            Console.WriteLine($"queued {study.Name} ({trials.Count} trials) as {queued}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
