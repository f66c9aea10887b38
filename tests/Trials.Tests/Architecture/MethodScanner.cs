using System.Text;
using System.Text.RegularExpressions;

namespace Studies.Trials.Tests.Architecture;

/// <summary>A method (or constructor, operator, local function) found in C# text, with its length in lines.</summary>
/// <param name="Line">The line of its opening brace (or of its <c>=&gt;</c>), 1-based.</param>
/// <param name="Lines">From that line to the line of its closing brace (or its <c>;</c>), both counted.</param>
public sealed record MethodSpan(string Name, int Line, int Lines);

/// <summary>
/// Measures method bodies without a compiler: comments, strings (regular, verbatim, interpolated with
/// nested strings in their holes, raw) and character literals are blanked first, so only code braces
/// remain; then every brace block (or <c>=&gt;</c> expression up to its <c>;</c>) whose header reads
/// like a method declaration (<c>type Name(...)</c>, optionally <c>where</c> or <c>: base(...)</c>)
/// is measured. Control statements, lambdas, object initialisers, types and accessors are not
/// methods. Known limit: a raw interpolated string whose hole holds another raw string.
/// </summary>
public static partial class MethodScanner
{
    public static IReadOnlyList<MethodSpan> Scan(string source)
    {
        var code = Blank(source);
        var lineStarts = new List<int> { 0 };
        for (var i = 0; i < code.Length; i++) if (code[i] == '\n') lineStarts.Add(i + 1);
        int LineOf(int at)
        {
            var k = lineStarts.BinarySearch(at);
            return k >= 0 ? k + 1 : ~k;
        }

        var methods = new List<MethodSpan>();
        var headerStart = 0;
        for (var i = 0; i < code.Length; i++)
        {
            var c = code[i];
            if (c is ';' or '}') { headerStart = i + 1; continue; }
            var arrow = c == '=' && i + 1 < code.Length && code[i + 1] == '>';
            if (c != '{' && !arrow) continue;
            var header = code[headerStart..i].Trim();
            if (MethodName(header) is { } name)
            {
                var end = arrow ? EndOfExpression(code, i + 2) : MatchingBrace(code, i);
                methods.Add(new MethodSpan(name, LineOf(i), LineOf(end) - LineOf(i) + 1));
            }
            if (c == '{') headerStart = i + 1;
            else i++;
        }
        return methods;
    }

    private static readonly string[] NotDeclarations =
        ["if", "else", "for", "foreach", "while", "switch", "catch", "using", "lock", "fixed", "return", "await", "yield", "throw", "case", "when", "do", "var"];

    /// <summary>The declared name when the header is a method-like declaration, otherwise null.</summary>
    private static string? MethodName(string header)
    {
        header = Attributes().Replace(header, " ").Trim();
        if (header.Length == 0) return null;
        var where = header.IndexOf(" where ", StringComparison.Ordinal);
        if (where > 0 && header.LastIndexOf(')', where) > 0) header = header[..where].Trim();
        var words = Regex.Split(header, @"\W+").Where(w => w.Length > 0).ToArray();
        if (header[^1] != ')' || words.Length == 0 || NotDeclarations.Contains(words[0])) return null;
        if (words.Any(w => w is "class" or "record" or "struct" or "interface" or "enum" or "new" or "delegate")) return null;
        var outside = Unparenthesised(header);
        if (outside.Contains('=') || outside.Contains('.') && !outside.Contains(" operator ", StringComparison.Ordinal) && !ExplicitInterface().IsMatch(outside)) return null;
        var match = Declaration().Match(outside);
        return match.Success ? match.Groups["name"].Value : null;
    }

    /// <summary>The header with the contents of its parentheses and generic brackets removed.</summary>
    private static string Unparenthesised(string header)
    {
        var text = new StringBuilder();
        var depth = 0;
        foreach (var c in header)
        {
            if (c == '(') { if (depth++ == 0) text.Append('('); continue; }
            if (c == ')') { if (--depth == 0) text.Append(')'); continue; }
            if (depth == 0) text.Append(c);
        }
        return text.ToString();
    }

    [GeneratedRegex(@"\[[^\[\]]*\]")]
    private static partial Regex Attributes();

    // A return type (or a modifier) and a name, then the parameter list, then optionally a base call or constraints.
    [GeneratedRegex(@"[\w>\]?]\s+(?:[\w.]+\.)?(?<name>~?\w+|operator\s*\S+)\s*(?:<(?:[\w.?\[\]<>]|,\s*)*>)?\s*\(\)\s*(?::\s*(?:base|this)\s*\(\))?$|^(?<name>\w+)\s*\(\)\s*:\s*(?:base|this)\s*\(\)$")]
    private static partial Regex Declaration();

