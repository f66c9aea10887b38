using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Studies.Trials.Results;
using Studies.Trials.Specs;
using Studies.Orchestrator.Search;
using Studies.Orchestrator.Search.Components;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Studies;

/// <summary>Reads the sections of a study file into <see cref="Study"/>, reporting every problem it finds.</summary>
internal sealed partial class StudyReader(NodeReader reader, string studyDirectory)
{
    private const int MaxTrials = StudyLimits.MaxTrials;

    public Study? Read(YNode root, string sourcePath, string text)
    {
        if (reader.Section(root, Vocabulary.StudyKeys, "the study file", allowExtensions: true) is not { } top) return null;

        string? name = null;
        if (top["study"] is { } nameNode && reader.Text(nameNode, "study") is { } n)
        {
            if (n.Length > StudyLimits.MaxNameLength)
                reader.Error(nameNode, $"study name has {n.Length} characters; at most {StudyLimits.MaxNameLength} (it names folders and report files)");
            else if (NamePattern().IsMatch(n)) name = n;
            else reader.Error(nameNode, $"study name '{n}' may hold only letters, digits, '.', '_' and '-' (it names folders), and must start with a letter or digit");
        }
        else if (top["study"] is null) reader.Diagnostics.Error(top.Position, "the study needs a name: 'study: my-study'");
        var description = top["description"] is { } d && !NodeReader.IsNull(d) ? reader.Text(d, "description") ?? "" : "";

        var resources = ReadResources(top["resources"]);
        var specs = new SpecReader(reader, studyDirectory, resources.ThreadsPerTrial);

        DataSpec? data = null;
        IReadOnlyList<double>? grid = null;
        if (top["data"] is { } dataNode) data = specs.ReadData(dataNode, out grid);
        else reader.Diagnostics.Error(top.Position, "the study needs a 'data' section with at least a 'source'");

        var trial = BuildTrialTree(top);
        var matrix = ReadMatrix(top["matrix"], trial);
        var exclude = ReadExclude(top["exclude"], matrix);
        var search = ReadSearch(top["search"], trial, matrix);
        var retries = ReadRetries(top["retries"]);
        var report = ReadReport(top["report"], matrix, search);
        if (search is { Objectives.Count: 0 })
            search = search with { Objectives = [new SearchObjective(report.Headline, MetricDirection.HigherIsBetter(report.Headline))] };
        var store = top["store"] is { } storeNode && !NodeReader.IsNull(storeNode) ? reader.Text(storeNode, "store") : null;
        var checkpoints = top["checkpoints"] is { } checkpointsNode && !NodeReader.IsNull(checkpointsNode)
            && reader.Text(checkpointsNode, "checkpoints") is { Length: > 0 } folder ? Path.GetFullPath(folder, studyDirectory) : null;

        var notify = ReadNotify(top["notify"]);

        var baseSpec = specs.Read(trial);
        IReadOnlyList<PlannedTrial> trials = [];
        Func<IReadOnlyDictionary<string, double>, IReadOnlyList<PlannedTrial>>? expandPoint = null;
        // Counted before anything is expanded; a product that overflows is clearly over the limit too.
        var combinations = matrix.Aggregate(1.0, (p, a) => p * a.Values.Count);
        var count = combinations * (search?.Samples ?? 1);
        if (count > MaxTrials)
            reader.Diagnostics.Error(top["matrix"]?.Position ?? top["search"]?.Position ?? top.Position,
                $"the study expands to {(count < 1e18 ? ((long)count).ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : count.ToString("G3", System.Globalization.CultureInfo.InvariantCulture))} trials"
                + (search is null ? "" : $" ({combinations:N0} matrix combinations x {search.Samples:N0} search samples)") + $"; at most {MaxTrials:N0}");
        else
        {
            var matrixPosition = top["matrix"]?.Position ?? top.Position;
            // An adaptive search's trials come during the run; its first proposal's shape (one draw) is planned now, which
            // checks every matrix combination and serves the executor's plan and the dry run as examples.
            trials = StudyExpander.Plan(trial, matrix, exclude, search, specs, reader, matrixPosition, samples: search is { Adaptive: true } ? 1 : null);
            if (search is { Adaptive: true } adaptive)
            {
                if (combinations > Storage.SearchOrdinals.PerProposal)
                    reader.Diagnostics.Error(top["matrix"]!.Position, $"an adaptive search applies each proposal to every matrix combination; {combinations:N0} are more than {Storage.SearchOrdinals.PerProposal:N0}");
                var gate = new Lock();
                expandPoint = point =>
                {
                    lock (gate)
                    {
                        var before = reader.Diagnostics.Count;
                        var planned = StudyExpander.Plan(trial, matrix, exclude, adaptive, specs, reader, matrixPosition, samples: 1,
                            draw: (p, _) => StudyExpander.PointDraw(p, point.TryGetValue(p.Path.Text, out var v) ? v : p.Low));
                        if (reader.Diagnostics.Count > before)
                            throw new StudyValidationException(reader.Diagnostics.Since(before));
                        return planned;
                    }
                };
            }
            if (trials.Count == 0 && exclude.Count > 0 && reader.Diagnostics.Count == 0)
                reader.Diagnostics.Error(top["exclude"]!.Position, $"the exclude rules remove all {combinations:N0} matrix combinations; nothing would run");
        }

        if (reader.Diagnostics.Count > 0 || name is null || data is null || baseSpec is null) return null;
        return new Study
        {
            Name = name, Description = description, SourcePath = sourcePath, DefinitionHash = TrialIdentity.DefinitionHash(text),
            Data = new DataSection(data, grid), Base = baseSpec, Matrix = matrix, Exclude = exclude, Search = search,
            Resources = resources, Retries = retries, Report = report, Trials = trials, ExpandPoint = expandPoint, Store = store, Text = text,
            Checkpoints = checkpoints, Components = reader.Components.Catalog, Notify = notify,
            DataPositions = (top["data"] is YMap dataMap ? dataMap.Entries.Select(e => KeyValuePair.Create(e.Key.Text, e.Value.Position)) : [])
                .Append(KeyValuePair.Create("", top["data"]?.Position ?? top.Position)).DistinctBy(kv => kv.Key).ToDictionary(),
        };
    }

