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

/// <summary>
/// Limits that keep a hostile or broken study file from taking the machine: each is checked while
/// the file is read, before anything proportional to the violation is allocated.
/// </summary>
public static class StudyLimits
{
    /// <summary>Largest study file read, in bytes.</summary>
    public const long MaxFileBytes = 4 * 1024 * 1024;
    /// <summary>Deepest nesting of mappings and lists (study files need about 6).</summary>
    public const int MaxDepth = 32;
    /// <summary>
    /// Most nodes the document may have once every alias is expanded: aliases are shared, not
    /// copied, when read, but every later step walks the expanded tree ("billion laughs").
    /// </summary>
    public const long MaxExpandedNodes = 100_000;
    /// <summary>Longest study name: it names folders and report files.</summary>
    public const int MaxNameLength = 100;
    /// <summary>Most trials one study may expand to.</summary>
    public const int MaxTrials = 100_000;
}

/// <summary>Reads one YAML document into a <see cref="YNode"/> tree through YamlDotNet's event parser.</summary>
internal static partial class YamlTreeReader
{
    /// <summary>A limit of <see cref="StudyLimits"/> was hit: reading stops at once.</summary>
    private sealed class LimitExceeded(SourcePosition position, string message) : Exception(message)
    {
        public SourcePosition Position { get; } = position;
    }

    /// <summary>The root node, or null after reporting why there is none (syntax error, empty file, a limit).</summary>
    public static YNode? Read(string text, Diagnostics diagnostics)
    {
        var nul = text.IndexOf('\0');
        if (nul >= 0)
        {
            // YamlDotNet would take the NUL as part of a value (or stop there) without a word.
            var line = 1 + text.AsSpan(0, nul).Count('\n');
            var column = nul - (text.LastIndexOf('\n', Math.Max(0, nul - 1)) + 1) + 1;
            diagnostics.Error(new SourcePosition(line, column), "the study file holds a NUL byte (\\0); is it a binary file?");
            return null;
        }
        TrackingParser? parser = null;
        try
        {
            parser = new TrackingParser(new Parser(new StringReader(text)));
            var builder = new TreeBuilder(parser, diagnostics);
            Next(parser); // StreamStart
            if (!Next(parser) || parser.Current is StreamEnd)
            {
                diagnostics.Error(new SourcePosition(1, 1), "the study file is empty");
                return null;
            }
            Next(parser); // past DocumentStart
            var root = builder.ReadNode(0);
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
        catch (LimitExceeded e)
        {
            diagnostics.Error(e.Position, e.Message);
            return null;
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

    /// <summary>
    /// Builds the tree. An alias is the anchored node itself (shared, never copied), and every node
    /// knows its expanded size, so an alias bomb is stopped while its few bytes are read.
    /// </summary>
    private sealed class TreeBuilder(IParser parser, Diagnostics diagnostics)
    {
        private readonly Dictionary<string, YNode> anchors = new(StringComparer.Ordinal);
        private readonly Dictionary<YNode, long> sizes = new(ReferenceEqualityComparer.Instance);

        private long Size(YNode node) => sizes.GetValueOrDefault(node, 1);

        private void Sized(YNode node, long size)
        {
            if (size > StudyLimits.MaxExpandedNodes)
                throw new LimitExceeded(node.Position,
                    $"aliases expand this to more than {StudyLimits.MaxExpandedNodes:N0} values (at most {StudyLimits.MaxExpandedNodes:N0} per study file); is an alias repeated inside itself?");
            sizes[node] = size;
        }

        /// <summary>Reads the node at <c>parser.Current</c> and leaves the parser on its last event.</summary>
        public YNode ReadNode(int depth)
        {
            var current = parser.Current ?? throw new InvalidOperationException("parser has no current event");
            if (current is SequenceStart or MappingStart && depth >= StudyLimits.MaxDepth)
                throw new LimitExceeded(Pos(current.Start), $"nesting deeper than {StudyLimits.MaxDepth} levels of mappings and lists");
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
                    // A NUL written as the escape "\0" in a quoted value.
                    if (scalar.Value.Contains('\0')) diagnostics.Error(node.Position, "a value holds a NUL character (\\0)");
                    break;
                case SequenceStart sequence:
                    var items = new List<YNode>();
                    long size = 1;
                    while (Next(parser) && parser.Current is not SequenceEnd)
                    {
                        var item = ReadNode(depth + 1);
                        items.Add(item);
                        size += Size(item);
                    }
                    node = new YSeq(Pos(sequence.Start), items);
                    Sized(node, size);
                    break;
                case MappingStart mapping:
                    node = ReadMapping(mapping, depth);
                    break;
                default:
                    throw new InvalidOperationException($"unexpected YAML event {current.GetType().Name}");
            }
            if (current is NodeEvent { Anchor.IsEmpty: false } withAnchor) anchors[withAnchor.Anchor.Value] = node;
            return node;
        }

        /// <summary>
        /// YAML merge keys (<c>&lt;&lt;: *defaults</c>): a key written in the mapping itself wins over a
        /// merged one wherever it is written (before or after the merge); of several merged mappings
        /// the first that has a key wins. Merged keys take the place of the <c>&lt;&lt;</c>.
        /// </summary>
        private YMap ReadMapping(MappingStart mapping, int depth)
        {
            var written = new List<(KeyValuePair<YScalar, YNode>? Entry, IReadOnlyList<YMap>? Merged)>();
            while (Next(parser) && parser.Current is not MappingEnd)
            {
                var keyNode = ReadNode(depth + 1);
                Next(parser);
                var value = ReadNode(depth + 1);
                if (keyNode is not YScalar key)
                {
                    diagnostics.Error(keyNode.Position, "keys must be plain names, not lists or mappings");
                    continue;
                }
                if (key.Plain && key.Text == "<<") written.Add((null, MergeSources(value)));
                else written.Add((KeyValuePair.Create(key, value), null));
            }
            var own = written.Where(w => w.Entry is not null).Select(w => w.Entry!.Value.Key.Text).ToHashSet(StringComparer.Ordinal);
            var merged = new HashSet<string>(StringComparer.Ordinal);
            var entries = new List<KeyValuePair<YScalar, YNode>>();
            long size = 1;
            foreach (var (entry, sources) in written)
            {
                if (entry is { } e) entries.Add(e);
                else
                    foreach (var m in sources!.SelectMany(source => source.Entries))
                        if (!own.Contains(m.Key.Text) && merged.Add(m.Key.Text)) entries.Add(m);
            }
            foreach (var e in entries) size += 1 + Size(e.Value);
            var node = new YMap(Pos(mapping.Start), entries);
            Sized(node, size);
            return node;
        }

        private List<YMap> MergeSources(YNode source)
        {
            var maps = new List<YMap>();
            foreach (var item in source is YSeq seq ? seq.Items : [source])
            {
                if (item is YMap map) maps.Add(map);
                else diagnostics.Error(item.Position, "a merge key '<<' takes a mapping or a list of mappings");
            }
            return maps;
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
