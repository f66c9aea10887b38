using System.Text.Json.Nodes;
using Studies.Trials.Components;

namespace Studies.Trials.Data;

/// <summary>A data source (<c>data.source</c>) with the options its <c>data.options</c> may hold.</summary>
public sealed record DataSourceEntry(string Name, string Doc, IReadOnlyList<OptionSpec> Options, IDataSource Source) : IComponentEntry
{
    /// <summary>Sources that read a file name it in a required <see cref="OptionType.Path"/> option.</summary>
    public bool ReadsFile => Options.Any(o => o.Type == OptionType.Path && o.Required);

    /// <summary>How large the data set of these options is, for the dry run's duration estimate; null: <see cref="DataSize.Unknown"/>.</summary>
    public Func<JsonObject, DataSize>? Size { get; init; }
}

/// <summary>Events of a whole data set and its input features, as the dry run estimates them (without loading anything).</summary>
public sealed record DataSize(double Events, int Features)
{
    public static readonly DataSize Unknown = new(100_000, 10);

    /// <summary>A number option, or <paramref name="fallback"/> when it is not written.</summary>
    public static double Number(JsonNode? node, double fallback) => node is not JsonValue v ? fallback
        : v.TryGetValue(out double d) ? d : v.TryGetValue(out long l) ? l : fallback;

    /// <summary>A per-process option: one number for every process or a mapping with one per process.</summary>
    public static double Total(JsonNode? node, double each, int processes) =>
        node is JsonObject perProcess ? perProcess.Sum(p => Number(p.Value, each)) + each * (processes - perProcess.Count) : Number(node, each) * processes;

    /// <summary>Masses in the <c>masses</c> option when it is a list, else <paramref name="defaults"/>.</summary>
    public static int MassCount(JsonObject options, int defaults) => options["masses"] is JsonArray grid ? grid.Count : defaults;

    /// <summary>A file's rows estimated from its size: 4 bytes per value in binary formats, about 12 per value in text (x4 when gzipped).</summary>
    public static DataSize OfFile(JsonObject options, int features, bool binary)
    {
        if (options["columns"] is JsonObject { } columns && columns["features"] is JsonArray named) features = named.Count;
        if (options["path"] is not JsonValue path || !File.Exists(path.GetValue<string>())) return Unknown with { Features = features };
        var file = new FileInfo(path.GetValue<string>());
        var values = features + 2.0;
        var events = binary ? file.Length / (4.0 * values) : file.Length * (file.Name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? 4 : 1) / (12.0 * values);
        return new DataSize(events, features);
    }
}