    /// <summary>The base with the top-level data section under <c>data</c>: what matrix paths are relative to.</summary>
    private YMap BuildTrialTree(YMap top)
    {
        var entries = new List<KeyValuePair<YScalar, YNode>>();
        if (top.KeyNode("data") is { } dataKey) entries.Add(KeyValuePair.Create(dataKey, top["data"]!));
        var baseNode = top["base"];
        if (baseNode is null)
        {
            reader.Diagnostics.Error(top.Position, "the study needs a 'base' section: the trial every trial starts from (at least a schedule)");
            return new YMap(top.Position, entries);
        }
        if (reader.Section(baseNode, [.. Vocabulary.BaseKeys, "data"], "base") is not { } map) return new YMap(baseNode.Position, entries);
        foreach (var entry in map.Entries)
        {
            if (entry.Key.Text == "data") reader.Error(entry.Key, "data is a top-level section of the study, not part of base");
            else entries.Add(entry);
        }
        return new YMap(map.Position, entries);
    }

    private TreePath? ReadPath(YScalar key, YMap trial, string what)
    {
        if (TreePath.TryParse(key.Text) is not { } path)
        {
            reader.Error(key, $"invalid {what} path '{key.Text}': write keys joined by '.', with [n] for list items (e.g. schedule[0].lr)");
            return null;
        }
        if (TreePaths.Check(path, trial, reader.Components) is { } problem)
        {
            reader.Error(key, $"{what} {problem}");
            return null;
        }
        return path;
    }

