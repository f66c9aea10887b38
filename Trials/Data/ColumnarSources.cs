using Studies.Trials.Components;
using System.Text.Json.Nodes;

namespace Studies.Trials.Data;

/// <summary>
/// Feather (Arrow IPC file, uncompressed or LZ4/ZSTD) with the options of <see cref="CsvSource"/>:
/// <c>path</c>, <c>columns</c>, <c>max_rows</c> and the mass options; the column map names columns.
/// </summary>
public sealed class FeatherSource : IDataSource
{
    public static readonly DataSourceEntry Entry = new("feather", "Arrow IPC (Feather v2) file, uncompressed or LZ4/ZSTD, with the csv column map.",
        [FileOptions.Path, FileOptions.Columns, FileOptions.MaxRows, .. FileOptions.MassOptions], new FeatherSource())
        { Size = o => DataSize.OfFile(o, 10, binary: true) };

    private static readonly string[] OptionNames = Entry.Options.Select(o => o.Key).ToArray();

    public string Name => "feather";

    public EventSet Load(JsonObject options, ulong seed)
    {
        var o = new DataOptions(Name, options, OptionNames);
        var map = ColumnMap.Parse(o, "columns");
        return TableEvents.Build(FeatherTable.Read(o.RequiredString("path"), map, o.OptionalPositiveLong("max_rows")), o);
    }

    public IBayesOptimal? BayesOptimal(JsonObject options) => null;
}

/// <summary>Parquet with the options of <see cref="CsvSource"/>; the column map names columns.</summary>
public sealed class ParquetSource : IDataSource
{
    public static readonly DataSourceEntry Entry = new("parquet", "Parquet file (any codec Parquet.Net reads), with the csv column map.",
        [FileOptions.Path, FileOptions.Columns, FileOptions.MaxRows, .. FileOptions.MassOptions], new ParquetSource())
        { Size = o => DataSize.OfFile(o, 10, binary: true) };

    private static readonly string[] OptionNames = Entry.Options.Select(o => o.Key).ToArray();

    public string Name => "parquet";

    public EventSet Load(JsonObject options, ulong seed)
    {
        var o = new DataOptions(Name, options, OptionNames);
        var map = ColumnMap.Parse(o, "columns");
        return TableEvents.Build(ParquetTable.Read(o.RequiredString("path"), map, o.OptionalPositiveLong("max_rows")), o);
    }

    public IBayesOptimal? BayesOptimal(JsonObject options) => null;
}
