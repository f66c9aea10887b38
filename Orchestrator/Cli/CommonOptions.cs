using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Storage;

namespace Studies.Orchestrator.Cli;

/// <summary>Options shared by the commands that use the workspace, and the services those commands are built from.</summary>
internal static class CommonOptions
{
    public static readonly Option<string?> Home = new("--home")
    {
        Description = "Workspace folder with the database, trial folders and reports (default: $STUDIES_HOME or ./runs)",
        Recursive = true,
    };

    public static readonly Option<string?> Store = new("--store")
    {
        Description = "The store: sqlite:PATH or postgresql://USER@HOST:PORT/DB (default: $STUDIES_STORE, the study's store: key, or the workspace's studies.db)",
        Recursive = true,
    };

    /// <summary>The configuration of a command: its --home and --store over the environment and the defaults.</summary>
    public static IConfiguration Configuration(ParseResult parse) => StudiesServices.Configuration(parse.GetValue(Home), parse.GetValue(Store));

    public static Workspace Workspace(ParseResult parse) => Hosting.Workspace.From(Configuration(parse));

    /// <summary>The composition root of a foreground command, with the command line's --home and --store.</summary>
    public static ServiceProvider Services(ParseResult parse, ILoggerFactory loggers, Action<IServiceCollection>? customise = null) =>
        StudiesServices.ForCommand(Configuration(parse), loggers, customise);

    /// <summary>Opens the store a command reads or steers, or explains that nothing is recorded yet (null).</summary>
    public static async Task<CommandStore?> OpenExistingStoreAsync(ParseResult parse, StoreAccess access, CancellationToken ct, bool quickCheck = true)
    {
        var services = Services(parse, Logging.CreateFactory());
        try
        {
            var store = await services.GetRequiredService<StudyStores>().OpenExistingAsync(access, Console.Error, ct);
            if (store is not null)
            {
                // A command run by hand checks what it reads too (writers always do): damage found by `list` or `status`
                // is one line and exit 4, not a table built on it. The dashboard, which reads every few seconds, does not.
                if (quickCheck && store is Storage.Sqlite.SqliteStudyStorage { IsReadOnly: true } sqlite)
                {
                    try
                    {
                        await sqlite.QuickCheckAsync(ct);
                    }
                    catch
                    {
                        await store.DisposeAsync();
                        throw;
                    }
                }
                return new CommandStore(services, store);
            }
        }
        catch
        {
            await services.DisposeAsync();
            throw;
        }
        await services.DisposeAsync();
        return null;
    }

    public static async Task<StudyRow?> FindStudyAsync(IStudyStorage store, string name, CancellationToken ct)
    {
        var study = await store.FindStudyAsync(name, ct);
        if (study is null)
        {
            var known = (await store.ListStudiesAsync(ct)).Select(s => s.Name).ToList();
            Console.Error.WriteLine($"no study named '{name}'" + (known.Count > 0 ? $"; recorded: {string.Join(", ", known)}" : ""));
        }
        return study;
    }
}

/// <summary>The store a command opened, with the services it came from; disposing closes both.</summary>
internal sealed class CommandStore(ServiceProvider services, IStudyStorage store) : IAsyncDisposable
{
    public IStudyStorage Store { get; } = store;
    public ServiceProvider Services { get; } = services;

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        await Services.DisposeAsync();
    }
}