    private List<MatrixAxis> ReadMatrix(YNode? node, YMap trial)
    {
        var axes = new List<MatrixAxis>();
        if (NodeReader.IsNull(node)) return axes;
        if (node is not YMap map)
        {
            reader.Error(node!, $"expected a mapping of axis paths for matrix, got {NodeReader.Describe(node!)}");
            return axes;
        }
        reader.CheckDuplicates(map, "matrix axis");
        foreach (var (key, value) in map.Entries)
        {
            var path = ReadPath(key, trial, "matrix axis");
            var values = new List<AxisValue>();
            bool variants;
            switch (value)
            {
                case YSeq seq:
                    variants = false;
                    var seen = new Dictionary<string, YNode>(StringComparer.Ordinal);
                    foreach (var item in seq.Items)
                    {
                        var canonical = YamlJson.Canonical(item);
                        if (!seen.TryAdd(canonical, item))
                            reader.Error(item, $"duplicate value '{item.Display()}' in matrix axis '{key.Text}' (first at {seen[canonical].Position})");
                        else values.Add(new AxisValue(item.Display(), YamlJson.ToJson(item)) { Node = item });
                    }
                    break;
                case YMap named:
                    variants = true;
                    reader.CheckDuplicates(named, "variant name");
                    foreach (var (variant, tree) in named.Entries.DistinctBy(e => e.Key.Text))
                        values.Add(new AxisValue(variant.Text, YamlJson.ToJson(tree)) { Node = tree });
                    break;
                default:
                    reader.Error(value, $"matrix axis '{key.Text}' needs a list of values or a mapping of named variants, got {NodeReader.Describe(value)}");
                    continue;
            }
            if (values.Count == 0 && value is YSeq or YMap)
                reader.Error(value, $"matrix axis '{key.Text}' is empty; give at least one value");
            else if (path is not null)
                axes.Add(new MatrixAxis(path, variants, values) { Position = key.Position });
        }
        return axes;
    }

    private List<ExcludeRule> ReadExclude(YNode? node, List<MatrixAxis> matrix)
    {
        var rules = new List<ExcludeRule>();
        if (NodeReader.IsNull(node)) return rules;
        var items = node is YSeq seq ? seq.Items : [node!];
        var axisNames = matrix.Select(a => a.Path.Text).ToArray();
        foreach (var item in items)
        {
            if (item is not YMap rule || rule.Entries.Count == 0)
            {
                reader.Error(item, $"an exclude rule is a mapping of matrix axes to values, e.g. {{model.kind: per-mass}}, got {NodeReader.Describe(item)}");
                continue;
            }
            reader.CheckDuplicates(rule, "key");
            var match = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            var resolved = new Dictionary<int, IReadOnlySet<int>>();
            var ok = true;
            foreach (var (key, value) in rule.Entries.DistinctBy(e => e.Key.Text))
            {
                var axisIndex = matrix.FindIndex(a => a.Path.Text == key.Text);
                if (axisIndex < 0)
                {
                    var closest = Vocabulary.Closest(key.Text, axisNames);
                    reader.Error(key, $"exclude names '{key.Text}', which is not a matrix axis"
                        + (closest is not null ? $", did you mean '{closest}'?" : axisNames.Length == 0 ? " (the matrix is empty)" : $"; axes: {Vocabulary.List(axisNames)}"));
                    ok = false;
                    continue;
                }
                var axis = matrix[axisIndex];
                var indices = MatchValues(axis, value);
                if (indices is null) ok = false;
                else
                {
                    resolved[axisIndex] = indices;
                    match[key.Text] = indices.Order().Select(i => axis.Values[i].Display).ToList();
                }
            }
            if (ok) rules.Add(new ExcludeRule(match) { Resolved = resolved });
        }
        return rules;
    }

    /// <summary>The axis values an exclude entry names: one value (or variant name), or a list of them.</summary>
    private HashSet<int>? MatchValues(MatrixAxis axis, YNode value)
    {
        int Find(YNode candidate) => axis.IsVariants
            ? axis.Values.ToList().FindIndex(v => candidate is YScalar s && v.Display == s.Text)
            : axis.Values.ToList().FindIndex(v => YamlJson.Canonical(v.Node) == YamlJson.Canonical(candidate));
        var whole = Find(value);
        if (whole >= 0) return [whole];
        var candidates = value is YSeq seq ? seq.Items : [value];
        var found = new HashSet<int>();
        foreach (var candidate in candidates)
        {
            var index = Find(candidate);
            if (index >= 0)
            {
                found.Add(index);
                continue;
            }
            var shown = Vocabulary.List(axis.Values.Select(v => v.Display));
            reader.Error(candidate, axis.IsVariants
                ? $"exclude: '{candidate.Display()}' is not a variant of matrix axis '{axis.Path}'; variants: {shown}"
                : $"exclude: '{candidate.Display()}' is not a value of matrix axis '{axis.Path}'; values: {shown}");
            return null;
        }
        return found;
    }

