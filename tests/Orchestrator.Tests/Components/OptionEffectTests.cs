using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Trials.Catalog;
using Studies.Trials.Components;
using Studies.Trials.Fusion;
using Studies.Trials.Data;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Tests.Components;

/// <summary>
/// Issue 20: an option that is parsed and stored but never read is a bug (window_center was one).
/// This walks every documented option (every option of the component registry, which generates
/// docs/study-format.md's tables, and the hand-written phase and evaluation tables) and checks that
/// writing it changes what a trial computes: the loaded data for data-source options, the trained
/// result (per-epoch metrics and per-mass metrics) for everything else. Each option has one
/// alternative value below; an option without one fails the test, so a new option must show its
/// effect here.
/// </summary>
public sealed class OptionEffectTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("option-effects-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    // ---- the walker ------------------------------------------------------------------------------

    /// <summary>The options among <paramref name="cases"/> whose alternative leaves the fingerprint unchanged.</summary>
    internal static IReadOnlyList<string> WithoutEffect(IEnumerable<(string Option, string Base, string Changed)> cases, Func<string, string> fingerprint) =>
        cases.Where(c => fingerprint(c.Base) == fingerprint(c.Changed)).Select(c => c.Option).ToList();

    /// <summary>Everything a trial reads from its data: events, splits, masses, windows, yields.</summary>
    internal static string DataFingerprint(DataSpec spec, Registry<DataSourceEntry>? sources = null)
    {
        var data = new TrialDataProvider(sources).Load(spec, 7);
        var text = new StringBuilder();
        void Add<T>(string name, IEnumerable<T>? values) => text.Append(name).Append(':').AppendJoin(',', values ?? []).Append(';');
        Add("features", data.Features);
        Add("signal", data.IsSignal);
        Add("mass", data.Mass);
        Add("process", data.Process);
        Add("names", data.ProcessNames);
        Add("weight", data.Weight);
        Add("window", data.Window);
        Add("train", data.Train);
        Add("validation", data.Validation);
        Add("test", data.Test);
        Add("trained", data.TrainedMasses);
        Add("heldout", data.HeldoutMasses);
        Add("generated", data.GeneratedPerMass.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value}"));
        Add("xsec", data.CrossSections.OrderBy(p => p.Key).Select(p => $"{p.Key}={p.Value}"));
        Add("yield", [data.Luminosity, data.SignalYieldPerEfficiency]);
        // Units a file declares reach the reports only (a mass unit changes no event).
        Add("units", [global::Studies.Reports.Input.StudyUnits.FromData(spec).Mass]);
        if (data.Windows is { } windows) Add("windows", data.AllMasses.Select(m => $"{windows.Center(m)}/{windows.Width(m)}"));
        if (data.OptimalScores is { } optimal)
            Add("optimal", data.AllMasses.SelectMany(m => optimal(data.Test.Take(20).ToArray(), m)));
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>What a trained trial reports: every epoch's metrics (not times) and every per-mass metric.</summary>
    internal static string TrialFingerprint(TrialSpec spec)
    {
        var result = new TrialRunner(new TrialDataProvider(), new PhaseLossFactory(), new MassEvaluator())
            .Run(spec, new TrialRunOptions(), CancellationToken.None);
        Assert.True(result.Outcome == TrialOutcome.Completed, result.Error);
        var text = new StringBuilder();
        foreach (var epoch in result.Epochs)
            text.Append($"{epoch.Phase}/{epoch.Epoch}:").AppendJoin(',', epoch.Metrics.Where(m => !m.Key.Contains("second")).OrderBy(m => m.Key).Select(m => $"{m.Key}={m.Value:R}")).Append(';');
        foreach (var mass in result.Masses)
            text.Append($"{mass}").Append(';');
        foreach (var mass in result.Masses)
            text.AppendJoin(',', mass.Metrics.OrderBy(m => m.Key).Select(m => $"{m.Key}={m.Value:R}")).Append(';');
        return text.ToString();
    }

    // ---- the walker catches an option nobody reads -----------------------------------------------

    /// <summary>A source that declares `ignored` and never reads it, beside `events`, which it reads.</summary>
    private sealed class LeakySource : IDataSource
    {
        public string Name => "leaky";

        public EventSet Load(JsonObject options, ulong seed)
        {
            var o = new DataOptions(Name, options, ["events", "ignored"]);
            return new GaussianToy().Generate([-1, 1], o.PositiveInt("events", 50), 100, seed);
        }

        public IBayesOptimal? BayesOptimal(JsonObject options) => null;
    }

    [Fact]
    public void The_walker_reports_an_option_that_is_declared_but_never_read()
    {
        var entry = new DataSourceEntry("leaky", "test", [OptionSpec.Count("events", "read"), OptionSpec.Count("ignored", "never read")], new LeakySource());
        var sources = ComponentCatalog.BuiltIn.DataSources.With(entry);
        string Fingerprint(string options) => DataFingerprint(new DataSpec { Source = "leaky", Options = JsonNode.Parse(options)!.AsObject() }, sources);
        var silent = WithoutEffect(
            [("events", "{}", "{\"events\": 60}"), ("ignored", "{}", "{\"ignored\": 60}")], Fingerprint);
        Assert.Equal(["ignored"], silent);
    }

    // ---- every documented option -----------------------------------------------------------------

    /// <summary>Alternatives for each data source's options, written into a small base set of options.</summary>
    private Dictionary<string, (string Base, Dictionary<string, string> Changes)> DataCases()
    {
        var (first, second) = (WriteCsv("a.csv", 1), WriteCsv("b.csv", 2));
        string Csv(string path) => $$"""{"path": "{{path}}", "columns": {"features": ["x", "y"], "weight": "w", "process": "proc", "window": "v"}, "window_width": 1}""";
        return new()
        {
            ["gaussian-toy"] = ("""{"masses": [-1, 0, 1], "events_per_mass": 200}""", new()
            {
                ["masses"] = """{"masses": [-1, 1], "events_per_mass": 200}""",
                ["events_per_mass"] = """{"masses": [-1, 0, 1], "events_per_mass": 150}""",
                ["background_events"] = """{"masses": [-1, 0, 1], "events_per_mass": 200, "background_events": 300}""",
                ["width"] = """{"masses": [-1, 0, 1], "events_per_mass": 200, "width": 0.5}""",
                ["background_range"] = """{"masses": [-1, 0, 1], "events_per_mass": 200, "background_range": [-3, 3]}""",
                ["seed"] = """{"masses": [-1, 0, 1], "events_per_mass": 200, "seed": 99}""",
                ["validation_scale"] = """{"masses": [-1, 0, 1], "events_per_mass": 200, "validation_scale": 2}""",
            }),
            ["lovasz-toy"] = ("""{"events_per_process": 300}""", new()
            {
                ["case"] = """{"events_per_process": 300, "case": 2}""",
                ["xsec"] = """{"events_per_process": 300, "xsec": {"signal": 0.5}}""",
                ["luminosity"] = """{"events_per_process": 300, "luminosity": 100}""",
                ["events_per_process"] = """{"events_per_process": 250}""",
                ["seed"] = """{"events_per_process": 300, "seed": 99}""",
                ["validation_scale"] = """{"events_per_process": 300, "validation_scale": 2}""",
                ["covariances"] = """{"events_per_process": 300, "covariances": "unit"}""",
            }),
            ["recoil-toy"] = ("""{"masses": [2, 4], "signal_per_mass": 100, "background_events": 100}""", new()
            {
                ["masses"] = """{"masses": [2, 5], "signal_per_mass": 100, "background_events": 100}""",
                ["signal_per_mass"] = """{"masses": [2, 4], "signal_per_mass": 120, "background_events": 100}""",
                ["background_events"] = """{"masses": [2, 4], "signal_per_mass": 100, "background_events": 120}""",
                ["luminosity"] = """{"masses": [2, 4], "signal_per_mass": 100, "background_events": 100, "luminosity": 10}""",
                ["cross_sections"] = """{"masses": [2, 4], "signal_per_mass": 100, "background_events": 100, "cross_sections": 50}""",
                ["signal_cross_section"] = """{"masses": [2, 4], "signal_per_mass": 100, "background_events": 100, "signal_cross_section": 3}""",
                ["seed"] = """{"masses": [2, 4], "signal_per_mass": 100, "background_events": 100, "seed": 99}""",
                ["validation_scale"] = """{"masses": [2, 4], "signal_per_mass": 100, "background_events": 100, "validation_scale": 2}""",
                ["version"] = """{"masses": [2, 4], "signal_per_mass": 100, "background_events": 100, "version": 2}""",
            }),
            ["hepmass-toy"] = ("""{"masses": [500, 1000], "signal_per_mass": 100}""", new()
            {
                ["masses"] = """{"masses": [500, 1500], "signal_per_mass": 100}""",
                ["signal_per_mass"] = """{"masses": [500, 1000], "signal_per_mass": 120}""",
                ["background_events"] = """{"masses": [500, 1000], "signal_per_mass": 100, "background_events": 150}""",
                ["seed"] = """{"masses": [500, 1000], "signal_per_mass": 100, "seed": 99}""",
                ["validation_scale"] = """{"masses": [500, 1000], "signal_per_mass": 100, "validation_scale": 2}""",
            }),
            ["csv"] = (Csv(first), new()
            {
                ["path"] = Csv(second),
                ["columns"] = Csv(first).Replace("[\"x\", \"y\"]", "[\"x\"]"),
                ["max_rows"] = Csv(first)[..^1] + ", \"max_rows\": 500}",
                ["masses"] = Csv(first)[..^1] + ", \"masses\": [10]}",
                ["window_width"] = Csv(first).Replace("\"window_width\": 1", "\"window_width\": 2"),
                ["window_center"] = Csv(first)[..^1] + ", \"window_center\": \"mass\"}",
                ["generated_per_mass"] = Csv(first)[..^1] + ", \"generated_per_mass\": 1000}",
                ["luminosity"] = Csv(first)[..^1] + ", \"luminosity\": 20}",
                ["mass_unit"] = Csv(first)[..^1] + ", \"mass_unit\": \"TeV\"}",
            }),
        };
    }

    /// <summary>Signal at 10 and 20 with v near m (and near m² for a few), background flat in v; two processes.</summary>
    private string WriteCsv(string name, int seed)
    {
        var random = new Random(seed);
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var text = new StringBuilder("x,y,label,mass,v,w,proc\n");
        for (var k = 0; k < 1200; k++)
        {
            var signal = k % 3 == 0;
            var m = k % 2 == 0 ? 10.0 : 20.0;
            var v = signal ? (k % 5 == 0 ? m * m : m) + random.NextDouble() - 0.5 : 450 * random.NextDouble();
            text.Append($"{F(random.NextDouble() + (signal ? 1 : 0))},{F(random.NextDouble())},{(signal ? 1 : 0)},{(signal ? F(m) : "")},{F(v)},{F(0.5 + random.NextDouble())},{(signal ? "sig" : k % 2 == 0 ? "b1" : "b2")}\n");
        }
        var path = Path.Combine(folder, name);
        File.WriteAllText(path, text.ToString());
        return path;
    }

    [Fact]
    public void Every_data_source_option_changes_the_loaded_data()
    {
        var cases = DataCases();
        var silent = new List<string>();
        foreach (var entry in ComponentCatalog.BuiltIn.DataSources.Entries)
        {
            if (entry.Name is "npz" or "feather" or "parquet" or "hepmass")
            {
                // Their options are the csv source's own OptionSpecs (Trials/Data/FileSources.cs), read by the same TableEvents.Build.
                var csv = ComponentCatalog.BuiltIn.DataSources.Get("csv").Options;
                Assert.All(entry.Options, o => Assert.Contains(o, csv));
                continue;
            }
            Assert.True(cases.ContainsKey(entry.Name), $"no cases for data source {entry.Name}");
            var (baseOptions, changes) = cases[entry.Name];
            Assert.Equal(entry.Options.Select(o => o.Key).Order(), changes.Keys.Order());
            string Fingerprint(string options) => DataFingerprint(new DataSpec { Source = entry.Name, Options = JsonNode.Parse(options)!.AsObject() });
            silent.AddRange(WithoutEffect(changes.Select(c => (c.Key, baseOptions, c.Value)), Fingerprint).Select(o => $"{entry.Name}.{o}"));
        }
        Assert.Empty(silent);
    }

    private const string TrialBase = """
        study: walk
        data: {source: recoil-toy, options: {masses: [2, 4, 6], signal_per_mass: 150, background_events: 300, seed: 3}, holdout: [4]}
        base:
          model: {kind: pnn, hidden: [6], activation: relu, dropout: 0}
          schedule: [PHASE]
        """;

    private static string Trial(string model = "", string phase = "loss: bce, epochs: 3, lr: 0.01, batch: 64", string evaluation = "")
    {
        var yaml = TrialBase.Replace("PHASE", "{" + phase + "}");
        // The alternative replaces the base's own setting of that key, or is added.
        string[] settings = ["hidden: [6]", "activation: relu", "dropout: 0"];
        var key = model.Split(':')[0];
        var modelText = string.Join(", ", settings.Where(s => model == "" || !s.StartsWith(key + ":", StringComparison.Ordinal)).Append(model).Where(s => s != ""));
        yaml = yaml.Replace("hidden: [6], activation: relu, dropout: 0", modelText);
        if (evaluation != "") yaml += "\n  evaluation: {" + evaluation + "}";
        return yaml;
    }

    private static string Fingerprint(string yaml) => TrialFingerprint(StudyText.Expand(yaml).Single().Spec);

    /// <summary>The keys of the hand-written table under <paramref name="heading"/> in docs/study-format.md.</summary>
    private static IReadOnlyList<string> DocumentedKeys(string heading)
    {
        var docs = File.ReadAllText(Path.Combine(ComponentRegistryTests.RepositoryRoot(), "docs", "study-format.md"));
        var section = docs[(docs.IndexOf(heading + "\n", StringComparison.Ordinal) + heading.Length)..];
        section = section[..section.IndexOf("\n#", StringComparison.Ordinal)];
        return Regex.Matches(section, @"^\| `([a-z_]+)` \|", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
    }

    [Fact]
    public void Every_model_phase_loss_and_evaluation_option_changes_the_trained_result()
    {
        var model = new Dictionary<string, string>
        {
            ["hidden"] = "hidden: [5]", ["activation"] = "activation: tanh", ["dropout"] = "dropout: 0.5",
            ["weight_init"] = "weight_init: kaiming-normal", ["bias_init"] = "bias_init: normal", ["background_mass"] = "background_mass: uniform",
            ["background_mass_mode"] = "background_mass_mode: resampled", ["balance"] = "balance: class", ["l2_kernel"] = "l2_kernel: 0.5",
            ["l2_bias"] = "l2_bias: 0.5", ["standardize"] = "standardize: false", ["mass_encoding"] = "mass_encoding: scaled",
            ["conditioning"] = "conditioning: {method: affine}",
        };
        // The boosted trees' own settings, walked on a bdt (the nets' settings above on a pnn).
        var boosting = new Dictionary<string, string>
        {
            ["trees"] = "trees: 7", ["depth"] = "depth: 2", ["learning_rate"] = "learning_rate: 0.5", ["leaves"] = "leaves: 3",
            ["min_events_per_leaf"] = "min_events_per_leaf: 60", ["bins"] = "bins: 4", ["per_mass"] = "per_mass: true",
        };
        var documentedModel = ComponentCatalog.BuiltIn.Models.Entries.SelectMany(m => m.Options).Select(o => o.Key).Distinct();
        Assert.Equal(documentedModel.Order(), model.Keys.Concat(boosting.Keys).Distinct().Order());
        static string Bdt(string setting)
        {
            // The alternative replaces the base's own trees or depth, or is added.
            var key = setting.Split(':')[0];
            var settings = new[] { "trees: 10", "depth: 3" }.Where(s => setting == "" || !s.StartsWith(key + ":", StringComparison.Ordinal)).Append(setting).Where(s => s != "");
            return TrialBase.Replace("PHASE", "{loss: bce, epochs: 1}")
                .Replace("kind: pnn, hidden: [6], activation: relu, dropout: 0", "kind: bdt, " + string.Join(", ", settings));
        }

        const string sgd = "loss: bce, epochs: 6, lr: 0.5, batch: 64, optimizer: sgd";
        var phase = new Dictionary<string, (string Base, string Changed)>
        {
            ["loss"] = (sgd, sgd.Replace("loss: bce", "loss: lovasz")),
            ["epochs"] = (sgd, sgd.Replace("epochs: 6", "epochs: 5")),
            ["optimizer"] = (sgd, sgd.Replace("sgd", "adam")),
            ["lr"] = (sgd, sgd.Replace("lr: 0.5", "lr: 0.4")),
            ["momentum"] = (sgd, sgd + ", momentum: 0.9"),
            ["weight_decay"] = (sgd, sgd + ", weight_decay: 0.5"),
            ["batch"] = (sgd, sgd.Replace("batch: 64", "batch: 32")),
            // A large step, so some epoch does not improve and the plateau has something to act on.
            ["plateau"] = (sgd.Replace("lr: 0.5", "lr: 20"), sgd.Replace("lr: 0.5", "lr: 20") + ", plateau: {factor: 0.1, patience: 1}"),
            ["early_stopping"] = (sgd, sgd + ", early_stopping: {patience: 1, metric: roc_auc}"),
            ["keep_best"] = (sgd, sgd + ", keep_best: sigma_min_best_cut"),
            ["loss_options"] = (sgd, sgd + ", loss_options: {weighting: none}"),
        };
        Assert.Equal(DocumentedKeys("### schedule phases").Order(), phase.Keys.Order());

        const string punzi = "loss: punzi, epochs: 2, lr: 0.05, batch: full";
        const string lovasz = "loss: lovasz, epochs: 2, lr: 0.05, batch: 64";
        const string bce = "loss: bce, epochs: 2, lr: 0.05, batch: 64";
        var loss = new Dictionary<string, (string Base, string Changed)>
        {
            ["bce.weighting"] = (bce, bce + ", weighting: none"), ["bce.events"] = (bce, bce + ", events: in-windows"),
            ["punzi.formula"] = (punzi, punzi + ", formula: simple"), ["punzi.a"] = (punzi, punzi + ", a: 5"), ["punzi.b"] = (punzi, punzi + ", b: 2"),
            ["punzi.luminosity"] = (punzi, punzi + ", luminosity: 5"), ["punzi.scale"] = (punzi, punzi + ", scale: 0.5"),
            ["punzi.n_sigma"] = (punzi, punzi + ", n_sigma: 1"), ["punzi.eps_floor"] = (punzi, punzi + ", eps_floor: 0.9"),
            ["punzi.b_floor"] = (punzi, punzi + ", b_floor: 1.0e+6"),
            ["lovasz.luminosity"] = (lovasz, lovasz + ", luminosity: 5"), ["lovasz.eps"] = (lovasz, lovasz + ", eps: 1000"),
        };
        Assert.Equal(ComponentCatalog.BuiltIn.Losses.Entries.SelectMany(l => l.Options.Select(o => $"{l.Name}.{o.Key}")).Order(), loss.Keys.Order());

        var evaluation = new Dictionary<string, string>
        {
            ["validation_every"] = "validation_every: 2", ["min_background_yield"] = "min_background_yield: 2000",
            ["min_background_events"] = "min_background_events: 100", ["min_signal_efficiency"] = "min_signal_efficiency: 0.95",
            ["background_uncertainty"] = "background_uncertainty: 0.3",
        };
        Assert.Equal(DocumentedKeys("### evaluation").Order(), evaluation.Keys.Order());

        var silent = new List<string>();
        silent.AddRange(WithoutEffect(model.Select(c => ($"model.{c.Key}", Trial(), Trial(model: c.Value))), Fingerprint));
        silent.AddRange(WithoutEffect(boosting.Select(c => ($"model.bdt.{c.Key}", Bdt(""), Bdt(c.Value))), Fingerprint));
        silent.AddRange(WithoutEffect(phase.Select(c => ($"phase.{c.Key}", Trial(phase: c.Value.Base), Trial(phase: c.Value.Changed))), Fingerprint));
        silent.AddRange(WithoutEffect(loss.Select(c => ($"loss.{c.Key}", Trial(phase: c.Value.Base), Trial(phase: c.Value.Changed))), Fingerprint));
        // Validation metrics of the training curve are computed when a phase selects or stops on one.
        const string selecting = "loss: bce, epochs: 3, lr: 0.01, batch: 64, keep_best: z_best";
        silent.AddRange(WithoutEffect(evaluation.Select(c => ($"evaluation.{c.Key}", Trial(phase: selecting), Trial(phase: selecting, evaluation: c.Value))), Fingerprint));
        Assert.Empty(silent);
    }

    // ---- resources.fuse: what the scheduler sends to a slot ----------------------------------------

    /// <summary>Trains what the scheduler sends in-process: single trials alone, packs with <see cref="FusedPackRunner"/>, counting both.</summary>
    private sealed class CountingLauncher : ITrialLauncher
    {
        private readonly TrialRunner runner = TrialRunner.For(ComponentCatalog.BuiltIn);
        public int Singles;
        public readonly List<(int Members, long PackSteps, long MemberSteps)> Packs = [];

        public Task<TrialExit> RunAsync(string trialId, string specJson, DeviceSlot slot, string checkpointDirectory, TimeSpan? timeout,
            Action<TrialProgress> progress, CancellationToken stopping, CancellationToken kill) => Task.Run<TrialExit>(() =>
        {
            Interlocked.Increment(ref Singles);
            return Finished(runner.Run(SpecJson.Deserialize<TrialSpec>(specJson), new TrialRunOptions(), stopping));
        }, CancellationToken.None);

        public Task<IReadOnlyList<TrialExit>> RunPackAsync(IReadOnlyList<PackLaunch> members, IReadOnlyList<string> monitor, DeviceSlot slot, TimeSpan? timeout,
            CancellationToken stopping, CancellationToken kill) => Task.Run<IReadOnlyList<TrialExit>>(() =>
        {
            var pack = new FusedPackRunner(runner);
            var results = pack.Run(members.Select(m => new PackMember(SpecJson.Deserialize<TrialSpec>(m.SpecJson), new TrialRunOptions())).ToList(), stopping);
            lock (Packs) Packs.Add((members.Count, pack.PackSteps, pack.MemberSteps));
            return results.Select(Finished).ToList();
        }, CancellationToken.None);

        private static TrialExit Finished(TrialResult result) => new TrialExit.Finished(result, new Dictionary<string, string>());
    }

    private sealed class NullObserver : IExecutionObserver;

    private async Task<CountingLauncher> RunFused(string fuse, int slots)
    {
        var yaml = $$$"""
            study: fuse-{{{fuse}}}
            data: {source: gaussian-toy, options: {masses: [-1, 1], events_per_mass: 100}}
            base:
              model: {kind: dnn, hidden: [4]}
              schedule: [{loss: bce, epochs: 2, lr: 0.01, batch: 64}]
            matrix:
              seed: [1, 2, 3, 4]
              schedule[0].lr: [0.01, 0.02]
            resources: {fuse: {{{fuse}}}}
            """;
        var study = StudyText.Load(yaml);
        var trials = StudyExpander.Expand(study);
        await using var store = await SqliteStudyStorage.OpenAsync(Path.Combine(folder, $"fuse-{fuse}.db"));
        var row = await store.SyncStudyAsync(new StudyDefinition(study.Name, null, yaml, study.DefinitionHash, study.Data.Hash, new StudySettings()),
            trials.Select(t => new PlannedTrialRow(t.TrialId, SpecJson.Serialize(t.Spec), t.Axes)).ToList(), false);
        var launcher = new CountingLauncher();
        var counts = await new StudyExecution(store, launcher, new SchedulingOptions { IdlePollSeconds = 0.05 }, NullLogger.Instance).RunAsync(row,
            Enumerable.Range(0, slots).Select(i => new DeviceSlot(i, "cpu", 1)).ToList(),
            new ExecutionOptions { ArtifactsDirectory = Path.Combine(folder, "artifacts"), Fuse = study.Resources.Fuse },
            new NullObserver(), CancellationToken.None, CancellationToken.None);
        Assert.Equal(8, counts.Count(TrialState.Completed));
        return launcher;
    }

    [Fact]
    public async Task Resources_fuse_trains_trials_of_one_key_as_packs_of_its_size_and_off_trains_each_alone()
    {
        // fuse: 4 on one slot: eight trials of one key are two packs of four; every fused step trains all four members.
        var four = await RunFused("4", slots: 1);
        Assert.Equal(0, four.Singles);
        Assert.Equal([4, 4], four.Packs.Select(p => p.Members));
        Assert.All(four.Packs, p => Assert.Equal(4 * p.PackSteps, p.MemberSteps));
        Assert.All(four.Packs, p => Assert.True(p.PackSteps > 0));

        // off (the default): one trial per launch, no pack and no fused step.
        var off = await RunFused("off", slots: 1);
        Assert.Equal(8, off.Singles);
        Assert.Empty(off.Packs);

        // auto on one slot: all eight in one pack (how auto splits a kind over several idle slots: PackPlannerTests, and the
        // quickstart's pairs in FusedStudyTests).
        var auto = await RunFused("auto", slots: 1);
        Assert.True(auto.Singles == 0, $"{auto.Singles} alone; packs of {string.Join(", ", auto.Packs.Select(p => p.Members))}");
        Assert.Equal([8], auto.Packs.Select(p => p.Members));
    }

    private const string FuseStudy = """
        study: t
        data: {source: gaussian-toy}
        base: {schedule: [{loss: bce, epochs: 1}]}
        matrix: {seed: [1, 2]}
        """;

    [Theory]
    [InlineData("auto", null)]
    [InlineData("off", 1)]
    [InlineData("1", 1)]
    [InlineData("12", 12)]
    public void Resources_fuse_reads_auto_off_and_a_pack_size(string text, int? members)
    {
        var study = StudyText.Load(FuseStudy + $"\nresources: {{fuse: {text}}}\n");
        Assert.Equal(members, study.Resources.Fuse.Members);
        // A resource choice, not science: the trials' ids are those of the study without it.
        Assert.Equal(StudyText.Expand(FuseStudy).Select(t => t.TrialId), StudyExpander.Expand(study).Select(t => t.TrialId));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("maybe")]
    [InlineData("[4]")]
    public void Resources_fuse_refuses_what_is_not_auto_off_or_a_pack_size(string text)
    {
        var error = Assert.Throws<StudyValidationException>(() => StudyText.Load(FuseStudy + $"\nresources: {{fuse: {text}}}\n"));
        var only = Assert.Single(error.Errors);
        Assert.True(only.Message.Contains("resources.fuse", StringComparison.Ordinal) && only.Line == 5, only.ToString());
    }
}
