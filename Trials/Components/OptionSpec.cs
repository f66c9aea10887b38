using System.Globalization;

namespace Studies.Trials.Components;

/// <summary>What a component option holds; the study-file reader checks a value against it before anything runs.</summary>
public enum OptionType
{
    /// <summary>A finite number, within <see cref="OptionSpec.Min"/> / <see cref="OptionSpec.Max"/>.</summary>
    Number,
    /// <summary>A whole number that fits a 32-bit int, within the bounds.</summary>
    Integer,
    /// <summary>Text.</summary>
    Text,
    /// <summary>One of <see cref="OptionSpec.Allowed"/>.</summary>
    Choice,
    /// <summary>A list (of numbers when <see cref="OptionSpec.Fields"/> is empty and <see cref="OptionSpec.Items"/> is Number).</summary>
    List,
    /// <summary>A mapping whose keys are <see cref="OptionSpec.Fields"/>.</summary>
    Mapping,
    /// <summary>A number for every key, or a mapping giving each of <see cref="OptionSpec.Fields"/> its own.</summary>
    NumberOrMapping,
    /// <summary>A number, or a list of numbers (one per mass).</summary>
    NumberOrList,
    /// <summary>A file path, resolved against the study file's folder.</summary>
    Path,
    /// <summary>A mass grid: a list of numbers or a range <c>{from, to, step}</c>.</summary>
    Masses,
}

/// <summary>
/// One option of a component (a loss, a model kind, a data source): its key, what it holds, its
/// default and a line of documentation. The study-file reader validates against it and the
/// tables of docs/study-format.md are generated from it, so neither can drift from the component.
/// </summary>
public sealed record OptionSpec(string Key, OptionType Type, string Doc)
{
    /// <summary>The default as shown to users; null when the option is required or has none.</summary>
    public string? Default { get; init; }
    public bool Required { get; init; }
    /// <summary>Allowed names of a <see cref="OptionType.Choice"/>.</summary>
    public IReadOnlyList<string> Allowed { get; init; } = [];
    /// <summary>Sub-options of a mapping (<see cref="OptionType.Mapping"/>, <see cref="OptionType.NumberOrMapping"/>).</summary>
    public IReadOnlyList<OptionSpec> Fields { get; init; } = [];
    /// <summary>What the items of a <see cref="OptionType.List"/> are (Number, Integer or Text).</summary>
    public OptionType Items { get; init; } = OptionType.Number;
    public double Min { get; init; } = double.NegativeInfinity;
    public bool MinExclusive { get; init; }
    public double Max { get; init; } = double.PositiveInfinity;
    public bool MaxExclusive { get; init; }

    public static OptionSpec Positive(string key, string doc, string? defaultValue = null) =>
        new(key, OptionType.Number, doc) { Default = defaultValue, Min = 0, MinExclusive = true };

    public static OptionSpec Count(string key, string doc, string? defaultValue = null) =>
        new(key, OptionType.Integer, doc) { Default = defaultValue, Min = 1, Max = int.MaxValue };

    public static OptionSpec Choice(string key, IReadOnlyList<string> allowed, string doc, string? defaultValue = null) =>
        new(key, OptionType.Choice, doc) { Allowed = allowed, Default = defaultValue };

    /// <summary>The type as the docs print it: <c>number &gt; 0</c>, <c>integer &gt;= 1</c>, <c>full or simple</c>.</summary>
    public string TypeText() => Type switch
    {
        OptionType.Number => "number" + Bounds(),
        OptionType.Integer => "integer" + Bounds(),
        OptionType.Text => "text",
        OptionType.Choice => string.Join(" or ", Allowed.Select(a => $"`{a}`")),
        OptionType.List => Items switch { OptionType.Text => "list of text", OptionType.Integer => "list of integers", _ => "list of numbers" },
        OptionType.Mapping => "{" + string.Join(", ", Fields.Select(f => f.Key)) + "}",
        OptionType.NumberOrMapping => "number or {" + string.Join(", ", Fields.Select(f => f.Key)) + "}",
        OptionType.NumberOrList => "number or list of numbers",
        OptionType.Path => "file path",
        OptionType.Masses => "list of masses or {from, to, step}",
        _ => Type.ToString(),
    };

    private string Bounds()
    {
        var low = double.IsNegativeInfinity(Min) ? "" : $" {(MinExclusive ? ">" : ">=")} {Format(Min)}";
        var high = Max >= int.MaxValue || double.IsPositiveInfinity(Max) ? "" : $"{(low == "" ? " " : ", ")}{(MaxExclusive ? "<" : "<=")} {Format(Max)}";
        return low + high;
    }

    public static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A component a study file can name: a loss, a model kind or a data source.</summary>
public interface IComponentEntry
{
    string Name { get; }
    /// <summary>One line for the docs' table.</summary>
    string Doc { get; }
    IReadOnlyList<OptionSpec> Options { get; }
}