    private SearchSection? ReadSearch(YNode? node, YMap trial, List<MatrixAxis> matrix)
    {
        if (NodeReader.IsNull(node) || reader.Section(node, Vocabulary.SearchKeys, "search") is not { } map) return null;
        var samples = 0L;
        if (map["samples"] is { } s) samples = reader.IntegerIn(s, "search.samples", 1, MaxTrials) ?? 0;
        else reader.Error(map, "search needs 'samples': how many points to try");
        ulong seed = 1;
        if (map["seed"] is { } sd && reader.IntegerAtLeast(sd, "search.seed", 0) is { } seedValue) seed = (ulong)seedValue;
        var space = new List<SearchParameter>();
        if (map["space"] is not { } spaceNode)
            reader.Error(map, "search needs a 'space': setting paths with their distributions");
        else if (spaceNode is not YMap spaceMap || spaceMap.Entries.Count == 0)
            reader.Error(spaceNode, $"search.space must map setting paths to distributions, e.g. {{schedule[0].lr: {{loguniform: [1e-4, 1e-1]}}}}, got {NodeReader.Describe(spaceNode)}");
        else
        {
            reader.CheckDuplicates(spaceMap, "search parameter");
            foreach (var (key, value) in spaceMap.Entries.DistinctBy(e => e.Key.Text))
            {
                var path = ReadPath(key, trial, "search parameter");
                if (path is not null && matrix.Any(a => a.Path.Text == path.Text))
                {
                    reader.Error(key, $"'{path}' is both a matrix axis and a search parameter; choose one");
                    path = null;
                }
                if (ReadDistribution(value, key.Text, space) is not { } parameter || path is null) continue;
                var integerTarget = path.Steps[^1].Key is { } last
                    ? reader.Components.IntegerKeys.Contains(last)
                    : path.Steps.Count >= 2 && path.Steps[^2].Key == "hidden";
                if (integerTarget && parameter.Distribution is SearchDistribution.LogUniform or SearchDistribution.Uniform)
                    reader.Error(value, $"'{path}' takes whole numbers; search it with {{int: [low, high]}} (or choice), not {parameter.Distribution.ToString().ToLowerInvariant()}");
                else space.Add(parameter with { Path = path, Position = key.Position });
            }
        }
        var sampler = SearchComponents.Samplers.Entries[0];
        var samplerOptions = new JsonObject();
        if (map["sampler"] is { } samplerNode) (sampler, samplerOptions) = ReadSearchComponent(samplerNode, SearchComponents.Samplers, "search.sampler") ?? (sampler, samplerOptions);
        var pruner = PrunerChoice.None;
        if (map["pruner"] is { } prunerNode && ReadSearchComponent(prunerNode, SearchComponents.Pruners, "search.pruner") is { } p) pruner = new PrunerChoice(p.Entry.Name, p.Options);
        var objectives = ReadObjectives(map);
        if (objectives.Count == 2 && SearchComponents.Pruners.Get(pruner.Name) is { CreateTwoObjective: null, Name: not SearchComponents.NoPruner } single)
            reader.Error(map["pruner"]!, $"pruner '{single.Name}' judges one objective; with two objectives use asha (by Pareto front) or none");
        if (sampler.Adaptive && map["samples"] is { } samplesNode) CheckDistinctPoints(samplesNode, samples, space);
        return samples > 0 && space.Count > 0
            ? new SearchSection((int)samples, seed, space)
                { Sampler = sampler.Name, SamplerOptions = samplerOptions, Pruner = pruner, Objectives = objectives, Position = map.Position }
            : null;
    }

