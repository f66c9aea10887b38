using System.Text.Json.Nodes;
using Studies.Reports.Input;
using Studies.Trials.Specs;

namespace Studies.Reports.Analysis;

/// <summary>
/// Fairness made visible (issue 28): every setting that differs between the compared methods
/// beyond the compared axes, from the resolved specs, so "pnn beats dnn" cannot silently also
/// compare activation, dropout and initialisation.
/// </summary>
public static class Fairness
{
    /// <summary>A trial as fairness needs it: its axis values and its resolved spec.</summary>
    public sealed record PlannedSpec(IReadOnlyDictionary<string, string> Axes, TrialSpec Spec);

    /// <summary>
    /// Compares one representative trial per method (methods: combinations of the compared axes'
    /// values; representatives share every other axis value where possible, e.g. the same seed).
    /// Settings under a compared axis's path are left out: they are what is being compared.
    /// </summary>
    public static IReadOnlyList<SettingDifference> Differences(IReadOnlyList<PlannedSpec> trials, IReadOnlyList<string> compareAxes)
    {
        if (compareAxes.Count == 0 || trials.Count == 0) return [];
        string Method(PlannedSpec t) => string.Join(", ", compareAxes.Select(a => t.Axes.GetValueOrDefault(a, "?")));
        string Rest(PlannedSpec t) => string.Join("\u001f", t.Axes.Where(kv => !compareAxes.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
        var byMethod = trials.GroupBy(Method).ToList();
        if (byMethod.Count < 2) return [];
        var key = Rest(byMethod[0].First());
        var reps = byMethod.Select(g => g.FirstOrDefault(t => Rest(t) == key) ?? g.First()).ToList();
        var flat = reps.Select(r => Flatten(r.Spec)).ToList();
        var paths = flat.SelectMany(f => f.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        var excluded = compareAxes.Select(JsonPath).ToList();
        var differences = new List<SettingDifference>();
        foreach (var path in paths)
        {
            if (excluded.Any(e => path == e || path.StartsWith(e + ".", StringComparison.Ordinal) || path.StartsWith(e + "[", StringComparison.Ordinal))) continue;
            var values = flat.Select(f => f.GetValueOrDefault(path, "(unset)")).ToList();
            if (values.Distinct().Count() < 2) continue;
            // Which compared axis decides the value, if one does: then list it per value of that axis.
            var follows = compareAxes.FirstOrDefault(a => reps.Select((r, i) => (Axis: r.Axes.GetValueOrDefault(a, "?"), Value: values[i]))
                .GroupBy(x => x.Axis).All(g => g.Select(x => x.Value).Distinct().Count() == 1));
            var listed = follows is null
                ? reps.Select((r, i) => (Method(r), values[i])).ToList()
                : reps.Select((r, i) => (r.Axes.GetValueOrDefault(follows, "?"), values[i])).Distinct().ToList();
            differences.Add(new SettingDifference(path, follows, listed));
        }
        return differences;
    }

    /// <summary>The spec path an axis written in a study sets ("schedule[0].lr" sets schedule[0].learning_rate's phase).</summary>
    private static string JsonPath(string axis) => axis.Replace(".lr", ".learning_rate", StringComparison.Ordinal);

    /// <summary>
    /// Leaf settings of a spec as path → JSON text, with the initialisers a kind leaves null written
    /// out as the kind's reference (Trials/Models/ModelKinds.cs: dnn and per-mass Kaiming-normal
    /// weights with N(0,1) biases, affine-pnn Glorot-uniform with zero biases, pnn PyTorch's), so two
    /// kinds that initialise differently never look alike.
    /// </summary>
    public static Dictionary<string, string> Flatten(TrialSpec spec)
    {
        var node = JsonNode.Parse(SpecJson.Serialize(spec))!.AsObject();
        if (node["model"] is JsonObject model)
        {
            var kind = spec.Model.Kind;
            model["weight_init"] ??= kind switch { "dnn" or "per-mass" => "kaiming-normal", "affine-pnn" => "xavier-uniform", "pnn" => "pytorch", _ => "(kind default)" };
            model["bias_init"] ??= kind switch { "dnn" or "per-mass" => "normal", "affine-pnn" => "zeros", "pnn" => "pytorch", _ => "(kind default)" };
        }
        var flat = new Dictionary<string, string>(StringComparer.Ordinal);
        void Walk(JsonNode? n, string path)
        {
            switch (n)
            {
                case JsonObject o:
                    foreach (var (k, v) in o) Walk(v, path.Length == 0 ? k : $"{path}.{k}");
                    break;
                case JsonArray a when a.All(x => x is JsonObject):
                    for (var i = 0; i < a.Count; i++) Walk(a[i], $"{path}[{i}]");
                    if (a.Count == 0) flat[path] = "[]";
                    break;
                default:
                    flat[path] = n is null ? "null" : n is JsonValue jv && jv.GetValueKind() == System.Text.Json.JsonValueKind.String ? jv.GetValue<string>() : n.ToJsonString();
                    break;
            }
        }
        Walk(node, "");
        // Who does the training is no setting of the method.
        flat.Remove("seed");
        flat.Remove("device");
        flat.Remove("threads");
        return flat;
    }

    /// <summary>
    /// The warning for model kinds compared with their own defaults: the kind axis decides other
    /// model settings too. Null when no model setting follows the kind.
    /// </summary>
    public static string? KindWarning(IReadOnlyList<SettingDifference> differences)
    {
        var model = differences.Where(d => d.FollowsAxis is { } a && a.StartsWith("model", StringComparison.Ordinal) && d.Setting.StartsWith("model.", StringComparison.Ordinal)).ToList();
        if (model.Count == 0) return null;
        return $"warning: model kinds are compared with different defaults ({string.Join(", ", model.Select(d => d.Setting["model.".Length..]))}): "
            + "a difference between them is also one of these settings. Write them in base.model, or use `model: {defaults: common}` to give every kind one architecture, activation and initialisation.";
    }
}
