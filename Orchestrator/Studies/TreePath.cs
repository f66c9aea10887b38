using System.Text.RegularExpressions;

namespace Studies.Orchestrator.Studies;

/// <summary>
/// A dotted path into a trial, with list indexing: <c>model.kind</c>, <c>schedule[0].lr</c>,
/// <c>data.options.signal_per_mass</c>. Matrix axes and search parameters are such paths.
/// </summary>
public sealed partial record TreePath(string Text, IReadOnlyList<TreePath.Step> Steps)
{
    /// <summary>A key (<see cref="Key"/> set) or a list index (<see cref="Index"/> set).</summary>
    public readonly record struct Step(string? Key, int? Index)
    {
        public override string ToString() => Key ?? $"[{Index}]";
    }

    public int Depth => Steps.Count;

    public static TreePath? TryParse(string text)
    {
        if (!PathPattern().IsMatch(text)) return null;
        var steps = new List<Step>();
        foreach (Match m in StepPattern().Matches(text))
            steps.Add(m.Groups["key"].Success ? new Step(m.Groups["key"].Value, null) : new Step(null, int.Parse(m.Groups["index"].Value)));
        return new TreePath(text, steps);
    }

    /// <summary>True when this path is <paramref name="other"/> or lies inside it.</summary>
    public bool IsWithin(TreePath other) =>
        other.Steps.Count <= Steps.Count && other.Steps.Select((s, i) => s == Steps[i]).All(x => x);

    public override string ToString() => Text;

    [GeneratedRegex(@"^[a-z_][a-z0-9_]*(\[[0-9]{1,6}\])*(\.[a-z_][a-z0-9_]*(\[[0-9]{1,6}\])*)*$")]
    private static partial Regex PathPattern();

    [GeneratedRegex(@"(?<key>[a-z_][a-z0-9_]*)|\[(?<index>[0-9]+)\]")]
    private static partial Regex StepPattern();
}

/// <summary>Checks paths against the study schema and the base, and substitutes values into trial trees.</summary>
internal static class TreePaths
{
    /// <summary>What kind of node a path step lands in; keys are checked against the section's vocabulary.</summary>
    private enum Shape { Trial, Data, FreeMap, Split, Model, Conditioning, Schedule, Phase, Plateau, EarlyStopping, LossOptions, Evaluation, List, Leaf }

    /// <summary>
    /// Null when <paramref name="path"/> names a setting of a trial that the base has room for;
    /// otherwise why not. Keys must be valid names of their section (a value left to its default is
    /// fine), list indices must exist in the base.
    /// </summary>
    public static string? Check(TreePath path, YMap trial, ComponentNames names)
    {
        var shape = Shape.Trial;
        YNode? node = trial;
        var walked = "";
        foreach (var step in path.Steps)
        {
            if (step.Key is { } key)
            {
                var known = Keys(shape, names);
                if (shape is Shape.List or Shape.Leaf or Shape.Schedule)
                    return $"'{walked}' holds no keys, so '{path}' does not exist";
                if (known is not null && !known.Contains(key))
                {
                    var closest = Vocabulary.Closest(key, known);
                    return $"'{path}' does not exist: unknown key '{key}'{(walked == "" ? "" : $" in {walked}")}"
                        + (closest is null ? $"; valid keys: {Vocabulary.List(known)}" : $", did you mean '{closest}'?");
                }
                if (node is not null and not YMap && shape is not Shape.FreeMap) node = null;
                node = (node as YMap)?[key];
                shape = Child(shape, key);
                walked = walked == "" ? key : $"{walked}.{key}";
            }
            else
            {
                var index = step.Index!.Value;
                if (shape is not (Shape.Schedule or Shape.List or Shape.FreeMap or Shape.Leaf))
                    return $"'{walked}' is not a list, so '{path}' does not exist";
                if (node is not YSeq seq)
                    return $"'{path}' does not exist: the base has no list at '{walked}'";
                if (index >= seq.Items.Count)
                    return $"'{path}' does not exist: the base's {walked} has {seq.Items.Count} item{(seq.Items.Count == 1 ? "" : "s")}";
                node = seq.Items[index];
                shape = shape == Shape.Schedule ? Shape.Phase : shape == Shape.FreeMap ? Shape.FreeMap : Shape.Leaf;
                walked += $"[{index}]";
            }
        }
        return null;
    }