    /// <summary>
    /// An adaptive sampler proposes each point once, so a space of choices and integers with fewer points than
    /// <c>samples</c> could never fill them: said when the study is loaded rather than found at the end of the run.
    /// (With a conditional parameter the count depends on the branches; the run still stops after 64 asks find nothing new.)
    /// </summary>
    private void CheckDistinctPoints(YNode samplesNode, long samples, IReadOnlyList<SearchParameter> space)
    {
        if (space.Count == 0 || space.Any(p => p.When is not null || p.Distribution is SearchDistribution.LogUniform or SearchDistribution.Uniform)) return;
        var sizes = space.Select(p => p.Distribution == SearchDistribution.Choice ? p.Choices.Count : (long)(p.High - p.Low) + 1).ToList();
        var points = sizes.Aggregate(1.0, (product, n) => product * n);
        if (samples > points)
            reader.Error(samplesNode, $"search.samples {samples} is more than the {points:0} distinct points of the space ({string.Join(" x ", sizes)}); "
                + "an adaptive sampler proposes each point once: lower samples or widen the space");
    }

    /// <summary><c>name</c> or <c>{kind: name, option: value, ...}</c>, checked against the registry entry's options.</summary>
    private (T Entry, JsonObject Options)? ReadSearchComponent<T>(YNode node, global::Studies.Trials.Components.Registry<T> registry, string what)
        where T : global::Studies.Trials.Components.IComponentEntry
    {
        if (node is YScalar)
            return reader.Name(node, [.. registry.Names], what) is { } plain ? (registry.Get(plain), new JsonObject()) : null;
        if (node is not YMap map || map["kind"] is not { } kindNode)
        {
            reader.Error(node, $"{what} is a name ({Vocabulary.List(registry.Names)}) or {{kind: name, options...}}, got {NodeReader.Describe(node)}");
            return null;
        }
        if (reader.Name(kindNode, [.. registry.Names], $"{what}.kind") is not { } name) return null;
        var entry = registry.Get(name);
        var options = new JsonObject();
        reader.CheckDuplicates(map, "key");
        foreach (var (key, value) in map.Entries.Where(e => e.Key.Text != "kind").DistinctBy(e => e.Key.Text))
        {
            if (entry.Options.FirstOrDefault(o => o.Key == key.Text) is not { } option)
                reader.Error(key, $"'{key.Text}' is not an option of {registry.Kind} '{name}'"
                    + (entry.Options.Count == 0 ? " (it takes none)" : $"; valid: {Vocabulary.List(entry.Options.Select(o => o.Key))}"));
            else if (reader.Option(value, option, $"{what}.{key.Text}") is { } json) options[key.Text] = json;
        }
        return (entry, options);
    }

    /// <summary><c>objective: metric</c> or <c>objectives: [metric, metric]</c>; empty: the report's headline (filled in by the caller).</summary>
    private List<SearchObjective> ReadObjectives(YMap map)
    {
        if (map["objective"] is { } one && map["objectives"] is not null)
            reader.Error(one, "search has both 'objective' and 'objectives'; write one");
        var items = map["objectives"] is { } many ? many is YSeq seq ? seq.Items : [many] : map["objective"] is { } single ? [single] : [];
        if (items.Count > 2) reader.Error(map["objectives"]!, $"search takes one or two objectives, got {items.Count}");
        var objectives = new List<SearchObjective>();
        foreach (var item in items.Take(2))
        {
            if (reader.Name(item, Vocabulary.Metrics, "search objective") is not { } metric) continue;
            if (objectives.Any(o => o.Metric == metric)) reader.Error(item, $"search objective '{metric}' is given twice");
            else objectives.Add(new SearchObjective(metric, MetricDirection.HigherIsBetter(metric)));
        }
        return objectives;
    }

    private SearchParameter? ReadDistribution(YNode node, string name, IReadOnlyList<SearchParameter> earlier)
    {
        if (reader.Section(node, [.. Vocabulary.Distributions, "when"], $"search parameter '{name}'") is not { } map) return null;
        var kinds = map.Entries.Where(e => e.Key.Text != "when").ToList();
        if (kinds.Count != 1)
        {
            reader.Error(map, $"search parameter '{name}' needs exactly one distribution ({Vocabulary.List(Vocabulary.Distributions)})");
            return null;
        }
        var parameter = ReadDistributionKind(kinds[0].Key, kinds[0].Value);
        if (parameter is null || map["when"] is not { } whenNode) return parameter;
        return ReadCondition(whenNode, name, earlier) is { } condition ? parameter with { When = condition } : null;
    }

