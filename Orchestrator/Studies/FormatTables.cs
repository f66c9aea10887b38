using System.Text;
using System.Text.RegularExpressions;
using Studies.Orchestrator.Storage;
using Studies.Trials.Catalog;
using Studies.Trials.Components;
using Studies.Trials.Data;
using Studies.Trials.Models;

namespace Studies.Orchestrator.Studies;

/// <summary>
/// The tables of docs/study-format.md that list components and their options, generated from the
/// <see cref="ComponentCatalog"/> so the documentation says exactly what the reader accepts. Each
/// table sits between <c>&lt;!-- generated: NAME --&gt;</c> and <c>&lt;!-- end generated --&gt;</c>;
/// a test fails when the file differs from what the registry gives.
/// </summary>
public static partial class FormatTables
{
    public static IReadOnlyDictionary<string, string> Generate(ComponentCatalog catalog) => new Dictionary<string, string>
    {
        ["data-sources"] = DataSources(catalog.DataSources),
        ["model-kinds"] = ModelKinds(catalog.Models),
        ["losses"] = Losses(catalog.Losses),
        ["optimizers"] = Names("optimizer", catalog.Optimizers),
        ["stopping-rules"] = Losses(catalog.StoppingRules, "rule"),
        ["samplers"] = Losses(global::Studies.Orchestrator.Search.Components.SearchComponents.Samplers, "sampler"),
        ["pruners"] = Losses(global::Studies.Orchestrator.Search.Components.SearchComponents.Pruners, "pruner"),
        ["executors"] = Executors(ExecutorKinds.All),
        ["store-backends"] = StoreBackendTable(StoreBackends.All),
    };

    private static string Executors(Registry<ExecutorEntry> executors)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| executor | what it is | needs a shared store |").AppendLine("|---|---|---|");
        foreach (var e in executors.Entries) sb.AppendLine($"| `{e.Name}` | {e.Doc} | {(e.NeedsSharedStore ? "yes" : "no")} |");
        return sb.ToString();
    }

    private static string StoreBackendTable(Registry<StoreBackendEntry> backends)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| backend | written as | shared by a cluster's hosts | what it is |").AppendLine("|---|---|---|---|");
        foreach (var b in backends.Entries) sb.AppendLine($"| `{b.Name}` | `{b.Form}` | {(b.Shared ? "yes" : "no")} | {b.Doc} |");
        return sb.ToString();
    }

    /// <summary>The document with every generated region replaced by what the catalog gives now.</summary>
    public static string Apply(string document, ComponentCatalog catalog)
    {
        var tables = Generate(catalog);
        return Region().Replace(document, m => tables.TryGetValue(m.Groups["name"].Value, out var table)
            ? $"<!-- generated: {m.Groups["name"].Value} -->\n{table}<!-- end generated -->"
            : m.Value);
    }

    private static string DataSources(Registry<DataSourceEntry> sources)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| source | what it is |").AppendLine("|---|---|");
        foreach (var s in sources.Entries) sb.AppendLine($"| `{s.Name}` | {s.Doc} |");
        foreach (var s in sources.Entries)
        {
            sb.AppendLine().AppendLine($"Options of `{s.Name}`:").AppendLine();
            OptionTable(sb, s.Options.Select(o => (o, o.Default)));
        }
        return sb.ToString();
    }

    private static string ModelKinds(Registry<ModelEntry> models)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| kind | what it is |").AppendLine("|---|---|");
        foreach (var m in models.Entries) sb.AppendLine($"| `{m.Name}` | {m.Doc} |");
        sb.AppendLine().AppendLine("| key | type | default | meaning |").AppendLine("|---|---|---|---|");
        sb.AppendLine($"| `kind` | {string.Join(" or ", models.Names.Select(n => $"`{n}`"))} | `{models.Names[0]}` | The model kind (above). |");
        foreach (var key in models.Entries.SelectMany(m => m.Options).Select(o => o.Key).Distinct())
        {
            var option = models.Entries.SelectMany(m => m.Options).First(o => o.Key == key);
            // One default per group of kinds that share it: "`[8, 4]` (dnn, per-mass); `[300, 150, 100, 50]` (pnn, affine-pnn)".
            var byDefault = models.Entries.Where(m => m.Options.Any(o => o.Key == key))
                .GroupBy(m => m.Options.First(o => o.Key == key).Default ?? "none")
                .Select(g => g.Count() == models.Entries.Count ? $"`{g.Key}`" : $"`{g.Key}` ({string.Join(", ", g.Select(m => m.Name))})");
            sb.AppendLine($"| `{key}` | {option.TypeText()} | {string.Join("; ", byDefault)} | {Cell(option)} |");
        }
        return sb.ToString();
    }

    private static string Names<T>(string what, Registry<T> entries) where T : IComponentEntry
    {
        var sb = new StringBuilder();
        sb.AppendLine($"| {what} | what it is |").AppendLine("|---|---|");
        foreach (var e in entries.Entries) sb.AppendLine($"| `{e.Name}` | {e.Doc} |");
        return sb.ToString();
    }

    /// <summary>Components with options of their own (losses, early-stopping rules): one line each, then a table of each one's options.</summary>
    private static string Losses<T>(Registry<T> losses, string what = "loss") where T : IComponentEntry
    {
        var sb = new StringBuilder();
        sb.AppendLine($"| {what} | what it is | options |").AppendLine("|---|---|---|");
        foreach (var l in losses.Entries)
            sb.AppendLine($"| `{l.Name}` | {l.Doc} | {(l.Options.Count == 0 ? "none" : string.Join(", ", l.Options.Select(o => $"`{o.Key}`")))} |");
        foreach (var l in losses.Entries.Where(l => l.Options.Count > 0))
        {
            sb.AppendLine().AppendLine($"Options of `{l.Name}`:").AppendLine();
            OptionTable(sb, l.Options.Select(o => (o, o.Default)));
        }
        return sb.ToString();
    }

    private static void OptionTable(StringBuilder sb, IEnumerable<(OptionSpec Option, string? Default)> options)
    {
        sb.AppendLine("| key | type | default | meaning |").AppendLine("|---|---|---|---|");
        foreach (var (o, d) in options)
            sb.AppendLine($"| `{o.Key}` | {o.TypeText()} | {(o.Required ? "required" : d is null ? "none" : $"`{d}`")} | {Cell(o)} |");
    }

    /// <summary>The doc line, with the keys of a mapping option and their own doc lines.</summary>
    private static string Cell(OptionSpec o) => o.Fields.Count == 0 || o.Type == OptionType.NumberOrMapping
        ? o.Doc
        : o.Doc + " " + string.Join("; ", o.Fields.Select(f => $"`{f.Key}` ({f.TypeText()}{(f.Default is null ? "" : $", default `{f.Default}`")}): {f.Doc.TrimEnd('.')}")) + ".";

    [GeneratedRegex(@"<!-- generated: (?<name>[a-z-]+) -->\n.*?<!-- end generated -->", RegexOptions.Singleline)]
    private static partial Regex Region();
}
