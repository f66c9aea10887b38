namespace Studies.Orchestrator.Storage;

/// <summary>Whether a command only reads the store (status, list, export, report) or also writes it.</summary>
public enum StoreAccess { ReadWrite, ReadOnly }

/// <summary>
/// Which store a command uses, written as a URI-like string: <c>sqlite:PATH</c> (the default,
/// <c>sqlite:&lt;workspace&gt;/studies.db</c>) or <c>postgresql://user@host:port/db</c>. Chosen by, first to last:
/// <c>--store</c>, the <c>STUDIES_STORE</c> variable, the study file's <c>store:</c> key, the workspace default.
/// </summary>
public sealed record StoreLocation(string Scheme, string Target)
{
    public const string Sqlite = "sqlite";
    public const string PostgreSql = "postgresql";

    /// <summary>A plain path (no scheme) is an SQLite file; relative paths resolve against <paramref name="baseDirectory"/>.</summary>
    public static StoreLocation Parse(string text, string baseDirectory)
    {
        var trimmed = text.Trim();
        if (trimmed.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
            return new StoreLocation(PostgreSql, trimmed);
        var colon = trimmed.IndexOf(':');
        // "C:\..." never occurs on the Linux hosts this runs on, so any "word:" prefix is a scheme.
        if (colon > 1 && trimmed[..colon].All(char.IsAsciiLetterLower))
        {
            var scheme = trimmed[..colon];
            if (scheme != Sqlite)
                throw new StoreException($"unknown store '{trimmed}': use sqlite:PATH or postgresql://USER@HOST:PORT/DATABASE");
            trimmed = trimmed[(colon + 1)..];
        }
        if (trimmed.Length == 0) throw new StoreException("the store location is empty: use sqlite:PATH or postgresql://...");
        return new StoreLocation(Sqlite, Path.GetFullPath(trimmed, baseDirectory));
    }

    /// <summary>The store to use: <paramref name="explicitStore"/> (the configured store: --store, else STUDIES_STORE), else the study file's, else the default.</summary>
    public static StoreLocation Resolve(string? explicitStore, string? studyStore, string? studyDirectory, string defaultSqlitePath)
    {
        if (explicitStore is { Length: > 0 }) return Parse(explicitStore, Directory.GetCurrentDirectory());
        if (studyStore is { Length: > 0 }) return Parse(studyStore, studyDirectory ?? Directory.GetCurrentDirectory());
        return new StoreLocation(Sqlite, Path.GetFullPath(defaultSqlitePath));
    }

    /// <summary>For messages: the target without a password.</summary>
    public override string ToString() => Scheme == Sqlite ? Target : RedactPassword(Target);

    private static string RedactPassword(string uri)
    {
        var at = uri.IndexOf('@');
        var scheme = uri.IndexOf("://", StringComparison.Ordinal);
        if (at < 0 || scheme < 0) return uri;
        var userInfo = uri[(scheme + 3)..at];
        var colon = userInfo.IndexOf(':');
        return colon < 0 ? uri : uri[..(scheme + 3)] + userInfo[..colon] + ":***" + uri[at..];
    }
}

/// <summary>One kind of store (SQLite, PostgreSQL): opens a location of its scheme.</summary>
public interface IStorageBackend
{
    string Scheme { get; }

    /// <summary>Whether a store exists at the location (an SQLite file, a PostgreSQL schema with studies tables).</summary>
    Task<bool> ExistsAsync(StoreLocation location, CancellationToken ct);

    Task<IStudyStorage> OpenAsync(StoreLocation location, StoreAccess access, CancellationToken ct);
}

/// <summary>Opens whichever backend a location names; the only place that knows the list of backends.</summary>
public sealed class StudyStorageFactory(IEnumerable<IStorageBackend> backends)
{
    private IStorageBackend Backend(StoreLocation location) =>
        backends.FirstOrDefault(b => b.Scheme == location.Scheme)
        ?? throw new StoreException($"no store backend for '{location.Scheme}' in this build (known: {string.Join(", ", backends.Select(b => b.Scheme))})");

    public Task<bool> ExistsAsync(StoreLocation location, CancellationToken ct = default) => Backend(location).ExistsAsync(location, ct);

    public Task<IStudyStorage> OpenAsync(StoreLocation location, StoreAccess access, CancellationToken ct = default) =>
        Backend(location).OpenAsync(location, access, ct);
}
