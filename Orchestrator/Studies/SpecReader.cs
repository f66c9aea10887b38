using System.Globalization;
using System.Text.Json.Nodes;
using Studies.Trials.Components;
using Studies.Trials.Data;
using Studies.Trials.Models;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Studies;

/// <summary>
/// Turns one expanded trial tree (base with matrix values and search samples substituted) into a
/// <see cref="TrialSpec"/>, reporting every problem with its position in the study file.
/// </summary>
internal sealed class SpecReader(NodeReader reader, string studyDirectory, int threads)
{
    private readonly Dictionary<string, FileKind> _fileExists = new(StringComparer.Ordinal);

    /// <summary>The spec, or null when this tree has an error (already reported).</summary>
    public TrialSpec? Read(YMap trial)
    {
        var before = reader.Diagnostics.Count;
        // Root keys were checked where they were written: base keys by the study reader, matrix and search paths by TreePaths.
        var map = trial;

        // A missing data section is reported once by the study reader, not once per trial.
        var data = map["data"] is { } dataNode ? ReadData(dataNode, out _) : null;
        var model = ReadModel(map["model"]);
        var schedule = ReadSchedule(map["schedule"], map.Position);
        ulong seed = 1;
        if (map["seed"] is { } seedNode && reader.IntegerAtLeast(seedNode, "seed", 0) is { } s) seed = (ulong)s;
        var device = "cpu";
        if (map["device"] is { } deviceNode && reader.Text(deviceNode, "device") is { } d)
        {
            if (d is "cpu" or "cuda" || (d.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(d[5..], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                device = d;
            else reader.Error(deviceNode, $"unknown device '{d}'; valid: cpu, cuda, cuda:N");
        }
        var evaluation = ReadEvaluation(map["evaluation"]);
        if (model?.Kind == Trials.Boosting.BdtTrainer.Kind) CheckBoosting(map, schedule, device);

        if (reader.Diagnostics.Count != before || data is null || model is null || schedule is null || evaluation is null) return null;
        return new TrialSpec
        {
            Data = data, Model = model, Schedule = schedule, Seed = seed, Device = device, Threads = threads, Evaluation = evaluation,
        };
    }

    // ---- data ----------------------------------------------------------------------------------

    public DataSpec? ReadData(YNode node, out IReadOnlyList<double>? massGrid)
    {
        massGrid = null;
        var before = reader.Diagnostics.Count;
        if (reader.Section(node, Vocabulary.DataKeys, "data") is not { } map) return null;
        var sources = reader.Components.Catalog.DataSources;
        string? source = null;
        if (map["source"] is { } sourceNode) source = reader.Name(sourceNode, reader.Components.Sources, "data source");
        else reader.Error(map, $"data needs a 'source' ({Vocabulary.List(reader.Components.Sources)})");
        var entry = source is not null && sources.TryGet(source, out var e) ? e : null;

        var options = new JsonObject();
        if (map["options"] is { } optionsNode && !NodeReader.IsNull(optionsNode))
        {
            if (optionsNode is not YMap optionsMap) reader.Error(optionsNode, $"expected a mapping for data.options, got {NodeReader.Describe(optionsNode)}");
            else options = ReadOptions(optionsMap, entry, out massGrid);
        }
        foreach (var required in entry?.Options.Where(o => o.Required && !options.ContainsKey(o.Key)) ?? [])
            reader.Error(map["source"]!, required.Type == OptionType.Path
                ? $"data source '{source}' reads a file: give its path as options.{required.Key}"
                : $"data source '{source}' needs options.{required.Key}: {required.Doc}");

        var holdout = HoldoutSpec.None;
        if (map["holdout"] is { } holdoutNode) holdout = ReadHoldout(holdoutNode, massGrid) ?? HoldoutSpec.None;

        var split = new SplitSpec();
        if (map["split"] is { } splitNode) split = ReadSplit(splitNode) ?? split;

        double? massScale = null;
        if (map["mass_scale"] is { } scaleNode && !(NodeReader.IsNull(scaleNode) || scaleNode is YScalar { Plain: true, Text: "auto" }))
            massScale = reader.Positive(scaleNode, "mass_scale");

        if (reader.Diagnostics.Count != before || source is null) return null;
        return new DataSpec { Source = source, Options = options, Holdout = holdout, Split = split, MassScale = massScale };
    }

    /// <summary>
    /// Options go to the data source as written, except two normalisations: <c>path</c> becomes an
    /// absolute path (resolved against the study file's folder, so workers need not know it), and
    /// <c>masses</c> becomes the explicit sorted list (so a range and the list it spans are the same trial).
    /// </summary>
    private JsonObject ReadOptions(YMap map, DataSourceEntry? source, out IReadOnlyList<double>? massGrid)
    {
        massGrid = null;
        // Keys and values are checked against the source's option schema here, so a typo is found
        // at validation with its position rather than when a trial loads the data.
        if (source is not null) reader.Section(map, source.Options.Select(o => o.Key).ToArray(), $"the options of data source '{source.Name}'");
        else reader.CheckDuplicates(map, "key");
        var options = new JsonObject();
        foreach (var (key, value) in map.Entries.DistinctBy(e => e.Key.Text))
        {
            var spec = source?.Options.FirstOrDefault(o => o.Key == key.Text);
            if (source is not null && spec is null) continue; // unknown key, reported above
            switch (spec?.Type)
            {
                case OptionType.Path:
                    if (reader.Text(value, "options.path") is { } path)
                    {
                        var full = Path.GetFullPath(Path.Combine(studyDirectory, path));
                        if (!_fileExists.TryGetValue(full, out var kind)) _fileExists[full] = kind = FileKinds.Of(full);
                        if (kind == FileKind.Missing) reader.Error(value, $"data file '{path}' not found (looked for {full})");
                        else if (kind != FileKind.Regular) reader.Error(value, $"data file '{path}' is {kind.Describe()}, not a regular file ({full})");
                        options[key.Text] = full;
                    }
                    break;
                case OptionType.Masses:
                    massGrid = ReadMassGrid(value);
                    if (massGrid is not null) options[key.Text] = new JsonArray(massGrid.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray());
                    break;
                default:
                    // Stored as written (not as the schema's normalised value): the spec, and so the
                    // trial id, of every recorded study must stay what it was.
                    if (spec is not null) reader.Option(value, spec, $"data.options.{key.Text}");
                    options[key.Text] = YamlJson.ToJson(value);
                    break;
            }
        }
        return options;
    }

    private IReadOnlyList<double>? ReadMassGrid(YNode node)
    {
        const int maxMasses = 100_000;
        if (node is YSeq seq)
        {
            if (seq.Items.Count == 0)
            {
                reader.Error(node, "options.masses is empty");
                return null;
            }
            var masses = new List<double>();
            foreach (var item in seq.Items)
            {
                if (reader.Number(item, "a mass") is not { } m) continue;
                if (masses.Any(x => SameMass(x, m))) reader.Error(item, $"mass {NodeReader.Format(m)} is listed twice");
                else masses.Add(m);
            }
            return masses.Count == seq.Items.Count ? masses.Order().ToList() : null;
        }
        if (reader.Section(node, ["from", "to", "step"], "a mass range") is not { } range) return null;
        double? Get(string key)
        {
            if (range[key] is { } n) return reader.Number(n, $"masses.{key}");
            reader.Error(range, $"a mass range needs '{key}' (from, to, step)");
            return null;
        }
        var (from, to, step) = (Get("from"), Get("to"), Get("step"));
        if (from is null || to is null || step is null) return null;
        if (step <= 0)
        {
            reader.Error(range["step"]!, $"masses.step must be positive, got {NodeReader.Format(step.Value)}");
            return null;
        }
        if (to < from)
        {
            reader.Error(range["to"]!, $"masses.to ({NodeReader.Format(to.Value)}) is below masses.from ({NodeReader.Format(from.Value)})");
            return null;
        }
        var count = (long)Math.Floor((to.Value - from.Value) / step.Value + 1e-9) + 1;
        if (count > maxMasses)
        {
            reader.Error(range, $"the mass range spans {count} masses; at most {maxMasses}");
            return null;
        }
        // Rounded so that 0.1 + 2 * 0.2 is written (and hashed) as 0.5, not 0.5000000000000001.
        return Enumerable.Range(0, (int)count).Select(i => Math.Round(from.Value + i * step.Value, 10)).ToList();
    }

    /// <summary>The data layer's rule, so the study file and the data sources agree on which masses are one hypothesis.</summary>
    public static bool SameMass(double a, double b) => global::Studies.Trials.Data.MassGrid.Same(a, b);

    private HoldoutSpec? ReadHoldout(YNode node, IReadOnlyList<double>? grid)
    {
        if (node is YSeq seq)
        {
            var masses = new List<double>();
            foreach (var item in seq.Items)
            {
                if (reader.Number(item, "a held-out mass") is not { } m) continue;
                if (grid is not null && !grid.Any(g => SameMass(g, m)))
                    reader.Error(item, $"holdout mass {NodeReader.Format(m)} is not in the mass grid ({Summarise(grid)})");
                else if (masses.Any(x => SameMass(x, m))) reader.Error(item, $"holdout mass {NodeReader.Format(m)} is listed twice");
                else masses.Add(m);
            }
            if (grid is not null && masses.Count == grid.Count && masses.Count == seq.Items.Count)
                reader.Error(node, "every mass of the grid is held out; keep at least one for training");
            return masses.Count == 0 ? HoldoutSpec.None : HoldoutSpec.List([.. masses.Order()]);
        }
        if (node is YScalar { Plain: true, Text: "none" or "every-second" } keyword)
            return keyword.Text == "none" ? HoldoutSpec.None : HoldoutSpec.EverySecond;
        var closest = node is YScalar s ? Vocabulary.Closest(s.Text, ["none", "every-second"]) : null;
        reader.Error(node, $"unknown holdout {NodeReader.Describe(node)}{(closest is null ? "" : $", did you mean '{closest}'?")}; "
            + "valid: none, every-second, or a list of masses");
        return null;
    }

    private static string Summarise(IReadOnlyList<double> grid) => grid.Count <= 6
        ? string.Join(", ", grid.Select(NodeReader.Format))
        : $"{NodeReader.Format(grid[0])}, {NodeReader.Format(grid[1])}, {NodeReader.Format(grid[2])}, ..., {NodeReader.Format(grid[^1])}; {grid.Count} masses";

    private SplitSpec? ReadSplit(YNode node)
    {
        if (reader.Section(node, Vocabulary.SplitKeys, "data.split") is not { } map) return null;
        var defaults = new SplitSpec();
        double Fraction(string key, double fallback) =>
            map[key] is { } n ? reader.NumberIn(n, $"split.{key}", 0, true, 1, true) ?? double.NaN : fallback;
        var split = new SplitSpec(Fraction("train", defaults.Train), Fraction("validation", defaults.Validation), Fraction("test", defaults.Test));
        if (double.IsNaN(split.Train + split.Validation + split.Test)) return null;
        if (split.Train == 0)
        {
            reader.Error(map["train"]!, "split.train must be positive");
            return null;
        }
        var sum = split.Train + split.Validation + split.Test;
        if (Math.Abs(sum - 1) > 1e-9)
        {
            reader.Error(map, $"split fractions must sum to 1, got {NodeReader.Format(Math.Round(sum, 12))} "
                + $"(train {NodeReader.Format(split.Train)} + validation {NodeReader.Format(split.Validation)} + test {NodeReader.Format(split.Test)}; unset ones default to 0.6/0.2/0.2)");
            return null;
        }
        return split;
    }

    // ---- model ---------------------------------------------------------------------------------

    /// <summary>
    /// Defaults come from the kind's registry entry (methods.md section 2): whatever the study writes
    /// overrides them, also when the kind comes from a matrix axis.
    /// </summary>
    private ModelSpec? ReadModel(YNode? node)
    {
        var before = reader.Diagnostics.Count;
        var names = reader.Components;
        var map = NodeReader.IsNull(node) ? new YMap(node?.Position ?? default, []) : reader.Section(node, names.ModelKeys, "model");
        if (map is null) return null;
        var kind = map["kind"] is { } kindNode ? reader.Name(kindNode, names.ModelKinds, "model kind") : "dnn";
        if (kind is null) return null;
        var entry = names.Catalog.Models.Get(kind);
        var model = entry.Defaults;
        if (map[DefaultsKey] is { } defaultsNode)
        {
            var defaults = reader.Name(defaultsNode, ["kind", "common"], "model defaults");
            if (defaults is null) return null;
            if (defaults == "common") model = CommonDefaults(model, entry);
        }

        foreach (var (key, value) in map.Entries.DistinctBy(e => e.Key.Text))
        {
            if (key.Text is "kind" or DefaultsKey || !names.ModelKeys.Contains(key.Text)) continue;
            if (entry.Options.FirstOrDefault(o => o.Key == key.Text) is not { } option)
            {
                if (NodeReader.IsNull(value)) continue;
                var takers = names.Catalog.Models.Entries.Where(m => m.Options.Any(o => o.Key == key.Text)).Select(m => m.Name).ToList();
                reader.Error(value, key.Text == "conditioning"
                    ? $"conditioning applies to parametric models ({Vocabulary.List(names.ParametricKinds)}), not to '{kind}'"
                    : $"'{key.Text}' is not an option of model kind '{kind}'; it applies to {Vocabulary.List(takers)}");
                continue;
            }
            switch (key.Text)
            {
                case "hidden":
                    if (ReadHidden(value) is { } hidden) model = model with { Hidden = hidden };
                    break;
                case "conditioning":
                    if (!NodeReader.IsNull(value)) model = model with { Conditioning = ReadConditioning(value, option, entry.OwnConditioning!) };
                    break;
                default:
                    if (reader.Option(value, option, key.Text) is not { } json) break;
                    model = key.Text switch
                    {
                        "activation" => model with { Activation = json.GetValue<string>() },
                        "dropout" => model with { Dropout = json.GetValue<double>() },
                        "weight_init" => model with { WeightInit = json.GetValue<string>() },
                        "bias_init" => model with { BiasInit = json.GetValue<string>() },
                        "background_mass" => model with { BackgroundMass = json.GetValue<string>() },
                        "background_mass_mode" => model with { BackgroundMassMode = json.GetValue<string>() },
                        "balance" => model with { Balance = json.GetValue<string>() },
                        "l2_kernel" => model with { L2Kernel = json.GetValue<double>() },
                        "l2_bias" => model with { L2Bias = json.GetValue<double>() },
                        "standardize" => model with { Standardize = json.GetValue<bool>() },
                        "mass_encoding" => model with { MassEncoding = json.GetValue<string>() },
                        "trees" => model with { Boosting = model.Boosting! with { Trees = (int)json.GetValue<long>() } },
                        "depth" => model with { Boosting = model.Boosting! with { Depth = (int)json.GetValue<long>() } },
                        "learning_rate" => model with { Boosting = model.Boosting! with { LearningRate = json.GetValue<double>() } },
                        "leaves" => model with { Boosting = model.Boosting! with { Leaves = (int)json.GetValue<long>() } },
                        "min_events_per_leaf" => model with { Boosting = model.Boosting! with { MinEventsPerLeaf = (int)json.GetValue<long>() } },
                        "bins" => model with { Boosting = model.Boosting! with { Bins = (int)json.GetValue<long>() } },
                        "per_mass" => model with { Boosting = model.Boosting! with { PerMass = json.GetValue<bool>() } },
                        _ => throw new InvalidOperationException($"model option '{key.Text}' has a schema but no field in ModelSpec"),
                    };
                    break;
            }
        }
        // The encoding (written, or the kind's default) is stored only where it differs from the
        // legacy rule: a model that encodes the mass as every release before did keeps its trial id.
        if (entry.Parametric) model = MassEncodings.Normalized(model);
        return reader.Diagnostics.Count == before ? model : null;
    }

    /// <summary>
    /// A bdt boosts the log-loss on the CPU: its schedule is one bce phase, of which it reads
    /// <c>keep_best</c>, <c>early_stopping</c> (over boosting rounds) and <c>loss_options</c> (the event
    /// weighting); a plateau (a learning-rate schedule) has nothing to act on, so it is an error.
    /// </summary>
    private void CheckBoosting(YMap trial, IReadOnlyList<PhaseSpec>? schedule, string device)
    {
        var at = (YNode?)trial["model"] ?? trial;
        if (schedule is not null && (schedule.Count != 1 || schedule[0].Loss != "bce"))
            reader.Error(trial["schedule"] ?? at, $"model kind 'bdt' boosts the log-loss: its schedule must be one bce phase (keep_best, early_stopping and loss_options apply to its boosting rounds), got {string.Join(", then ", schedule.Select(p => p.Loss))}");
        else if (schedule is [{ Plateau: not null }])
            reader.Error(trial["schedule"] ?? at, "model kind 'bdt' has no learning-rate schedule: remove plateau from its bce phase");
        if (device != "cpu")
            reader.Error(trial["device"] ?? at, $"model kind 'bdt' trains on the CPU only (LightGBM through ML.NET); give its trials device: cpu, not '{device}'");
    }

    /// <summary><c>model: {defaults: common}</c>: every kind starts from the same settings instead of its own reference.</summary>
    public const string DefaultsKey = "defaults";

    /// <summary>
    /// The plain net's reference (hidden [8, 4], tanh, no dropout, Kaiming-normal weights, N(0, 1)
    /// biases) for whichever of these settings the kind has, so compared kinds differ only in how
    /// they use the mass (issue 28). The initialisers stay null where that is already the kind's
    /// own reference (dnn, per-mass), so those trials keep the ids they have without the option.
    /// </summary>
    private static ModelSpec CommonDefaults(ModelSpec kindDefaults, ModelEntry entry)
    {
        var common = new ModelSpec();
        bool Has(string option) => entry.Options.Any(o => o.Key == option);
        var model = kindDefaults;
        if (Has("hidden")) model = model with { Hidden = common.Hidden };
        if (Has("activation")) model = model with { Activation = common.Activation };
        if (Has("dropout")) model = model with { Dropout = common.Dropout };
        var plainInit = entry.Name is "dnn" or "per-mass";
        if (Has("weight_init")) model = model with { WeightInit = plainInit ? null : "kaiming-normal" };
        if (Has("bias_init")) model = model with { BiasInit = plainInit ? null : "normal" };
        return model;
    }

    private IReadOnlyList<int>? ReadHidden(YNode node)
    {
        if (node is not YSeq seq)
        {
            reader.Error(node, $"expected a list of layer widths for hidden (e.g. [8, 4]), got {NodeReader.Describe(node)}");
            return null;
        }
        // hidden: [] is the linear model (one dense layer from the inputs to the output score).
        var widths = seq.Items.Select(i => reader.IntegerAtLeast(i, "a layer width", 1)).ToList();
        if (widths.Any(w => w is null)) return null;
        if (widths.Any(w => w > 1_000_000))
        {
            reader.Error(node, "a layer width above 1,000,000 is surely a typo");
            return null;
        }
        return widths.Select(w => (int)w!.Value).ToArray();
    }

    /// <summary>The kind's own conditioning is stored as null, so writing it out does not change the trial's identity.</summary>
    private ConditioningSpec? ReadConditioning(YNode node, OptionSpec option, ConditioningSpec own)
    {
        if (reader.Section(node, option.Fields.Select(f => f.Key).ToArray(), "model.conditioning") is not { } map) return null;
        string? Field(string key, string fallback) =>
            map[key] is { } n ? reader.Option(n, option.Fields.First(f => f.Key == key), $"conditioning {key}")?.GetValue<string>() : fallback;
        var method = Field("method", own.Method);
        var place = Field("place", own.Place);
        if (method is null || place is null) return null;
        var spec = new ConditioningSpec(method, place);
        return spec == own ? null : spec;
    }

    // ---- schedule ------------------------------------------------------------------------------

    private IReadOnlyList<PhaseSpec>? ReadSchedule(YNode? node, SourcePosition trialPosition)
    {
        if (node is null)
        {
            reader.Diagnostics.Error(trialPosition, "base needs a 'schedule': a list of training phases");
            return null;
        }
        if (node is not YSeq seq)
        {
            reader.Error(node, $"expected a list of phases for schedule, got {NodeReader.Describe(node)}");
            return null;
        }
        if (seq.Items.Count == 0)
        {
            reader.Error(node, "schedule needs at least one phase");
            return null;
        }
        var phases = seq.Items.Select(ReadPhase).ToList();
        return phases.Any(p => p is null) ? null : phases.Select(p => p!).ToList();
    }

    private PhaseSpec? ReadPhase(YNode node)
    {
        var before = reader.Diagnostics.Count;
        var names = reader.Components;
        if (reader.Section(node, names.PhaseKeys, "a schedule phase") is not { } map) return null;
        string? loss = null;
        if (map["loss"] is { } lossNode) loss = reader.Name(lossNode, names.Losses, "loss");
        else reader.Error(map, $"a phase needs a 'loss' ({Vocabulary.List(names.Losses)})");
        int? epochs = null;
        if (map["epochs"] is { } epochsNode) epochs = reader.IntAtLeast(epochsNode, "epochs", 1);
        else reader.Error(map, "a phase needs 'epochs'");

        var phase = new PhaseSpec { Loss = loss ?? names.Losses[0], Epochs = epochs ?? 1 };
        if (map["optimizer"] is { } o && reader.Name(o, names.Optimizers, "optimizer") is { } optimizer) phase = phase with { Optimizer = optimizer };
        if (map["lr"] is { } l && reader.Positive(l, "lr") is { } lr) phase = phase with { LearningRate = lr };
        if (map["momentum"] is { } mo && reader.NumberIn(mo, "momentum", 0, true, 1, false) is { } momentum)
        {
            if (momentum > 0 && phase.Optimizer != "sgd") reader.Error(mo, $"momentum applies to the sgd optimizer, not to '{phase.Optimizer}'");
            phase = phase with { Momentum = momentum };
        }
        if (map["weight_decay"] is { } wd && reader.NonNegative(wd, "weight_decay") is { } weightDecay) phase = phase with { WeightDecay = weightDecay };
        if (map["batch"] is { } batchNode)
        {
            if (batchNode is YScalar { Plain: true, Text: "full" }) phase = phase with { Batch = null };
            else if (batchNode is YScalar { Plain: true } bs && YScalar.LooksInteger(bs.Text))
            {
                if (reader.IntAtLeast(batchNode, "batch", 1) is { } b) phase = phase with { Batch = b };
            }
            else reader.Error(batchNode, $"expected a batch size or 'full', got {NodeReader.Describe(batchNode)}");
        }
        if (map["plateau"] is { } pl && !IsOff(pl)) phase = phase with { Plateau = ReadPlateau(pl) };
        if (map["early_stopping"] is { } es && !IsOff(es)) phase = phase with { EarlyStopping = ReadEarlyStopping(es) };
        if (map["keep_best"] is { } kb && !IsOff(kb)) phase = phase with { KeepBest = reader.Name(kb, Vocabulary.Metrics, "metric") };
        phase = phase with { LossOptions = ReadLossOptions(map, loss) };
        return reader.Diagnostics.Count == before && loss is not null && epochs is not null ? phase : null;
    }

    private static bool IsOff(YNode node) => NodeReader.IsNull(node) || node is YScalar { Plain: true, Text: "none" or "false" or "off" };

    private PlateauSpec? ReadPlateau(YNode node)
    {
        if (node is YScalar { Plain: true, Text: "true" or "on" }) return new PlateauSpec();
        if (reader.Section(node, Vocabulary.PlateauKeys, "plateau") is not { } map) return null;
        var plateau = new PlateauSpec();
        if (map["factor"] is { } f && reader.NumberIn(f, "plateau.factor", 0, false, 1, false) is { } factor) plateau = plateau with { Factor = factor };
        if (map["patience"] is { } p && reader.IntAtLeast(p, "plateau.patience", 1) is { } patience) plateau = plateau with { Patience = patience };
        if (map["min_lr"] is { } m && reader.NonNegative(m, "plateau.min_lr") is { } minLr) plateau = plateau with { MinLearningRate = minLr };
        if (map["monitor"] is { } mon && reader.Name(mon, Vocabulary.PlateauMonitors, "plateau.monitor") is { } monitor) plateau = plateau with { Monitor = monitor };
        return plateau;
    }

    private EarlyStoppingSpec? ReadEarlyStopping(YNode node)
    {
        if (node is YScalar { Plain: true, Text: "true" or "on" }) return new EarlyStoppingSpec();
        var names = reader.Components;
        if (reader.Section(node, names.EarlyStoppingKeys, "early_stopping") is not { } map) return null;
        var stopping = new EarlyStoppingSpec();
        if (map["patience"] is { } p && reader.IntAtLeast(p, "early_stopping.patience", 1) is { } patience) stopping = stopping with { Patience = patience };
        if (map["metric"] is { } m && reader.Name(m, Vocabulary.Metrics, "metric") is { } metric) stopping = stopping with { Metric = metric };
        StoppingRuleEntry? rule = names.Catalog.StoppingRules.Entries[0];
        // The default rule is left out of the spec (null), as every trial before rules could be chosen was recorded.
        if (map["rule"] is { } r)
        {
            rule = reader.Name(r, names.StoppingRules, "early_stopping.rule") is { } name ? names.Catalog.StoppingRules.Get(name) : null;
            if (rule is not null && rule != names.Catalog.StoppingRules.Entries[0]) stopping = stopping with { Rule = rule.Name };
        }
        var options = new JsonObject();
        foreach (var (key, value) in map.Entries.Where(e => !Vocabulary.EarlyStoppingOwnKeys.Contains(e.Key.Text)))
        {
            if (rule is null) continue; // an unknown rule: reported already
            if (rule.Options.FirstOrDefault(o => o.Key == key.Text) is not { } option)
                reader.Error(key, $"'{key.Text}' is not an option of early-stopping rule '{rule.Name}'"
                    + (rule.Options.Count == 0 ? " (it takes none besides patience and metric)" : $"; valid: {Vocabulary.List(rule.Options.Select(o => o.Key))}"));
            else if (reader.Option(value, option, $"early_stopping.{key.Text}") is { } json) options[key.Text] = json;
        }
        return options.Count > 0 ? stopping with { Options = options } : stopping;
    }

    /// <summary>Loss options come from <c>loss_options</c> and from loss-specific keys written in the phase itself; the loss's registry entry says which and what they hold.</summary>
    private JsonObject ReadLossOptions(YMap phase, string? loss)
    {
        var names = reader.Components;
        var options = new JsonObject();
        var schema = loss is null ? null : names.Catalog.Losses.Get(loss).Options;
        var entries = phase.Entries.Where(e => names.AllLossOptionKeys.Contains(e.Key.Text)).ToList();
        if (phase["loss_options"] is { } nested && !NodeReader.IsNull(nested))
        {
            if (schema is null) reader.Section(nested, names.AllLossOptionKeys, "loss_options");
            else if (nested is not YMap nestedMap) reader.Error(nested, $"expected a mapping for loss_options, got {NodeReader.Describe(nested)}");
            else
            {
                reader.CheckDuplicates(nestedMap, "key");
                entries.AddRange(nestedMap.Entries.DistinctBy(e => e.Key.Text));
            }
        }
        foreach (var (key, value) in entries)
        {
            if (schema is null) continue; // the loss is missing or unknown: reported already
            if (schema.FirstOrDefault(o => o.Key == key.Text) is not { } option)
            {
                var valid = schema.Select(o => o.Key).ToArray();
                var closest = names.AllLossOptionKeys.Contains(key.Text) ? null : Vocabulary.Closest(key.Text, valid);
                reader.Error(key, schema.Count == 0 ? $"loss '{loss}' takes no options, got '{key.Text}'"
                    : closest is not null ? $"unknown option '{key.Text}' of loss '{loss}', did you mean '{closest}'?"
                    : $"'{key.Text}' is not an option of loss '{loss}'; valid: {Vocabulary.List(valid)}");
                continue;
            }
            if (options.ContainsKey(key.Text))
            {
                reader.Error(key, $"loss option '{key.Text}' is given twice (in the phase and in loss_options)");
                continue;
            }
            var what = option.Type == OptionType.Choice ? $"{loss} {key.Text}" : $"loss option '{key.Text}'";
            if (reader.Option(value, option, what) is { } json) options[key.Text] = json;
        }
        return options;
    }

    // ---- evaluation ----------------------------------------------------------------------------

    private EvaluationSpec? ReadEvaluation(YNode? node)
    {
        var evaluation = new EvaluationSpec();
        if (NodeReader.IsNull(node)) return evaluation;
        if (reader.Section(node, Vocabulary.EvaluationKeys, "evaluation") is not { } map) return null;
        if (map["validation_every"] is { } v && reader.IntAtLeast(v, "validation_every", 0) is { } every) evaluation = evaluation with { ValidationEvery = every };
        if (map["min_background_yield"] is { } y && reader.NonNegative(y, "min_background_yield") is { } yield) evaluation = evaluation with { MinBackgroundYield = yield };
        if (map["min_background_events"] is { } be && reader.IntegerAtLeast(be, "min_background_events", 0) is { } events) evaluation = evaluation with { MinBackgroundEvents = (int)Math.Min(events, int.MaxValue) };
        if (map["min_signal_efficiency"] is { } e && reader.NumberIn(e, "min_signal_efficiency", 0, true, 1, true) is { } efficiency) evaluation = evaluation with { MinSignalEfficiency = efficiency };
        // 0 is no uncertainty, which is what leaving it out means: stored as null, so the trial keeps its id.
        if (map["background_uncertainty"] is { } u && reader.NonNegative(u, "background_uncertainty") is { } relative)
            evaluation = evaluation with { BackgroundUncertainty = relative > 0 ? relative : null };
        return evaluation;
    }
}
