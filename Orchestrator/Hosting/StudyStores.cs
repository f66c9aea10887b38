using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Studies.Orchestrator.Storage;

namespace Studies.Orchestrator.Hosting;

/// <summary>Where the store of this process lives (<c>--home</c>, <c>--store</c>) and the only way commands open it.</summary>
public sealed class StudiesOptions
{
    public const string Section = "Studies";

    /// <summary>Workspace folder (database, trial folders, reports, queue): <c>--home</c>, else $STUDIES_HOME, else ./runs.</summary>
    public string? Home { get; set; }

    /// <summary>The store to use (<c>sqlite:PATH</c> or <c>postgresql://...</c>): <c>--store</c>, else $STUDIES_STORE; null: the study's <c>store:</c>, or the workspace database.</summary>
    public string? Store { get; set; }

    /// <summary>The least level of log lines (Trace, Debug, Information, Warning, Error): $STUDIES_LOG; null: the command's own (warnings, or information for a cluster task).</summary>
    public string? Log { get; set; }

    /// <summary>
    /// Folders besides the workspace whose files a study taken off the serve queue may read or write (data, an SQLite
    /// <c>store:</c>, <c>checkpoints:</c>): <c>serve --data-root DIR</c>, or <c>STUDIES_Studies__DataRoots__0</c>, <c>__1</c>, ...
    /// </summary>
    public List<string> DataRoots { get; set; } = [];

    public static StudiesOptions From(IConfiguration configuration) => configuration.GetSection(Section).Get<StudiesOptions>() ?? new();

    /// <summary>The configured <see cref="Log"/> level, or <paramref name="fallback"/> when none (or not a level) is set.</summary>
    public LogLevel LogLevelOr(LogLevel fallback) => Enum.TryParse<LogLevel>(Log, true, out var level) ? level : fallback;
}

/// <summary>Resolves and opens the store a command works on, whichever backend it is.</summary>
public sealed class StudyStores(StudyStorageFactory factory, Workspace workspace, IOptions<StudiesOptions> options)
{
    public StoreLocation Locate(string? studyStore = null, string? studyDirectory = null) =>
        StoreLocation.Resolve(options.Value.Store, studyStore, studyDirectory, workspace.Database);

    /// <summary>Whether a study's own <c>store:</c> decides where it is recorded (no --store, no STUDIES_STORE).</summary>
    public bool StudyChoosesStore(string? studyStore) =>
        studyStore is { Length: > 0 } && options.Value.Store is not { Length: > 0 };

    /// <summary>Where a queued study may read and write: the workspace and the configured data folders.</summary>
    public IReadOnlyList<string> AllowedRoots => [workspace.Root, .. options.Value.DataRoots.Where(r => r.Length > 0).Select(r => Path.GetFullPath(r))];

    public Task<IStudyStorage> OpenAsync(StoreLocation location, StoreAccess access, CancellationToken ct = default) =>
        factory.OpenAsync(location, access, ct);

    /// <summary>The store this command reads or steers, or null (and a message) when nothing is recorded there yet.</summary>
    public async Task<IStudyStorage?> OpenExistingAsync(StoreAccess access, TextWriter messages, CancellationToken ct = default)
    {
        var location = Locate();
        if (!await factory.ExistsAsync(location, ct))
        {
            messages.WriteLine($"no studies recorded in {location} (nothing there yet); run one with `studies run FILE`");
            return null;
        }
        return await factory.OpenAsync(location, access, ct);
    }
}