    /// <summary><c>when: {earlier-choice-path: [value, ...]}</c>: the parameter exists only for those values of an earlier choice.</summary>
    private SearchCondition? ReadCondition(YNode node, string name, IReadOnlyList<SearchParameter> earlier)
    {
        if (node is not YMap { Entries.Count: 1 } map)
        {
            reader.Error(node, $"search parameter '{name}': when is {{choice-path: [values]}} naming one earlier choice parameter, got {NodeReader.Describe(node)}");
            return null;
        }
        var (key, values) = map.Entries[0];
        var on = earlier.FirstOrDefault(p => p.Path.Text == key.Text && p.Distribution == SearchDistribution.Choice);
        if (on is null)
        {
            reader.Error(key, $"search parameter '{name}': when names '{key.Text}', which is not an earlier choice parameter of the space");
            return null;
        }
        var wanted = (values is YSeq seq ? seq.Items : [values]).Select(v => v.Display()).ToList();
        var indices = new List<int>();
        foreach (var (w, item) in wanted.Zip(values is YSeq s2 ? s2.Items : [values]))
        {
            var i = on.Choices.ToList().FindIndex(c => c.Display == w);
            if (i < 0) reader.Error(item, $"'{w}' is not a choice of '{key.Text}'; choices: {Vocabulary.List(on.Choices.Select(c => c.Display))}");
            else indices.Add(i);
        }
        return indices.Count == wanted.Count ? new SearchCondition(on.Path.Text, indices) : null;
    }

    private SearchParameter? ReadDistributionKind(YScalar kindKey, YNode args)
    {
        var placeholder = TreePath.TryParse("x")!;
        switch (kindKey.Text)
        {
            case "choice":
                if (args is YMap { Entries.Count: > 0 } named)
                {
                    // Named alternatives, as matrix variants: {bce: [...], punzi: [...]}; the name is what reports and `when` show.
                    reader.CheckDuplicates(named, "choice");
                    return new SearchParameter(placeholder, SearchDistribution.Choice, 0, 0,
                        named.Entries.DistinctBy(e => e.Key.Text).Select(e => new AxisValue(e.Key.Text, YamlJson.ToJson(e.Value)) { Node = e.Value }).ToList())
                        { Probes = named.Entries.Select(e => e.Value).ToList() };
                }
                if (args is not YSeq { Items.Count: > 0 } choices)
                {
                    reader.Error(args, $"choice needs a non-empty list of values (or a mapping of named alternatives), got {NodeReader.Describe(args)}");
                    return null;
                }
                return new SearchParameter(placeholder, SearchDistribution.Choice, 0, 0,
                    choices.Items.Select(c => new AxisValue(c.Display(), YamlJson.ToJson(c)) { Node = c }).ToList()) { Probes = choices.Items };
            case "loguniform" or "uniform" or "int":
                if (args is not YSeq { Items.Count: 2 } bounds)
                {
                    reader.Error(args, $"{kindKey.Text} needs two bounds [low, high], got {NodeReader.Describe(args)}");
                    return null;
                }
                var integer = kindKey.Text == "int";
                double? Bound(YNode b) => integer ? reader.Integer(b, "an int bound") : reader.Number(b, $"a {kindKey.Text} bound");
                if (Bound(bounds.Items[0]) is not { } low || Bound(bounds.Items[1]) is not { } high) return null;
                if (kindKey.Text == "loguniform" && (low <= 0 || high <= 0))
                {
                    reader.Error(low <= 0 ? bounds.Items[0] : bounds.Items[1], $"loguniform bounds must be positive, got [{NodeReader.Format(low)}, {NodeReader.Format(high)}]");
                    return null;
                }
                if (integer ? low > high : low >= high)
                {
                    reader.Error(bounds, low == high
                        ? $"{kindKey.Text} bounds are equal ({NodeReader.Format(low)}); use a fixed value in base instead"
                        : $"{kindKey.Text} bounds are reversed: low {NodeReader.Format(low)} is above high {NodeReader.Format(high)}");
                    return null;
                }
                var distribution = kindKey.Text switch { "loguniform" => SearchDistribution.LogUniform, "uniform" => SearchDistribution.Uniform, _ => SearchDistribution.Int };
                return new SearchParameter(placeholder, distribution, low, high, []) { Probes = bounds.Items };
            default:
                return null; // unknown key already reported
        }
    }

