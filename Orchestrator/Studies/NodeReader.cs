using System.Globalization;
using System.Text.Json.Nodes;
using Studies.Trials.Components;

namespace Studies.Orchestrator.Studies;

/// <summary>
/// Typed reads of <see cref="YNode"/>s that report, rather than throw, what is wrong and where:
/// every read returns null after recording an error, so a reader keeps going and finds the rest.
/// </summary>
internal sealed class NodeReader(Diagnostics diagnostics, ComponentNames? components = null)
{
    public Diagnostics Diagnostics { get; } = diagnostics;

    /// <summary>The losses, model kinds and data sources this study may name.</summary>
    public ComponentNames Components { get; } = components ?? ComponentNames.BuiltIn;

    public void Error(YNode at, string message) => Diagnostics.Error(at.Position, message);

    /// <summary>A mapping whose keys are all in <paramref name="known"/>; unknown and duplicate keys are reported.</summary>
    public YMap? Section(YNode? node, string[] known, string context, bool allowExtensions = false)
    {
        if (node is null) return null;
        if (node is not YMap map)
        {
            Error(node, $"expected a mapping for {context}, got {Describe(node)}");
            return null;
        }
        CheckDuplicates(map, "key");
        foreach (var (key, _) in map.Entries)
        {
            if (known.Contains(key.Text) || (allowExtensions && key.Text.StartsWith("x-", StringComparison.Ordinal))) continue;
            var closest = Vocabulary.Closest(key.Text, known);
            Error(key, closest is not null
                ? $"unknown key '{key.Text}', did you mean '{closest}'?"
                : $"unknown key '{key.Text}' in {context}; valid keys: {Vocabulary.List(known)}");
        }
        return map;
    }

    public void CheckDuplicates(YMap map, string what)
    {
        var first = new Dictionary<string, YScalar>(StringComparer.Ordinal);
        foreach (var (key, _) in map.Entries)
            if (!first.TryAdd(key.Text, key))
                Error(key, $"duplicate {what} '{key.Text}' (first at {first[key.Text].Position})");
    }

    public static bool IsNull(YNode? node) => node is null or YScalar { IsNull: true };

    public double? Number(YNode node, string what)
    {
        if (node is YScalar s && s.AsNumber() is { } v)
        {
            if (double.IsFinite(v)) return v;
            Error(node, $"{what} must be a finite number, got '{s.Text}'");
            return null;
        }
        Error(node, $"expected a number for {what}, got {Describe(node)}");
        return null;
    }

    public long? Integer(YNode node, string what)
    {
        if (node is YScalar s && s.AsInteger() is { } v) return v;
        Error(node, node is YScalar { Plain: true } big && YScalar.LooksInteger(big.Text)
            ? $"{what} is far too large, got {Describe(node)}"
            : $"expected an integer for {what}, got {Describe(node)}");
        return null;
    }

    /// <summary>A whole number in [min, max]; a value beyond is an error, never clamped.</summary>
    public long? IntegerIn(YNode node, string what, long min, long max)
    {
        if (IntegerAtLeast(node, what, min) is not { } v) return null;
        if (v <= max) return v;
        Error(node, $"{what} must be at most {max.ToString(CultureInfo.InvariantCulture)}, got {v.ToString(CultureInfo.InvariantCulture)}");
        return null;
    }

    /// <summary>A whole number that fits the int the spec stores it in.</summary>
    public int? IntAtLeast(YNode node, string what, int min) => IntegerIn(node, what, min, int.MaxValue) is { } v ? (int)v : null;