    private static string[]? Keys(Shape shape, ComponentNames names) => shape switch
    {
        Shape.Trial => Vocabulary.TrialKeys,
        Shape.Data => Vocabulary.DataKeys,
        Shape.Split => Vocabulary.SplitKeys,
        Shape.Model => names.ModelKeys,
        Shape.Conditioning => names.ConditioningKeys,
        Shape.Phase => names.PhaseKeys,
        Shape.Plateau => Vocabulary.PlateauKeys,
        Shape.EarlyStopping => names.EarlyStoppingKeys,
        Shape.LossOptions => names.AllLossOptionKeys,
        Shape.Evaluation => Vocabulary.EvaluationKeys,
        _ => null,
    };

    private static Shape Child(Shape shape, string key) => (shape, key) switch
    {
        (Shape.Trial, "data") => Shape.Data,
        (Shape.Trial, "model") => Shape.Model,
        (Shape.Trial, "schedule") => Shape.Schedule,
        (Shape.Trial, "evaluation") => Shape.Evaluation,
        (Shape.Data, "options") => Shape.FreeMap,
        (Shape.Data, "split") => Shape.Split,
        (Shape.Data, "holdout") => Shape.List,
        (Shape.Model, "hidden") => Shape.List,
        (Shape.Model, "conditioning") => Shape.Conditioning,
        (Shape.Phase, "plateau") => Shape.Plateau,
        (Shape.Phase, "early_stopping") => Shape.EarlyStopping,
        (Shape.Phase, "loss_options") => Shape.LossOptions,
        (Shape.FreeMap, _) => Shape.FreeMap,
        _ => Shape.Leaf,
    };

    /// <summary>
    /// A copy of <paramref name="root"/> with <paramref name="value"/> at <paramref name="path"/>;
    /// missing mappings on the way are created. Null with a reason when the path cannot be followed
    /// in this tree (an earlier substitution replaced the list it indexes, say).
    /// </summary>
    public static YNode? Apply(YNode root, TreePath path, YNode value, out string? problem)
    {
        problem = null;
        return Apply(root, path, 0, value, ref problem);
    }

    private static YNode? Apply(YNode? node, TreePath path, int depth, YNode value, ref string? problem)
    {
        if (depth == path.Steps.Count) return value;
        var step = path.Steps[depth];
        if (step.Key is { } key)
        {
            var map = node as YMap ?? new YMap(value.Position, []);
            if (node is not null and not YMap && !NodeReader.IsNull(node))
            {
                problem = $"cannot set '{path}': '{string.Join(".", path.Steps.Take(depth))}' is not a mapping in this trial";
                return null;
            }
            var child = Apply(map[key], path, depth + 1, value, ref problem);
            return child is null ? null : map.With(key, child, value.Position);
        }
        var index = step.Index!.Value;
        if (node is not YSeq seq || index >= seq.Items.Count)
        {
            problem = $"cannot set '{path}': this trial's {string.Concat(path.Steps.Take(depth).Select((s, i) => s.Key is null ? s.ToString() : i == 0 ? s.Key : "." + s.Key))} "
                + (node is YSeq s2 ? $"has only {s2.Items.Count} item{(s2.Items.Count == 1 ? "" : "s")}" : "is not a list");
            return null;
        }
        var item = Apply(seq.Items[index], path, depth + 1, value, ref problem);
        return item is null ? null : seq.With(index, item);
    }
}
