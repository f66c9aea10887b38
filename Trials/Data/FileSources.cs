using System.Text.Json.Nodes;

namespace Studies.Trials.Data;

/// <summary>
/// The HEPMASS format of the parametric-NN paper (methods.md section 7): CSV, optionally gzipped,
/// header <c># label, f0, ..., f26, mass</c>. Every column other than label and mass is a feature.
/// Background rows keep their stored (random) mass in <see cref="EventSet.StoredMass"/>.
/// Options: <c>path</c> (required), <c>masses</c> (default: the distinct signal masses, rounded to
/// 4 significant digits), <c>max_rows</c>.
/// </summary>
public sealed class HepmassSource : IDataSource
{
    private static readonly string[] OptionNames = ["path", "masses", "max_rows"];

    public string Name => "hepmass";

    public EventSet Load(JsonObject options, ulong seed)
    {
        var o = new DataOptions(Name, options, OptionNames);
        var table = CsvTable.Read(o.RequiredString("path"), new ColumnMap(Features: null), o.OptionalPositiveLong("max_rows"));
        return TableEvents.Build(table, o);
    }

    public IBayesOptimal? BayesOptimal(JsonObject options) => null;
}

/// <summary>
/// Generic CSV with a header line and a column map (option <c>columns</c>: features, label, mass,
/// weight, process, window; see <see cref="ColumnMap"/>). With a window column, <c>window_width</c>
/// (a number or one per mass) and <c>window_center</c> (<c>mass-squared</c>, default, or <c>mass</c>)
/// define the per-mass windows; <c>generated_per_mass</c> gives N_gen when the file holds preselected events.
/// </summary>
public sealed class CsvSource : IDataSource
{
    private static readonly string[] OptionNames = ["path", "columns", "max_rows", .. TableEvents.MassOptions];

    public string Name => "csv";

    public EventSet Load(JsonObject options, ulong seed)
    {
        var o = new DataOptions(Name, options, OptionNames);
        var map = ColumnMap.Parse(o, "columns");
        return TableEvents.Build(CsvTable.Read(o.RequiredString("path"), map, o.OptionalPositiveLong("max_rows")), o);
    }

    public IBayesOptimal? BayesOptimal(JsonObject options) => null;
}

/// <summary>NumPy .npz with the same options as <see cref="CsvSource"/>; the column map names 1-D arrays.</summary>
public sealed class NpzSource : IDataSource
{
    private static readonly string[] OptionNames = ["path", "columns", .. TableEvents.MassOptions];

    public string Name => "npz";

    public EventSet Load(JsonObject options, ulong seed)
    {
        var o = new DataOptions(Name, options, OptionNames);
        var map = ColumnMap.Parse(o, "columns");
        return TableEvents.Build(NpzTable.Read(o.RequiredString("path"), map), o);
    }

    public IBayesOptimal? BayesOptimal(JsonObject options) => null;
}
