using Studies.Trials.Components;

namespace Studies.Orchestrator.Storage;

/// <summary>
/// A kind of store: its name (the scheme a location starts with), the prefixes that name it, whether every host of a
/// cluster can reach it (a Slurm study needs such a store), whether its target is a file (resolved against the study's
/// folder, and checked against a queued study's allowed folders) and the form users write. The implementation
/// (<see cref="IStorageBackend"/>) names its entry; the composition root registers it.
/// </summary>
/// <param name="Prefixes">What a location starts with to name this backend (case-insensitive); the first is the canonical one.</param>
public sealed record StoreBackendEntry(string Name, string Doc, IReadOnlyList<string> Prefixes, bool Shared, bool IsFile, string Form) : IComponentEntry
{
    public IReadOnlyList<OptionSpec> Options => [];

    public bool Names(string location) => Prefixes.Any(p => location.StartsWith(p, StringComparison.OrdinalIgnoreCase));
}

/// <summary>The store-backend registry: what <c>--store</c>, STUDIES_STORE and a study's <c>store:</c> may name.</summary>
public static class StoreBackends
{
    public static readonly StoreBackendEntry Sqlite = new("sqlite",
        "One SQLite file on this host (the default: `studies.db` in the workspace); a plain path means this backend.",
        ["sqlite:"], Shared: false, IsFile: true, "sqlite:PATH");

    public static readonly StoreBackendEntry PostgreSql = new("postgresql",
        "A PostgreSQL database every node of a cluster reaches (needed by `executor: slurm`); `?schema=NAME` keeps studies apart.",
        ["postgresql://", "postgres://"], Shared: true, IsFile: false, "postgresql://USER@HOST:PORT/DATABASE");

    public static Registry<StoreBackendEntry> All { get; } = new("store backend", [Sqlite, PostgreSql]);

    /// <summary>The backend a plain path (no scheme) means: the first file backend.</summary>
    public static StoreBackendEntry ForPlainPath => All.Entries.First(e => e.IsFile);
}
