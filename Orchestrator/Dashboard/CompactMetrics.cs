using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Studies.Orchestrator.Dashboard;

/// <summary>
/// Metrics by name stored as one array of values, the names shared with every other record that
/// has the same ones. A 1,000-trial study's results read for the report's charts hold ~100,000 small
/// metric dictionaries, each with its own copy of every name: this keeps them at a fifth of the size
/// (bench dashboard: the serve process's peak memory).
/// </summary>
public sealed class CompactMetrics : IReadOnlyDictionary<string, double>
{
    private readonly MetricNames names;
    private readonly double[] values;

    private CompactMetrics(MetricNames names, double[] values)
    {
        this.names = names;
        this.values = values;
    }

    public double this[string key] => TryGetValue(key, out var v) ? v : throw new KeyNotFoundException($"no metric '{key}'");
    public IEnumerable<string> Keys => names.Names;
    public IEnumerable<double> Values => values;
    public int Count => values.Length;
    public bool ContainsKey(string key) => names.Index.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out double value)
    {
        if (names.Index.TryGetValue(key, out var i))
        {
            value = values[i];
            return true;
        }
        value = 0;
        return false;
    }

    public IEnumerator<KeyValuePair<string, double>> GetEnumerator()
    {
        for (var i = 0; i < values.Length; i++) yield return new KeyValuePair<string, double>(names.Names[i], values[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private sealed class MetricNames(string[] names)
    {
        public string[] Names { get; } = names;
        public Dictionary<string, int> Index { get; } = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
    }

    /// <summary>Hands out compact copies; records with the same names (in the same order) share one set. Not thread-safe.</summary>
    public sealed class Pool
    {
        private readonly List<MetricNames> known = [];

        public IReadOnlyDictionary<string, double> Compact(IReadOnlyDictionary<string, double> metrics)
        {
            var names = Find(metrics);
            var values = new double[names.Names.Length];
            var i = 0;
            foreach (var (_, value) in metrics) values[i++] = value;
            return new CompactMetrics(names, values);
        }

        private MetricNames Find(IReadOnlyDictionary<string, double> metrics)
        {
            foreach (var candidate in known)
            {
                if (candidate.Names.Length == metrics.Count && metrics.Keys.Select((k, i) => candidate.Names[i] == k).All(same => same)) return candidate;
            }
            var created = new MetricNames(metrics.Keys.ToArray());
            known.Add(created);
            return created;
        }
    }
}