    [GeneratedRegex(@"\s[\w<>]+\.\w+\s*(?:<[^()]*>)?\s*\(\)")]
    private static partial Regex ExplicitInterface();

    private static int MatchingBrace(string code, int open)
    {
        var depth = 0;
        for (var i = open; i < code.Length; i++)
        {
            if (code[i] == '{') depth++;
            else if (code[i] == '}' && --depth == 0) return i;
        }
        return code.Length - 1;
    }

    private static int EndOfExpression(string code, int from)
    {
        var depth = 0;
        for (var i = from; i < code.Length; i++)
        {
            if (code[i] is '{' or '(' or '[') depth++;
            else if (code[i] is '}' or ')' or ']') depth--;
            else if (code[i] == ';' && depth == 0) return i;
        }
        return code.Length - 1;
    }

    /// <summary>The source with comments, strings and character literals replaced by spaces (newlines kept).</summary>
    public static string Blank(string source)
    {
        var text = source.ToCharArray();
        var i = 0;
        BlankCode(text, ref i, stopAtBrace: false);
        return new string(text);
    }

    private static void Space(char[] text, int from, int to)
    {
        for (var k = from; k < to && k < text.Length; k++) if (text[k] != '\n') text[k] = ' ';
    }

    /// <summary>Walks code, blanking what is not code; inside an interpolation hole stops at its closing brace.</summary>
    private static void BlankCode(char[] text, ref int i, bool stopAtBrace)
    {
        var depth = 0;
        while (i < text.Length)
        {
            var c = text[i];
            var next = i + 1 < text.Length ? text[i + 1] : '\0';
            if (c == '/' && next == '/') { var end = Array.IndexOf(text, '\n', i); end = end < 0 ? text.Length : end; Space(text, i, end); i = end; }
            else if (c == '/' && next == '*') { var end = new string(text).IndexOf("*/", i + 2, StringComparison.Ordinal); end = end < 0 ? text.Length : end + 2; Space(text, i, end); i = end; }
            else if (c == '\'') { var start = i++; while (i < text.Length && text[i] != '\'') i += text[i] == '\\' ? 2 : 1; Space(text, start, ++i); }
            else if (c is '"' or '$' or '@' && StringStart(text, i) is var (length, verbatim, interpolated, quotes) && length > 0) BlankString(text, ref i, length, verbatim, interpolated, quotes);
            else if (c == '{') { depth++; i++; }
            else if (c == '}') { if (stopAtBrace && depth == 0) return; depth--; i++; }
            else i++;
        }
    }

    /// <summary>At a string's start: the length of its prefix and opening quotes, its kind and the number of quotes (3+ for raw strings).</summary>
    private static (int Length, bool Verbatim, bool Interpolated, int Quotes) StringStart(char[] text, int i)
    {
        var k = i;
        var interpolated = false;
        var verbatim = false;
        while (k < text.Length && text[k] is '$' or '@')
        {
            interpolated |= text[k] == '$';
            verbatim |= text[k] == '@';
            k++;
        }
        if (k >= text.Length || text[k] != '"') return default;
        var quotes = 0;
        while (k + quotes < text.Length && text[k + quotes] == '"') quotes++;
        if (quotes == 2) quotes = 1; // "" is an empty string
        return (k - i + (quotes >= 3 ? quotes : 1), verbatim, interpolated, quotes >= 3 ? quotes : 1);
    }

    private static void BlankString(char[] text, ref int i, int prefix, bool verbatim, bool interpolated, int quotes)
    {
        var start = i;
        i += prefix;
        if (quotes >= 3)
        {
            var close = new string('"', quotes);
            var end = new string(text).IndexOf(close, i, StringComparison.Ordinal);
            i = end < 0 ? text.Length : end + quotes;
            Space(text, start, i);
            return;
        }
        var from = start;
        while (i < text.Length)
        {
            var c = text[i];
            if (!verbatim && c == '\\') { i += 2; continue; }
            if (c == '"')
            {
                if (verbatim && i + 1 < text.Length && text[i + 1] == '"') { i += 2; continue; }
                i++;
                break;
            }
            if (interpolated && c == '{')
            {
                if (i + 1 < text.Length && text[i + 1] == '{') { i += 2; continue; }
                // A hole: code, possibly with strings of its own, up to its closing brace.
                Space(text, from, i + 1);
                i++;
                BlankCode(text, ref i, stopAtBrace: true);
                // The hole's braces are balanced code; blank them too so they never count as blocks.
                from = i;
                i++;
                continue;
            }
            i++;
        }
        Space(text, from, i);
    }
}
