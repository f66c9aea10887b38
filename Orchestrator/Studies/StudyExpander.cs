using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Studies.Orchestrator.Studies;

/// <summary>
/// Expands a study into its trials: the base, then the cartesian product of the matrix axes
/// (first axis slowest), minus excluded combinations, times the random-search samples.
/// </summary>
public static class StudyExpander
{
    /// <summary>The study's trials in their stable order (computed, and validated, when the study was loaded).</summary>
    public static IReadOnlyList<PlannedTrial> Expand(Study study) => study.Trials;

    /// <summary>
    /// The search value of <paramref name="path"/> in sample <paramref name="sample"/>: a uniform
    /// number in [0, 1) from SHA-256 of <c>"{seed}:{sample}:{path}"</c> (first 8 bytes, big-endian,
    /// top 53 bits). Keyed by path rather than drawn in sequence, so the order in which the space is
    /// written does not change any sample.
    /// </summary>
    public static double Uniform01(ulong seed, int sample, string path)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{seed.ToString(CultureInfo.InvariantCulture)}:{sample.ToString(CultureInfo.InvariantCulture)}:{path}"));
        return (BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>
    /// One sampled value. Continuous draws are rounded to 6 significant digits so that the value in
    /// the spec, its display and its hash agree and read well.
    /// </summary>
    public static JsonNode? Sample(SearchParameter parameter, ulong seed, int sample)
    {
        var u = Uniform01(seed, sample, parameter.Path.Text);
        return parameter.Distribution switch
        {
            SearchDistribution.LogUniform => JsonValue.Create(Round6(Math.Exp(Math.Log(parameter.Low) + u * (Math.Log(parameter.High) - Math.Log(parameter.Low))))),
            SearchDistribution.Uniform => JsonValue.Create(Round6(parameter.Low + u * (parameter.High - parameter.Low))),
            SearchDistribution.Int => JsonValue.Create((long)parameter.Low + (long)Math.Floor(u * (parameter.High - parameter.Low + 1))),
            _ => parameter.Choices[(int)Math.Floor(u * parameter.Choices.Count)].Value?.DeepClone(),
        };
    }

    private static double Round6(double v) => double.Parse(v.ToString("G6", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static YNode SampleNode(SearchParameter parameter, ulong seed, int sample, out string display)
    {
        if (parameter.Distribution == SearchDistribution.Choice)
        {
            var choice = parameter.Choices[(int)Math.Floor(Uniform01(seed, sample, parameter.Path.Text) * parameter.Choices.Count)];
            display = choice.Display;
            return choice.Node;
        }
        // Shortest round-trip text of the number; it reads back as the same double.
        display = Sample(parameter, seed, sample)!.ToJsonString();
        return new YScalar(parameter.Position, display, plain: true);
    }

    internal static IReadOnlyList<PlannedTrial> Plan(
        YMap trial, IReadOnlyList<MatrixAxis> matrix, IReadOnlyList<ExcludeRule> exclude, SearchSection? search,
        SpecReader specs, NodeReader reader, SourcePosition matrixPosition)
    {
        // Whole sub-trees first, then settings inside them: `schedule` variants, then `schedule[0].lr`,
        // whatever order the file lists them in.
        var applyOrder = Enumerable.Range(0, matrix.Count).OrderBy(i => matrix[i].Path.Depth).ToArray();
        var searchOrder = search?.Space.OrderBy(p => p.Path.Depth).ToArray() ?? [];
        foreach (var parameter in search?.Space ?? [])
        foreach (var probe in parameter.Probes)
            if (TreePaths.Apply(trial, parameter.Path, probe, out _) is YMap probed) specs.Read(probed);

        var trials = new List<PlannedTrial>();
        var byId = new Dictionary<string, PlannedTrial>(StringComparer.Ordinal);

        foreach (var combination in Combinations(matrix.Select(a => a.Values.Count).ToArray()))
        {
            if (exclude.Any(rule => rule.Resolved.All(r => r.Value.Contains(combination[r.Key])))) continue;
            YNode? tree = trial;
            foreach (var axisIndex in applyOrder)
            {
                var axis = matrix[axisIndex];
                var value = axis.Values[combination[axisIndex]];
                tree = TreePaths.Apply(tree!, axis.Path, value.Node, out var problem);
                if (tree is null)
                {
                    reader.Error(value.Node, $"{problem} (with {Describe(matrix, combination)})");
                    break;
                }
            }
            if (tree is null) continue;

            for (var sample = 0; sample < (search?.Samples ?? 1); sample++)
            {
                var sampled = tree;
                var axes = new OrderedDictionary<string, string>(StringComparer.Ordinal);
                for (var i = 0; i < matrix.Count; i++) axes[matrix[i].Path.Text] = matrix[i].Values[combination[i]].Display;
                var searchDisplays = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var parameter in searchOrder)
                {
                    var node = SampleNode(parameter, search!.Seed, sample, out var display);
                    searchDisplays[parameter.Path.Text] = display;
                    sampled = TreePaths.Apply(sampled!, parameter.Path, node, out var problem);
                    if (sampled is null)
                    {
                        reader.Diagnostics.Error(parameter.Position, $"{problem} (with {Describe(matrix, combination)})");
                        break;
                    }
                }
                if (sampled is null) continue;
                foreach (var parameter in search?.Space ?? []) axes[parameter.Path.Text] = searchDisplays[parameter.Path.Text];

                if (specs.Read((YMap)sampled) is not { } spec) continue;
                var planned = new PlannedTrial(TrialIdentity.TrialId(spec), spec, new System.Collections.ObjectModel.ReadOnlyDictionary<string, string>(axes));
                if (byId.TryGetValue(planned.TrialId, out var twin))
                {
                    reader.Diagnostics.Error(matrixPosition,
                        $"two combinations give the same trial {planned.TrialId}: {Format(twin.Axes)} and {Format(planned.Axes)}; "
                        + "remove a duplicate value, an axis that makes no difference, or search samples that repeat");
                    continue;
                }
                byId[planned.TrialId] = planned;
                trials.Add(planned);
            }
        }
        return trials;
    }

    private static string Describe(IReadOnlyList<MatrixAxis> matrix, int[] combination) =>
        string.Join(", ", matrix.Select((a, i) => $"{a.Path} = {a.Values[combination[i]].Display}"));

    private static string Format(IReadOnlyDictionary<string, string> axes) =>
        axes.Count == 0 ? "(base)" : "{" + string.Join(", ", axes.Select(a => $"{a.Key}: {a.Value}")) + "}";

    /// <summary>Index tuples in lexicographic order (last axis fastest); one empty tuple for no axes.</summary>
    private static IEnumerable<int[]> Combinations(int[] sizes)
    {
        if (sizes.Any(s => s == 0)) yield break;
        var current = new int[sizes.Length];
        while (true)
        {
            yield return (int[])current.Clone();
            var axis = sizes.Length - 1;
            while (axis >= 0 && ++current[axis] == sizes[axis]) current[axis--] = 0;
            if (axis < 0) yield break;
        }
    }
}
