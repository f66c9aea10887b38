namespace Studies.Trials.Components;

/// <summary>
/// The components of one kind, by name, in registration order. Immutable: <see cref="With"/> gives a
/// new registry, so a test can add a component without changing what other code sees.
/// </summary>
public sealed class Registry<T> where T : IComponentEntry
{
    private readonly Dictionary<string, T> _byName;

    public Registry(string kind, IEnumerable<T> entries)
    {
        Kind = kind;
        Entries = entries.ToArray();
        _byName = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var entry in Entries)
            if (!_byName.TryAdd(entry.Name, entry)) throw new ArgumentException($"{kind} '{entry.Name}' is registered twice");
    }

    /// <summary>What the components are, for messages: "loss", "model kind", "data source".</summary>
    public string Kind { get; }
    public IReadOnlyList<T> Entries { get; }
    public IReadOnlyList<string> Names => Entries.Select(e => e.Name).ToArray();

    public bool TryGet(string name, out T entry) => _byName.TryGetValue(name, out entry!);

    public T Get(string name) =>
        _byName.TryGetValue(name, out var entry) ? entry : throw new ArgumentException($"unknown {Kind} '{name}' (known: {string.Join(", ", Names)})");

    public Registry<T> With(T entry) => new(Kind, [.. Entries, entry]);
}
