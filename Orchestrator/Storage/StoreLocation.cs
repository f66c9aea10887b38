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
    /// <summary>What this location's backend is and can do (<see cref="StoreBackends"/>).</summary>
    public StoreBackendEntry Backend => StoreBackends.All.Get(Scheme);

    /// <summary>The location as it is written on a command line (<c>sqlite:PATH</c>, or the URI).</summary>
    public string Text => Backend.IsFile ? $"{Backend.Prefixes[0]}{Target}" : Target;

    /// <summary>
    /// A location as written: the backend whose prefix it starts with, a plain path meaning a file store. A file
    /// backend's relative path resolves against <paramref name="baseDirectory"/>; other targets are kept as written.
    /// </summary>
    public static StoreLocation Parse(string text, string baseDirectory)
    {
        var trimmed = text.Trim();
        var backend = StoreBackends.All.Entries.FirstOrDefault(b => b.Names(trimmed));
        var colon = trimmed.IndexOf(':');
        // "C:\..." never occurs on the Linux hosts this runs on, so any other "word:" prefix is an unknown scheme.
        if (backend is null && colon > 1 && trimmed[..colon].All(char.IsAsciiLetterLower))
            throw new StoreException($"unknown store '{trimmed}': use {string.Join(" or ", StoreBackends.All.Entries.Select(b => b.Form))}");
        backend ??= StoreBackends.ForPlainPath;
        if (!backend.IsFile) return new StoreLocation(backend.Name, trimmed);
        var prefix = backend.Prefixes.FirstOrDefault(p => trimmed.StartsWith(p, StringComparison.OrdinalIgnoreCase));
        if (prefix is not null) trimmed = trimmed[prefix.Length..];
        if (trimmed.Length == 0) throw new StoreException($"the store location is empty: use {string.Join(" or ", StoreBackends.All.Entries.Select(b => b.Form))}");
        return new StoreLocation(backend.Name, Path.GetFullPath(trimmed, baseDirectory));
    }

    /// <summary>The store to use: <paramref name="explicitStore"/> (the configured store: --store, else STUDIES_STORE), else the study file's, else the default.</summary>
    public static StoreLocation Resolve(string? explicitStore, string? studyStore, string? studyDirectory, string defaultSqlitePath)
    {
        if (explicitStore is { Length: > 0 }) return Parse(explicitStore, Directory.GetCurrentDirectory());
        if (studyStore is { Length: > 0 }) return Parse(studyStore, studyDirectory ?? Directory.GetCurrentDirectory());
        return new StoreLocation(StoreBackends.ForPlainPath.Name, Path.GetFullPath(defaultSqlitePath));
    }

    /// <summary>For messages: the target without a password.</summary>
    public override string ToString() => Backend.IsFile ? Target : RedactPassword(Target);

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
    /// <summary>Its entry in <see cref="StoreBackends"/>.</summary>
    StoreBackendEntry Entry { get; }

    /// <summary>Whether a store exists at the location (an SQLite file, a PostgreSQL schema with studies tables).</summary>
    Task<bool> ExistsAsync(StoreLocation location, CancellationToken ct);

    Task<IStudyStorage> OpenAsync(StoreLocation location, StoreAccess access, CancellationToken ct);
}

/// <summary>Opens whichever backend a location names; the only place that knows the list of backends.</summary>
public sealed class StudyStorageFactory(IEnumerable<IStorageBackend> backends)
{
    private IStorageBackend Backend(StoreLocation location) =>
        backends.FirstOrDefault(b => b.Entry.Name == location.Scheme)
        ?? throw new StoreException($"no store backend for '{location.Scheme}' in this build (known: {string.Join(", ", backends.Select(b => b.Entry.Name))})");

    public Task<bool> ExistsAsync(StoreLocation location, CancellationToken ct = default) => Backend(location).ExistsAsync(location, ct);

    public Task<IStudyStorage> OpenAsync(StoreLocation location, StoreAccess access, CancellationToken ct = default) =>
        Backend(location).OpenAsync(location, access, ct);
}
