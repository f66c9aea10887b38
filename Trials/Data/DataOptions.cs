using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Studies.Trials.Data;

/// <summary>
/// Typed reads of a source's <c>options</c> object. Every error names the source and the option;
/// an option the source does not know is an error too, so a misspelt key never silently falls back
/// to a default.
/// </summary>
public sealed class DataOptions
{
    private readonly JsonObject _options;
    private readonly string _source;

    public DataOptions(string source, JsonObject? options, IEnumerable<string> known)
    {
        _source = source;
        _options = options ?? new JsonObject();
        var knownSet = known.ToHashSet(StringComparer.Ordinal);
        foreach (var (key, _) in _options)
            if (!knownSet.Contains(key))
                throw new DataException($"data source '{source}': unknown option '{key}' (known: {string.Join(", ", knownSet.Order(StringComparer.Ordinal))})");
    }

    /// <summary>The source name used in messages.</summary>
    public string Source => _source;

    public bool Has(string name) => _options[name] is not null;

    /// <summary>An option of the study file that does not fit the data: reported at the study's <c>options</c> key (exit 2).</summary>
    public DataException Error(string name, string what) => new($"data source '{_source}': option '{name}' {what}") { StudyKey = "options" };

    public double Double(string name, double fallback) => _options[name] is { } node ? AsDouble(name, node) : fallback;

    public double PositiveDouble(string name, double fallback)
    {
        var value = Double(name, fallback);
        if (!(value > 0)) throw Error(name, $"must be positive, got {Format(value)}");
        return value;
    }

    public int PositiveInt(string name, int fallback) => _options[name] is { } node ? AsPositiveInt(name, node) : fallback;

    public long? OptionalPositiveLong(string name)
    {
        if (_options[name] is not { } node) return null;
        var value = AsDouble(name, node);
        if (value < 1 || value != Math.Floor(value)) throw Error(name, $"must be a positive integer, got {node.ToJsonString()}");
        return (long)value;
    }

    public string String(string name, string fallback) => _options[name] is { } node ? AsString(name, node) : fallback;

    public string RequiredString(string name) =>
        _options[name] is { } node ? AsString(name, node) : throw Error(name, "is required");

    public double[]? DoubleList(string name)
    {
        if (_options[name] is not { } node) return null;
        if (node is not JsonArray array) throw Error(name, $"must be a list of numbers, got {node.ToJsonString()}");
        return array.Select((item, k) => item is null ? throw Error(name, $"item {k + 1} is null") : AsDouble($"{name}[{k + 1}]", item)).ToArray();
    }

    public JsonNode? Node(string name) => _options[name];

    /// <summary>A number for every mass, or a list with one number per mass of <paramref name="masses"/>.</summary>
    public double[] PerMass(string name, IReadOnlyList<double> masses)
    {
        if (_options[name] is JsonArray)
        {
            var list = DoubleList(name)!;
            if (list.Length != masses.Count) throw Error(name, $"has {list.Length} values but there are {masses.Count} masses");
            return list;
        }
        return Enumerable.Repeat(Double(name, double.NaN), masses.Count).ToArray();
    }

    /// <summary>A mass grid given as a list or as <c>{from, to, step}</c>, sorted and checked; null when absent.</summary>
    public double[]? Masses(string name)
    {
        switch (_options[name])
        {
            case null:
                return null;
            case JsonObject range:
                foreach (var (key, _) in range)
                    if (key is not ("from" or "to" or "step")) throw Error(name, $"has unknown key '{key}' (known: from, to, step)");
                double Get(string key) => range[key] is { } v ? AsDouble($"{name}.{key}", v) : throw Error(name, $"needs '{key}'");
                double from = Get("from"), to = Get("to"), step = Get("step");
                if (!(step > 0) || !(to >= from)) throw Error(name, $"needs step > 0 and to >= from, got from {from}, to {to}, step {step}");
                if ((to - from) / step > 100_000) throw Error(name, "would have more than 100000 masses");
                return MassGrid.Sorted(MassGrid.Range(from, to, step), $"data source '{_source}', option '{name}'");
            default:
                return MassGrid.Sorted(DoubleList(name)!, $"data source '{_source}', option '{name}'");
        }
    }

    /// <summary>A number, or an object mapping each of <paramref name="keys"/> to a number (missing keys take their default).</summary>
    public double[] PerKey(string name, IReadOnlyList<string> keys, IReadOnlyList<double> defaults)
    {
        var values = defaults.ToArray();
        switch (_options[name])
        {
            case null:
                break;
            case JsonObject o:
                foreach (var (key, value) in o)
                {
                    int k = IndexOf(keys, key);
                    if (k < 0) throw Error(name, $"has unknown key '{key}' (known: {string.Join(", ", keys)})");
                    values[k] = value is null ? throw Error(name, $"value of '{key}' is null") : AsDouble($"{name}.{key}", value);
                }
                break;
            case JsonValue v:
                Array.Fill(values, AsDouble(name, v));
                break;
            default:
                throw Error(name, "must be a number or an object of numbers");
        }
        return values;
    }

    private static int IndexOf(IReadOnlyList<string> keys, string key)
    {
        for (int k = 0; k < keys.Count; k++) if (keys[k] == key) return k;
        return -1;
    }

    public double AsDouble(string name, JsonNode node)
    {
        if (node is JsonValue value)
        {
            switch (value.GetValueKind())
            {
                case JsonValueKind.Number:
                    return double.Parse(value.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
                case JsonValueKind.String when double.TryParse(value.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed):
                    return parsed;
            }
        }
        throw Error(name, $"must be a number, got {node.ToJsonString()}");
    }

    public int AsPositiveInt(string name, JsonNode node)
    {
        var value = AsDouble(name, node);
        if (value < 1 || value > int.MaxValue || value != Math.Floor(value)) throw Error(name, $"must be a positive integer, got {node.ToJsonString()}");
        return (int)value;
    }

    public string AsString(string name, JsonNode node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw Error(name, $"must be a string, got {node.ToJsonString()}");

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
