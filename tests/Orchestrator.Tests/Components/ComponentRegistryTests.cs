using Studies.Trials.Catalog;
using Studies.Trials.Components;

namespace Studies.Orchestrator.Tests.Components;

/// <summary>The study reader and the docs accept exactly what the component registries hold.</summary>
public sealed class ComponentRegistryTests
{
    private static readonly ComponentCatalog Catalog = ComponentCatalog.BuiltIn;
    private static readonly string DataDirectory = Path.Combine(AppContext.BaseDirectory, "Valid");

    private static string Phase(string loss, string options = "") => $$"""
        study: t
        data: {source: gaussian-toy}
        base: {schedule: [{loss: {{loss}}, epochs: 1{{options}}}]}
        """;

    private static StudyValidationException Rejected(string yaml) =>
        Assert.Throws<StudyValidationException>(() => StudyText.Load(yaml, DataDirectory));

    [Fact]
    public void Every_registered_loss_is_accepted_and_an_unknown_one_lists_exactly_the_registered_ones()
    {
        foreach (var loss in Catalog.Losses.Names) Assert.Equal(loss, StudyText.Load(Phase(loss)).Base.Schedule[0].Loss);
        var error = Rejected(Phase("hinge")).Errors.Single();
        Assert.EndsWith($"valid: {string.Join(", ", Catalog.Losses.Names)}", error.Message);
    }

    [Fact]
    public void Every_loss_option_is_accepted_for_its_own_loss_and_rejected_for_the_others()
    {
        foreach (var loss in Catalog.Losses.Entries)
        foreach (var option in Catalog.Losses.Entries.SelectMany(l => l.Options).Select(o => o.Key).Distinct())
        {
            var spec = loss.Options.FirstOrDefault(o => o.Key == option);
            var value = spec?.Type == OptionType.Choice ? spec.Allowed[0] : "0.5";
            var yaml = Phase(loss.Name, $", loss_options: {{{option}: {value}}}");
            if (spec is not null) Assert.True(StudyText.Load(yaml).Base.Schedule[0].LossOptions.ContainsKey(option), $"{loss.Name}.{option}");
            else Assert.Contains($"'{option}'", Rejected(yaml).Errors.Single().Message);
        }
    }

    [Fact]
    public void Every_registered_model_kind_is_accepted_with_its_registered_defaults()
    {
        foreach (var kind in Catalog.Models.Entries)
        {
            var model = StudyText.Load($"{StudyText.Header}\nbase: {{model: {{kind: {kind.Name}}}, schedule: [{{loss: bce, epochs: 1}}]}}").Base.Model;
            Assert.Equal(Trials.Specs.SpecJson.Serialize(kind.Defaults), Trials.Specs.SpecJson.Serialize(model));
        }
        var error = Rejected($"{StudyText.Header}\nbase: {{model: {{kind: cnn}}, schedule: [{{loss: bce, epochs: 1}}]}}").Errors.Single();
        Assert.EndsWith($"valid: {string.Join(", ", Catalog.Models.Names)}", error.Message);
    }

    [Fact]
    public void Every_registered_data_source_is_accepted_and_each_of_its_options_is_a_known_key()
    {
        foreach (var source in Catalog.DataSources.Entries)
        {
            var options = source.ReadsFile ? "{path: data/hepmass-tiny.csv}" : "{}";
            var study = StudyText.Load($"study: t\ndata: {{source: {source.Name}, options: {options}}}\nbase: {{schedule: [{{loss: bce, epochs: 1}}]}}", DataDirectory);
            Assert.Equal(source.Name, study.Data.Spec.Source);
            // A key one letter off each option is caught with the option as the suggestion.
            foreach (var option in source.Options.Where(o => o.Key.Length > 3))
            {
                var typo = option.Key[..^1];
                var yaml = $"study: t\ndata: {{source: {source.Name}, options: {{{typo}: 1}}}}\nbase: {{schedule: [{{loss: bce, epochs: 1}}]}}";
                Assert.Contains(Rejected(yaml).Errors, e => e.Message.Contains($"unknown key '{typo}', did you mean '{option.Key}'?"));
            }
        }
        var unknown = Rejected("study: t\ndata: {source: root-file}\nbase: {schedule: [{loss: bce, epochs: 1}]}").Errors.Single();
        Assert.EndsWith($"valid: {string.Join(", ", Catalog.DataSources.Names)}", unknown.Message);
    }

    [Fact]
    public void Registering_a_name_twice_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => Catalog.WithLoss(Catalog.Losses.Get("bce")));
        Assert.Contains("'bce' is registered twice", error.Message);
    }

    /// <summary>Set STUDIES_UPDATE_DOCS=1 to rewrite the generated tables after changing a registry.</summary>
    [Fact]
    public void The_format_docs_tables_are_the_ones_the_registry_generates()
    {
        var path = Path.Combine(RepositoryRoot(), "docs", "study-format.md");
        var text = File.ReadAllText(path);
        var expected = FormatTables.Apply(text, Catalog);
        Assert.Equal(9, expected.Split("<!-- generated: ").Length - 1);
        if (Environment.GetEnvironmentVariable("STUDIES_UPDATE_DOCS") == "1") File.WriteAllText(path, expected);
        else Assert.True(text == expected, "docs/study-format.md is out of date with the component registry; run the tests with STUDIES_UPDATE_DOCS=1");
        foreach (var name in Catalog.Losses.Names.Concat(Catalog.Models.Names).Concat(Catalog.DataSources.Names).Concat(Catalog.Optimizers.Names).Concat(Catalog.StoppingRules.Names)
                     .Concat(global::Studies.Orchestrator.Search.Components.SearchComponents.Samplers.Names).Concat(global::Studies.Orchestrator.Search.Components.SearchComponents.Pruners.Names)
                     .Concat(ExecutorKinds.All.Names).Concat(global::Studies.Orchestrator.Storage.StoreBackends.All.Names))
            Assert.Contains($"| `{name}` |", expected);
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Studies.sln"))) return dir.FullName;
        throw new InvalidOperationException("Studies.sln not found above " + AppContext.BaseDirectory);
    }
}
