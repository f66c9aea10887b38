using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Studies.Trials.Specs;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Studies.Orchestrator.Studies;

/// <summary>
/// A YAML node that remembers where it was written. Study files are read into this small tree
/// (rather than deserialised straight into records) so that every later check, including those
/// made after matrix values were substituted into the base, can point at the exact line.
/// </summary>
internal abstract class YNode(SourcePosition position)
{
    public SourcePosition Position { get; } = position;

    /// <summary>Compact flow-style text, used as a display value ("the value as written").</summary>
    public abstract string Display();
}

internal sealed partial class YScalar(SourcePosition position, string text, bool plain) : YNode(position)
{
    public string Text { get; } = text;
    /// <summary>Plain (unquoted) scalars are typed (null, bool, number); quoted ones are always strings.</summary>
    public bool Plain { get; } = plain;

    public bool IsNull => Plain && Text is "" or "~" or "null" or "Null" or "NULL";

    public bool? AsBool() => !Plain ? null : Text switch
    {
        "true" or "True" or "TRUE" => true,
        "false" or "False" or "FALSE" => false,
        _ => null,
    };

    public static bool LooksInteger(string text) => IntegerPattern().IsMatch(text);

    public long? AsInteger() =>
        Plain && IntegerPattern().IsMatch(Text) && long.TryParse(Text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v : null;

    public double? AsNumber()
    {
        if (!Plain) return null;
        switch (Text)
        {
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF": return double.PositiveInfinity;
            case "-.inf" or "-.Inf" or "-.INF": return double.NegativeInfinity;
            case ".nan" or ".NaN" or ".NAN": return double.NaN;
        }
        return NumberPattern().IsMatch(Text) && double.TryParse(Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v : null;
    }

    public override string Display() => Text;

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex NumberPattern();
}

internal sealed class YMap(SourcePosition position, IReadOnlyList<KeyValuePair<YScalar, YNode>> entries) : YNode(position)
{
    /// <summary>In file order; duplicates are kept so that validation can report them with both positions.</summary>
    public IReadOnlyList<KeyValuePair<YScalar, YNode>> Entries { get; } = entries;

    public YNode? this[string key] => Entries.FirstOrDefault(e => e.Key.Text == key).Value;

    public YScalar? KeyNode(string key) => Entries.FirstOrDefault(e => e.Key.Text == key).Key;

    public YMap With(string key, YNode value, SourcePosition keyPosition)
    {
        var list = Entries.ToList();
        var index = list.FindIndex(e => e.Key.Text == key);
        if (index >= 0) list[index] = KeyValuePair.Create(list[index].Key, value);
        else list.Add(KeyValuePair.Create(new YScalar(keyPosition, key, plain: true), value));
        return new YMap(Position, list);
    }

    public override string Display() =>
        "{" + string.Join(", ", Entries.Select(e => $"{e.Key.Text}: {e.Value.Display()}")) + "}";
}

internal sealed class YSeq(SourcePosition position, IReadOnlyList<YNode> items) : YNode(position)
{
    public IReadOnlyList<YNode> Items { get; } = items;

    public YSeq With(int index, YNode value)
    {
        var list = Items.ToList();
        list[index] = value;
        return new YSeq(Position, list);
    }

    public override string Display() => "[" + string.Join(", ", Items.Select(i => i.Display())) + "]";
}

/// <summary>Reads one YAML document into a <see cref="YNode"/> tree through YamlDotNet's event parser.</summary>
internal static partial class YamlTreeReader
{
    /// <summary>The root node, or null after reporting why there is none (syntax error, empty file).</summary>
    public static YNode? Read(string text, Diagnostics diagnostics)
    {
        TrackingParser? parser = null;
        try
        {
            parser = new TrackingParser(new Parser(new StringReader(text)));
            var anchors = new Dictionary<string, YNode>(StringComparer.Ordinal);
            Next(parser); // StreamStart
            if (!Next(parser) || parser.Current is StreamEnd)
            {
                diagnostics.Error(new SourcePosition(1, 1), "the study file is empty");
                return null;
            }
            Next(parser); // past DocumentStart
            var root = ReadNode(parser, anchors, diagnostics);
            Next(parser); // DocumentEnd
            if (Next(parser) && parser.Current is DocumentStart extra)
                diagnostics.Error(Pos(extra.Start), "a study file holds one YAML document; remove the second '---'");
            if (root is YScalar { IsNull: true })
            {
                diagnostics.Error(new SourcePosition(1, 1), "the study file is empty");
                return null;
            }
            return root;
        }
        catch (YamlException e)
        {
            diagnostics.Error(Pos(e.Start), "YAML syntax error: " + StripMarks(e.Message));
            return null;
        }
        catch (InvalidOperationException) when (parser is not null)
        {
            // YamlDotNet's scanner throws this, without a position, on some unterminated flow collections.
            diagnostics.Error(parser.LastStart, "YAML syntax error: the parser could not read past this point (an unclosed '{', '[' or quote?)");
            return null;
        }
    }

    /// <summary>Remembers where the last event started, for errors YamlDotNet reports without a position.</summary>
    private sealed class TrackingParser(IParser inner) : IParser
    {
        public SourcePosition LastStart { get; private set; } = new(1, 1);
        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            var moved = inner.MoveNext();
            if (moved && inner.Current is { } current) LastStart = Pos(current.Start);
            return moved;
        }
    }

    private static bool Next(IParser parser) => parser.MoveNext();

    /// <summary>Reads the node at <c>parser.Current</c> and leaves the parser on its last event.</summary>
    private static YNode ReadNode(IParser parser, Dictionary<string, YNode> anchors, Diagnostics diagnostics)
    {
        var current = parser.Current ?? throw new InvalidOperationException("parser has no current event");
        YNode node;
        switch (current)
        {
            case AnchorAlias alias:
                if (anchors.TryGetValue(alias.Value.Value, out var target)) return target;
                diagnostics.Error(Pos(alias.Start), $"unknown alias '*{alias.Value.Value}'");
                return new YScalar(Pos(alias.Start), "", plain: true);
            case Scalar scalar:
                var forcedString = scalar.Tag.IsEmpty is false && scalar.Tag.Value == "tag:yaml.org,2002:str";
                node = new YScalar(Pos(scalar.Start), scalar.Value, scalar.Style == ScalarStyle.Plain && !forcedString);
                break;
            case SequenceStart sequence:
                var items = new List<YNode>();
                while (Next(parser) && parser.Current is not SequenceEnd)
                    items.Add(ReadNode(parser, anchors, diagnostics));
                node = new YSeq(Pos(sequence.Start), items);
                break;
            case MappingStart mapping:
                var entries = new List<KeyValuePair<YScalar, YNode>>();
                while (Next(parser) && parser.Current is not MappingEnd)
                {
                    var keyNode = ReadNode(parser, anchors, diagnostics);
                    Next(parser);
                    var value = ReadNode(parser, anchors, diagnostics);
                    if (keyNode is not YScalar key)
                    {
                        diagnostics.Error(keyNode.Position, "keys must be plain names, not lists or mappings");
                        continue;
                    }
                    if (key.Plain && key.Text == "<<")
                    {
                        Merge(entries, value, diagnostics);
                        continue;
                    }
                    entries.Add(KeyValuePair.Create(key, value));
                }
                node = new YMap(Pos(mapping.Start), entries);
                break;
            default:
                throw new InvalidOperationException($"unexpected YAML event {current.GetType().Name}");
        }
        if (current is NodeEvent { Anchor.IsEmpty: false } withAnchor) anchors[withAnchor.Anchor.Value] = node;
        return node;
    }

    /// <summary>YAML merge keys (<c>&lt;&lt;: *defaults</c>): keys written in the mapping itself win.</summary>
    private static void Merge(List<KeyValuePair<YScalar, YNode>> entries, YNode source, Diagnostics diagnostics)
    {
        var sources = source is YSeq seq ? seq.Items : [source];
        foreach (var item in sources)
        {
            if (item is not YMap map)
            {
                diagnostics.Error(item.Position, "a merge key '<<' takes a mapping or a list of mappings");
                continue;
            }
            foreach (var entry in map.Entries)
                if (!entries.Any(e => e.Key.Text == entry.Key.Text)) entries.Add(entry);
        }
    }

    private static SourcePosition Pos(Mark mark) => new((int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column));

    /// <summary>YamlDotNet prefixes messages with "(Line: a, Col: b, Idx: c) - (...): "; the position is printed separately.</summary>
    private static string StripMarks(string message) => MarkPrefix().Replace(message, "");

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex MarkPrefix();
}

/// <summary>Conversions of free-form YAML (data options, loss options) to JSON.</summary>
internal static class YamlJson
{
    public static JsonNode? ToJson(YNode node) => node switch
    {
        YScalar s when s.IsNull => null,
        YScalar s when s.AsBool() is { } b => JsonValue.Create(b),
        YScalar s when s.AsInteger() is { } i => JsonValue.Create(i),
        YScalar s when s.AsNumber() is { } d && double.IsFinite(d) => JsonValue.Create(d),
        YScalar s => JsonValue.Create(s.Text),
        YSeq q => new JsonArray(q.Items.Select(ToJson).ToArray()),
        // A duplicate key is reported by validation; the first one counts, as for YMap's indexer.
        YMap m => new JsonObject(m.Entries.DistinctBy(e => e.Key.Text).Select(e => KeyValuePair.Create(e.Key.Text, ToJson(e.Value)))),
        _ => throw new InvalidOperationException(node.GetType().Name),
    };

    /// <summary>Canonical text of a node's value: equal for equal values written differently (<c>1.0</c> and <c>1</c>, key order).</summary>
    public static string Canonical(YNode node) => SpecJson.Canonical(ToJson(node));

    public static string Quote(string text)
    {
        var sb = new StringBuilder();
        sb.Append('\'').Append(text.Length > 60 ? text[..57] + "..." : text).Append('\'');
        return sb.ToString();
    }
}
