using System.Text.Json.Nodes;
using Studies.Trials.Components;

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
    public static readonly DataSourceEntry Entry = new("hepmass", "HEPMASS-format CSV (optionally gzipped): label, features, mass.",
        [FileOptions.Path, FileOptions.Masses, FileOptions.MaxRows], new HepmassSource());

    private static readonly string[] OptionNames = Entry.Options.Select(o => o.Key).ToArray();

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
    public static readonly DataSourceEntry Entry = new("csv", "CSV with a header line and a column map.",
        [FileOptions.Path, FileOptions.Columns, FileOptions.MaxRows, .. FileOptions.MassOptions], new CsvSource());

    private static readonly string[] OptionNames = Entry.Options.Select(o => o.Key).ToArray();

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
    public static readonly DataSourceEntry Entry = new("npz", "NumPy .npz; the column map names 1-D arrays.",
        [FileOptions.Path, FileOptions.Columns, .. FileOptions.MassOptions], new NpzSource());

    private static readonly string[] OptionNames = Entry.Options.Select(o => o.Key).ToArray();

    public string Name => "npz";

    public EventSet Load(JsonObject options, ulong seed)
    {
        var o = new DataOptions(Name, options, OptionNames);
        var map = ColumnMap.Parse(o, "columns");
        return TableEvents.Build(NpzTable.Read(o.RequiredString("path"), map), o);
    }

    public IBayesOptimal? BayesOptimal(JsonObject options) => null;
}

/// <summary>Options the file sources share.</summary>
internal static class FileOptions
{
    public static readonly OptionSpec Path = new("path", OptionType.Path, "The data file, relative to the study file's folder.") { Required = true };
    public static readonly OptionSpec Masses = new("masses", OptionType.Masses, "Mass hypotheses; signal rows of other masses are dropped.")
        { Default = "the file's signal masses" };
    public static readonly OptionSpec MaxRows = OptionSpec.Count("max_rows", "Read at most this many rows.", "all");
    public static readonly OptionSpec Columns = new("columns", OptionType.Mapping, "Which columns hold what.")
    {
        Default = "label, mass; the rest are features",
        Fields =
        [
            new OptionSpec("features", OptionType.List, "Feature columns.") { Items = OptionType.Text },
            new OptionSpec("label", OptionType.Text, "Label column (1 signal, 0 background).") { Default = "label" },
            new OptionSpec("mass", OptionType.Text, "Mass column.") { Default = "mass" },
            new OptionSpec("weight", OptionType.Text, "Event weight column."),
            new OptionSpec("process", OptionType.Text, "Process name column."),
            new OptionSpec("window", OptionType.Text, "Window variable column."),
        ],
    };

    /// <summary>Per-mass windows and N_gen (see <see cref="TableEvents"/>).</summary>
    public static readonly OptionSpec[] MassOptions =
    [
        Masses,
        new("window_width", OptionType.NumberOrList, "Window half-width: one number, or one per mass."),
        OptionSpec.Choice("window_center", ["mass-squared", "mass"], "What the window is centred on.", "mass-squared"),
        new("generated_per_mass", OptionType.NumberOrList, "Signal events generated per mass (N_gen), when the file holds preselected events."),
        // Units the report quotes (issue 28): a file cannot say what its weights and masses mean, so the study does.
        OptionSpec.Positive("luminosity", "Integrated luminosity (fb^-1) the event weights are normalised to: sigma_min is then in fb.", "none: sigma_min in the weights' units"),
        new("mass_unit", OptionType.Text, "Unit of the mass column, as reports print it.") { Default = "GeV" },
    ];
}
