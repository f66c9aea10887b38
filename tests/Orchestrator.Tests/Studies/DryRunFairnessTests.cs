using Studies.Orchestrator.Studies;

namespace Studies.Orchestrator.Tests.Studies;

/// <summary>Issue 28: the dry run lists every setting the compared methods differ in beyond the compared axes.</summary>
public sealed class DryRunFairnessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dryrun-fairness-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private (Study Study, IReadOnlyList<PlannedTrial> Trials, List<string> Lines) DryRunOf(string model)
    {
        var path = Path.Combine(_dir, "kinds.yaml");
        File.WriteAllText(path, $$"""
            study: kinds
            data:
              source: gaussian-toy
              options: {masses: [-1, 0, 1], events_per_mass: 1000}
            base:
              model: {{model}}
              schedule:
                - {loss: bce, epochs: 1}
            matrix:
              model.kind: [dnn, pnn]
              seed: [1, 2]
            report: {compare: [model.kind]}
            """);
        return Render(path);
    }

    /// <summary>Loads, expands and dry-runs a study file: the study, its trials and the printed lines.</summary>
    internal static (Study Study, IReadOnlyList<PlannedTrial> Trials, List<string> Lines) Render(string path)
    {
        var study = StudyLoader.Load(path);
        var trials = StudyExpander.Expand(study);
        var output = new StringWriter();
        DryRun.Render(study, trials, output);
        return (study, trials, output.ToString().Split('\n').Select(l => l.TrimEnd()).ToList());
    }

    [Fact]
    public void Dnn_against_pnn_lists_the_kinds_differing_defaults_and_warns()
    {
        var (_, _, lines) = DryRunOf("{kind: dnn, balance: class}");
        var header = lines.IndexOf("fairness: settings that differ between the compared methods beyond model.kind:");
        Assert.True(header >= 0, string.Join('\n', lines));
        var listed = lines.Skip(header + 1).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal)).ToList();
        Assert.Equal(
        [
            "  model.activation: dnn tanh, pnn relu (follows model.kind)",
            "  model.bias_init: dnn normal, pnn zeros (follows model.kind)",
            "  model.dropout: dnn 0, pnn 0.25 (follows model.kind)",
            "  model.hidden: dnn [8,4], pnn [300,150,100,50] (follows model.kind)",
            "  model.weight_init: dnn kaiming-normal, pnn xavier-uniform (follows model.kind)",
        ], listed);
        Assert.StartsWith("warning: model kinds are compared with different defaults (activation, bias_init, dropout, hidden, weight_init)", lines[header + 1 + listed.Count]);
    }

    [Fact]
    public void Common_defaults_give_both_kinds_one_architecture_and_keep_the_dnn_ids()
    {
        var (_, commonTrials, lines) = DryRunOf("{kind: dnn, defaults: common}");
        Assert.Contains("fairness: the compared methods differ only in model.kind", lines);
        Assert.DoesNotContain(lines, l => l.StartsWith("warning: model kinds", StringComparison.Ordinal));
        var pnn = commonTrials.First(t => t.Spec.Model.Kind == "pnn").Spec.Model;
        Assert.Equal([8, 4], pnn.Hidden);
        Assert.Equal(("tanh", 0.0, "kaiming-normal", "normal"), (pnn.Activation, pnn.Dropout, pnn.WeightInit, pnn.BiasInit));

        // dnn trials are the same trials with or without the option.
        var (_, plainTrials, _) = DryRunOf("{kind: dnn}");
        Assert.Equal(plainTrials.Where(t => t.Spec.Model.Kind == "dnn").Select(t => t.TrialId), commonTrials.Where(t => t.Spec.Model.Kind == "dnn").Select(t => t.TrialId));
        Assert.NotEqual(plainTrials.Where(t => t.Spec.Model.Kind == "pnn").Select(t => t.TrialId), commonTrials.Where(t => t.Spec.Model.Kind == "pnn").Select(t => t.TrialId));
    }
}