    /// <summary>
    /// A value against a component's option schema (<see cref="OptionSpec"/>): type, bounds, allowed
    /// names, and the keys of mappings. Returns the value as a spec stores it (numbers as doubles,
    /// integers as longs, names as text), or null after reporting what is wrong.
    /// </summary>
    public JsonNode? Option(YNode node, OptionSpec spec, string what)
    {
        var before = Diagnostics.Count;
        switch (spec.Type)
        {
            case OptionType.Number:
                return NumberIn(node, what, spec.Min, !spec.MinExclusive, spec.Max, !spec.MaxExclusive) is { } d ? JsonValue.Create(d) : null;
            case OptionType.Integer:
                // The smallest and largest whole numbers inside the schema's bounds (unbounded: a long's).
                var low = double.IsNegativeInfinity(spec.Min) ? long.MinValue : (long)Math.Floor(spec.Min) + (spec.MinExclusive || spec.Min % 1 != 0 ? 1 : 0);
                var high = double.IsPositiveInfinity(spec.Max) ? long.MaxValue : (long)Math.Ceiling(spec.Max) - (spec.MaxExclusive || spec.Max % 1 != 0 ? 1 : 0);
                return IntegerIn(node, what, low, high) is { } i ? JsonValue.Create(i) : null;
            case OptionType.Text or OptionType.Path:
                return Text(node, what) is { } t ? JsonValue.Create(t) : null;
            case OptionType.Choice:
                return Name(node, [.. spec.Allowed], what) is { } n ? JsonValue.Create(n) : null;
            case OptionType.List:
                if (node is not YSeq seq)
                {
                    Error(node, $"expected a list for {what}, got {Describe(node)}");
                    return null;
                }
                var itemSpec = new OptionSpec(spec.Key, spec.Items, spec.Doc) { Min = spec.Min, MinExclusive = spec.MinExclusive, Max = spec.Max, MaxExclusive = spec.MaxExclusive };
                foreach (var item in seq.Items) Option(item, itemSpec, $"an item of {what}");
                break;
            case OptionType.Mapping or OptionType.NumberOrMapping:
                if (spec.Type == OptionType.NumberOrMapping && node is YScalar)
                {
                    Number(node, what);
                    break;
                }
                if (Section(node, spec.Fields.Select(f => f.Key).ToArray(), what) is not { } map) return null;
                foreach (var (key, value) in map.Entries)
                    if (spec.Fields.FirstOrDefault(f => f.Key == key.Text) is { } field) Option(value, field, $"{what}.{key.Text}");
                break;
            case OptionType.NumberOrList:
                if (node is YSeq list) foreach (var item in list.Items) Number(item, $"an item of {what}");
                else Number(node, what);
                break;
            case OptionType.Masses:
                break; // read by the data reader, which normalises the grid
        }
        return Diagnostics.Count == before ? YamlJson.ToJson(node) : null;
    }

    public string? Text(YNode node, string what)
    {
        if (node is YScalar s && !s.IsNull) return s.Text;
        Error(node, $"expected text for {what}, got {Describe(node)}");
        return null;
    }

    /// <summary>One of a fixed set of names; the error lists them all and the likely intended one.</summary>
    public string? Name(YNode node, string[] valid, string what)
    {
        if (node is not YScalar s || s.IsNull)
        {
            Error(node, $"expected a {what} name ({Vocabulary.List(valid)}), got {Describe(node)}");
            return null;
        }
        if (valid.Contains(s.Text)) return s.Text;
        var closest = Vocabulary.Closest(s.Text, valid);
        Error(node, $"unknown {what} '{s.Text}'{(closest is null ? "" : $", did you mean '{closest}'?")}; valid: {Vocabulary.List(valid)}");
        return null;
    }

    /// <summary>A number within bounds; the message shows the interval in the usual bracket notation.</summary>
    public double? NumberIn(YNode node, string what, double low, bool lowInclusive, double high, bool highInclusive)
    {
        if (Number(node, what) is not { } v) return null;
        var ok = (lowInclusive ? v >= low : v > low) && (highInclusive ? v <= high : v < high);
        if (ok) return v;
        Error(node, $"{what} must be {Interval(low, lowInclusive, high, highInclusive)}, got {Format(v)}");
        return null;
    }

    public double? Positive(YNode node, string what) => NumberIn(node, what, 0, false, double.PositiveInfinity, false);

    public double? NonNegative(YNode node, string what) => NumberIn(node, what, 0, true, double.PositiveInfinity, false);

    public long? IntegerAtLeast(YNode node, string what, long min)
    {
        if (Integer(node, what) is not { } v) return null;
        if (v >= min) return v;
        Error(node, $"{what} must be at least {min}, got {v}");
        return null;
    }

    public static string Describe(YNode node) => node switch
    {
        YScalar s when s.IsNull => "nothing (null)",
        YScalar s => YamlJson.Quote(s.Text),
        YMap => "a mapping",
        YSeq => "a list",
        _ => node.GetType().Name,
    };

    public static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Interval(double low, bool lowInclusive, double high, bool highInclusive)
    {
        if (double.IsPositiveInfinity(high))
            return low == 0 && !lowInclusive ? "positive" : $"{(lowInclusive ? "at least" : "greater than")} {Format(low)}";
        return $"in {(lowInclusive ? "[" : "(")}{Format(low)}, {Format(high)}{(highInclusive ? "]" : ")")}";
    }
}
