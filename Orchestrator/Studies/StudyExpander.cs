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

    /// <summary>The trials recorded when the study is run: its whole expansion, or none for an adaptive search (its proposals come during the run).</summary>
    public static IReadOnlyList<PlannedTrial> Recorded(Study study) => study.Search is { Adaptive: true } ? [] : study.Trials;

    /// <summary>
    /// The trials of one proposal of an adaptive search: <paramref name="point"/> (parameter path -> value, a choice as its
    /// index; parameters whose condition fails are left out) applied to every matrix combination, as a random-search sample is.
    /// </summary>
    public static IReadOnlyList<PlannedTrial> ForPoint(Study study, IReadOnlyDictionary<string, double> point) =>
        study.ExpandPoint?.Invoke(point) ?? throw new InvalidOperationException($"study '{study.Name}' has no adaptive search");

    /// <summary>A drawn value of a search parameter: the node applied to the tree, its display, and for a choice its index.</summary>
    internal readonly record struct Draw(YNode Node, string Display, int Choice);

    /// <summary>The random-search draw of sample <paramref name="sample"/>.</summary>
    internal static Draw RandomDraw(SearchParameter parameter, ulong seed, int sample)
    {
        if (parameter.Distribution == SearchDistribution.Choice)
        {
            var index = (int)Math.Floor(Uniform01(seed, sample, parameter.Path.Text) * parameter.Choices.Count);
            return new Draw(parameter.Choices[index].Node, parameter.Choices[index].Display, index);
        }
        // Shortest round-trip text of the number; it reads back as the same double.
        var display = Sample(parameter, seed, sample)!.ToJsonString();
        return new Draw(new YScalar(parameter.Position, display, plain: true), display, -1);
    }

    /// <summary>A proposed value (as a sampler gives it: a number, or a choice's index) as a draw; rounded as random draws are.</summary>
    internal static Draw PointDraw(SearchParameter parameter, double value)
    {
        if (parameter.Distribution == SearchDistribution.Choice)
        {
            var index = Math.Clamp((int)Math.Round(value), 0, parameter.Choices.Count - 1);
            return new Draw(parameter.Choices[index].Node, parameter.Choices[index].Display, index);
        }
        var number = parameter.Distribution == SearchDistribution.Int ? Math.Round(value) : Round6(value);
        var display = parameter.Distribution == SearchDistribution.Int
            ? ((long)number).ToString(CultureInfo.InvariantCulture)
            : JsonValue.Create(number).ToJsonString();
        return new Draw(new YScalar(parameter.Position, display, plain: true), display, -1);
    }

    internal static IReadOnlyList<PlannedTrial> Plan(
        YMap trial, IReadOnlyList<MatrixAxis> matrix, IReadOnlyList<ExcludeRule> exclude, SearchSection? search,
        SpecReader specs, NodeReader reader, SourcePosition matrixPosition, int? samples = null, Func<SearchParameter, int, Draw>? draw = null)
    {
        draw ??= (parameter, sample) => RandomDraw(parameter, search!.Seed, sample);
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

            for (var sample = 0; sample < (samples ?? search?.Samples ?? 1); sample++)
            {
                var sampled = tree;
                var axes = new OrderedDictionary<string, string>(StringComparer.Ordinal);
                for (var i = 0; i < matrix.Count; i++) axes[matrix[i].Path.Text] = matrix[i].Values[combination[i]].Display;
                var draws = (search?.Space ?? []).ToDictionary(p => p.Path.Text, p => draw(p, sample), StringComparer.Ordinal);
                var searchDisplays = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var parameter in searchOrder)
                {
                    // A conditional parameter is left out (shown as "-") unless its choice took one of the values it needs.
                    if (parameter.When is { } when && !when.Choices.Contains(draws[when.Parameter].Choice))
                    {
                        searchDisplays[parameter.Path.Text] = "-";
                        continue;
                    }
                    var node = draws[parameter.Path.Text].Node;
                    searchDisplays[parameter.Path.Text] = draws[parameter.Path.Text].Display;
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
