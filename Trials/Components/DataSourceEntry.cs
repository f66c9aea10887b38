using Studies.Trials.Data;

namespace Studies.Trials.Components;

/// <summary>A data source (<c>data.source</c>) with the options its <c>data.options</c> may hold.</summary>
public sealed record DataSourceEntry(string Name, string Doc, IReadOnlyList<OptionSpec> Options, IDataSource Source) : IComponentEntry
{
    /// <summary>Sources that read a file name it in a required <see cref="OptionType.Path"/> option.</summary>
    public bool ReadsFile => Options.Any(o => o.Type == OptionType.Path && o.Required);
}