    private ResourcesSection ReadResources(YNode? node)
    {
        var resources = new ResourcesSection();
        if (NodeReader.IsNull(node) || reader.Section(node, Vocabulary.ResourcesKeys, "resources") is not { } map) return resources;
        if (map["executor"] is { } executor && reader.Name(executor, [.. ExecutorKinds.All.Names], "resources.executor") is { } executorName)
            resources = resources with { Executor = executorName };
        if (map["devices"] is { } devices && !IsAuto(devices))
        {
            if (devices is YSeq { Items.Count: > 0 } list)
            {
                var indices = list.Items.Select(i => reader.IntegerIn(i, "a CUDA device index", 0, 1023)).ToList();
                if (indices.All(i => i is not null))
                {
                    if (indices.Distinct().Count() != indices.Count) reader.Error(devices, "a CUDA device is listed twice in resources.devices");
                    else resources = resources with { Devices = indices.Select(i => (int)i!.Value).ToList() };
                }
            }
            else reader.Error(devices, $"resources.devices is 'auto' or a list of CUDA device indices, got {NodeReader.Describe(devices)}");
        }
        if (map["trials_per_device"] is { } t && reader.IntegerIn(t, "trials_per_device", 1, 1024) is { } perDevice)
            resources = resources with { TrialsPerDevice = (int)perDevice };
        if (map["threads_per_trial"] is { } th && reader.IntegerIn(th, "threads_per_trial", 1, 1024) is { } threads)
            resources = resources with { ThreadsPerTrial = (int)threads };
        if (map["cpu_workers"] is { } w && !IsAuto(w) && reader.IntegerIn(w, "cpu_workers", 1, 4096) is { } workers)
            resources = resources with { CpuWorkers = (int)workers };
        if (map["oversubscribe"] is { } o)
        {
            if (o is YScalar { Plain: true, Text: "true" or "false" } flag) resources = resources with { Oversubscribe = flag.Text == "true" };
            else reader.Error(o, $"resources.oversubscribe is true or false, got {NodeReader.Describe(o)}");
        }
        if (map["fuse"] is { } fuse && ReadFuse(fuse) is { } fusing) resources = resources with { Fuse = fusing };
        return resources with { Cluster = ReadCluster(map, resources.Executor) };
    }

    /// <summary><c>fuse: auto | off | K</c> (K from 1, which is off, to 1024 members a pack).</summary>
    private FuseSetting? ReadFuse(YNode node)
    {
        if (node is YScalar { Plain: true, Text: "auto" }) return FuseSetting.Auto;
        if (node is YScalar { Plain: true, Text: "off" or "false" }) return FuseSetting.Off;
        if (node is YScalar { Plain: true } scalar && long.TryParse(scalar.Text, System.Globalization.CultureInfo.InvariantCulture, out _))
            return reader.IntegerIn(node, "resources.fuse (members a pack)", 1, 1024) is { } k ? new FuseSetting((int)k) : null;
        reader.Error(node, $"resources.fuse is auto, off or the most trials a fused pack holds (a whole number), got {NodeReader.Describe(node)}");
        return null;
    }

    /// <summary>The Slurm keys of <c>resources</c>; an error where they are given to an executor that would ignore them.</summary>
    private ClusterRequest ReadCluster(YMap map, string executor)
    {
        var cluster = new ClusterRequest();
        foreach (var key in new[] { "partition", "gres", "time", "array_parallel", "sbatch_args" })
        {
            if (map[key] is { } node && executor != "slurm")
                reader.Error(node, $"resources.{key} is a Slurm setting: it needs resources.executor: slurm");
        }
        if (map["partition"] is { } p && !NodeReader.IsNull(p)) cluster = cluster with { Partition = reader.Text(p, "resources.partition") };
        if (map["gres"] is { } g && !NodeReader.IsNull(g)) cluster = cluster with { Gres = reader.Text(g, "resources.gres") };
        if (map["time"] is { } t && !NodeReader.IsNull(t)) cluster = cluster with { Time = reader.Text(t, "resources.time") };
        if (map["array_parallel"] is { } a && reader.IntegerAtLeast(a, "array_parallel", 1) is { } parallel)
            cluster = cluster with { ArrayParallel = (int)Math.Min(parallel, 10000) };
        if (map["sbatch_args"] is { } args && !NodeReader.IsNull(args))
        {
            if (args is YSeq list) cluster = cluster with { SbatchArgs = list.Items.Select(i => reader.Text(i, "an sbatch argument")).OfType<string>().ToList() };
            else reader.Error(args, $"resources.sbatch_args is a list of sbatch options, got {NodeReader.Describe(args)}");
        }
        return cluster;
    }

    private static bool IsAuto(YNode node) => node is YScalar { Plain: true, Text: "auto" } || NodeReader.IsNull(node);

    private RetriesSection ReadRetries(YNode? node)
    {
        var retries = new RetriesSection();
        if (NodeReader.IsNull(node) || reader.Section(node, Vocabulary.RetriesKeys, "retries") is not { } map) return retries;
        if (map["max"] is { } m && reader.IntegerAtLeast(m, "retries.max", 0) is { } max)
        {
            if (max > 100) reader.Error(m, $"retries.max above 100 is surely a typo, got {max}");
            else retries = retries with { Max = (int)max };
        }
        if (map["backoff"] is { } b && reader.NonNegative(b, "retries.backoff (seconds)") is { } backoff) retries = retries with { BackoffSeconds = backoff };
        return retries;
    }

    /// <summary><c>notify: {webhook: URL, command: CMD, on: [end, failure, divergence]}</c>: at least a webhook or a command.</summary>
    private NotifySettings? ReadNotify(YNode? node)
    {
        if (NodeReader.IsNull(node) || reader.Section(node, Vocabulary.NotifyKeys, "notify") is not { } map) return null;
        string? webhook = null, command = null;
        if (map["webhook"] is { } w && reader.Text(w, "notify.webhook") is { } url)
        {
            if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") webhook = url;
            else reader.Error(w, $"notify.webhook is an http:// or https:// address, got '{url}'");
        }
        if (map["command"] is { } c && reader.Text(c, "notify.command") is { Length: > 0 } text) command = text;
        var events = NotifySettings.AllEvents;
        if (map["on"] is { } on)
        {
            var items = on is YSeq seq ? seq.Items : [on];
            var chosen = new List<string>();
            foreach (var item in items)
                if (reader.Name(item, NotifySettings.AllEvents.ToArray(), "notify.on") is { } e) chosen.Add(e);
            events = chosen;
        }
        if (webhook is null && command is null)
        {
            if (map["webhook"] is null && map["command"] is null) reader.Error(node!, "notify needs a webhook (an http:// address) or a command, or both");
            return null;
        }
        return new NotifySettings(webhook, command, events);
    }

    private ReportSection ReadReport(YNode? node, List<MatrixAxis> matrix, SearchSection? search)
    {
        var axes = matrix.Select(a => a.Path.Text).Concat(search?.Space.Select(p => p.Path.Text) ?? []).ToArray();
        var report = new ReportSection(matrix.Where(a => a.Path.Text != "seed").Select(a => a.Path.Text).ToList(), MetricNames.SigmaMinBestCut);
        if (NodeReader.IsNull(node) || reader.Section(node, Vocabulary.ReportKeys, "report") is not { } map) return report;
        if (map["compare"] is { } compareNode)
        {
            var items = compareNode is YSeq seq ? seq.Items : [compareNode];
            var compare = new List<string>();
            foreach (var item in items)
            {
                if (reader.Text(item, "a report axis") is not { } axis) continue;
                if (axes.Contains(axis)) compare.Add(axis);
                else
                {
                    var closest = Vocabulary.Closest(axis, axes);
                    reader.Error(item, $"report.compare names '{axis}', which is not a matrix axis or search parameter"
                        + (closest is not null ? $", did you mean '{closest}'?" : axes.Length == 0 ? "" : $"; axes: {Vocabulary.List(axes)}"));
                }
            }
            report = report with { Compare = compare };
        }
        if (map["headline"] is { } h && reader.Name(h, Vocabulary.Metrics, "metric") is { } headline) report = report with { Headline = headline };
        return report;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex NamePattern();
}
