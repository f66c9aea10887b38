using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Studies.Orchestrator.Search;
using Studies.Orchestrator.Search.Components;
using Studies.Orchestrator.Search.Pruners;
using Studies.Orchestrator.Search.Samplers;

namespace Studies.Orchestrator.Bench;

/// <summary>
/// <c>studies bench search</c>: samplers and pruners on a tabular benchmark made from real trials
/// (<c>Bench/SearchTable/search-table.yaml</c>: a grid over learning rate, width, depth, batch and
/// schedule on the quickstart data, every validation epoch recorded). A search asks for a point, the
/// point is snapped to the nearest grid point, and the grid point's recorded validation curve is
/// replayed epoch by epoch to the pruner; a completed trial's value is its best validation σ_min at
/// one cut for all masses over its epochs (minimised), as a search of <c>studies run</c> scores it. Studies' samplers and pruners and Optuna's (Debian's
/// python3-optuna, through search_bench.py) run the same searches with the same budgets and seeds.
/// </summary>
internal static class SearchBenchmark
{
    private static readonly double[] LearningRates = [3.0e-4, 1.0e-3, 3.0e-3, 1.0e-2, 3.0e-2];
    private static readonly double[] Widths = [8, 32];
    private static readonly double[] Batches = [256, 2048];
    private static readonly string[] Schedules = ["bce", "punzi"];
    /// <summary>
    /// The table's objective: σ_min at one cut for all masses, on 4x the validation events (search-table.yaml), the
    /// steadier measure studies/search-quickstart.yaml searches on. (The first table, σ_min at each mass's best cut on 1x
    /// validation, moved by about 0.07 from one epoch to the next, as much as the gaps between the ten best grid points:
    /// its best-after-budget was a lottery over the last epoch's noise and no pruner could be judged on it.)
    /// </summary>
    private const string Headline = "sigma_min_global_cut";

    /// <summary>The space both sides search, in the same order and scales as search_bench.py's suggestions.</summary>
    internal static readonly SearchSpace Space = new([
        SearchDimension.Categorical("schedule", 2),
        SearchDimension.Float("lr", 3.0e-4, 3.0e-2, log: true),
        SearchDimension.Integer("width", 8, 32, log: true),
        SearchDimension.Integer("depth", 1, 3),
        SearchDimension.Integer("batch", 256, 2048, log: true),
    ]);

    public static Command Command()
    {
        var table = new Option<FileInfo?>("--table") { Description = "The table (default: the one built in, made from Bench/SearchTable/search-table.yaml)" };
        var budget = new Option<int>("--budget") { Description = "Trials per search", DefaultValueFactory = _ => 30 };
        var seeds = new Option<int>("--seeds") { Description = "Searches per sampler (seeds FIRST..FIRST+N-1)", DefaultValueFactory = _ => 50 };
        var firstSeed = new Option<int>("--first-seed")
        {
            Description = "The first search seed (the default pruner's settings were chosen on seeds 0-29: confirm them on others)", DefaultValueFactory = _ => 0,
        };
        var make = new Option<DirectoryInfo?>("--make-table") { Description = "Write the table from a workspace where search-table.yaml was run, and stop" };
        var pruners = new Option<string[]>("--pruner")
        {
            Description = "A pruner as a study's search.pruner names it, options after a colon (asha:min_epochs=3,reduction=3); repeat to compare several, the first gives the headline",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("search", "Samplers and pruners on a tabular benchmark of real trials, against Optuna's (targets: best-after-budget ratio <= 1.02, epochs saved by pruning >= 50 %)") { table, budget, seeds, firstSeed, make, pruners };
        command.SetAction(parse =>
        {
            if (parse.GetValue(make) is { } home) return MakeTable(home.FullName, Console.Out);
            return Run(parse.GetValue(table)?.FullName, parse.GetValue(budget), new Seeds(parse.GetValue(firstSeed), parse.GetValue(seeds)), parse.GetValue(pruners) ?? [], Console.Out);
        });
        return command;
    }

    /// <summary>One grid point's recorded validation curve (headline per epoch, phases in a row).</summary>
    internal sealed record GridPoint(string Schedule, double Lr, int Width, int Depth, int Batch);

    internal static int MakeTable(string home, TextWriter output)
    {
        var path = Path.Combine(home, "studies.db");
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT t.axes, e.phase, e.epoch, e.metric, e.value FROM trials t
            JOIN studies s ON s.id = t.study_id AND s.name = 'search-table'
            JOIN epochs e ON e.study_id = t.study_id AND e.trial_id = t.trial_id AND e.metric IN ($headline, 'val_loss')
            WHERE t.state = 'completed' ORDER BY t.ordinal, e.phase, e.epoch
            """;
        command.Parameters.AddWithValue("$headline", Headline);
        var rows = new Dictionary<GridPoint, SortedDictionary<(long, long), Dictionary<string, double>>>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                var axes = JsonNode.Parse(reader.GetString(0))!.AsObject();
                var hidden = JsonNode.Parse(axes["model.hidden"]!.GetValue<string>())!.AsArray();
                var point = new GridPoint(axes["schedule"]!.GetValue<string>(), double.Parse(axes["schedule[0].lr"]!.GetValue<string>(), CultureInfo.InvariantCulture),
                    hidden[0]!.GetValue<int>(), hidden.Count, int.Parse(axes["schedule[0].batch"]!.GetValue<string>(), CultureInfo.InvariantCulture));
                var curve = rows.TryGetValue(point, out var c) ? c : rows[point] = new();
                var key = (reader.GetInt64(1), reader.GetInt64(2));
                (curve.TryGetValue(key, out var m) ? m : curve[key] = new())[reader.GetString(3)] = reader.IsDBNull(4) ? double.NaN : reader.GetDouble(4);
            }
        }
        var text = new StringBuilder("schedule,lr,width,depth,batch,step,val_headline,val_loss\n");
        foreach (var (point, curve) in rows)
        {
            var step = 0;
            foreach (var metrics in curve.Values)
            {
                step++;
                text.Append(CultureInfo.InvariantCulture, $"{point.Schedule},{point.Lr:R},{point.Width},{point.Depth},{point.Batch},{step},{Cell(metrics, Headline)},{Cell(metrics, "val_loss")}\n");
            }
        }
        var target = Path.Combine(Directory.GetCurrentDirectory(), "search-table.csv");
        File.WriteAllText(target, text.ToString());
        output.WriteLine($"{rows.Count} grid points, {text.ToString().Count(ch => ch == '\n') - 1} epochs: {target}");
        return rows.Count == 0 ? 1 : 0;
    }

    private static string Cell(Dictionary<string, double> m, string name) =>
        m.TryGetValue(name, out var v) && double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "nan";

    internal static Dictionary<GridPoint, double[]> LoadTable(TextReader reader)
    {
        var curves = new Dictionary<GridPoint, SortedDictionary<int, double>>();
        reader.ReadLine();
        while (reader.ReadLine() is { Length: > 0 } line)
        {
            var f = line.Split(',');
            var point = new GridPoint(f[0], double.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[2], CultureInfo.InvariantCulture),
                int.Parse(f[3], CultureInfo.InvariantCulture), int.Parse(f[4], CultureInfo.InvariantCulture));
            (curves.TryGetValue(point, out var c) ? c : curves[point] = new())[int.Parse(f[5], CultureInfo.InvariantCulture)] =
                f[6] == "nan" ? double.NaN : double.Parse(f[6], CultureInfo.InvariantCulture);
        }
        return curves.ToDictionary(c => c.Key, c => c.Value.Values.ToArray());
    }

    /// <summary>The grid point a proposal stands for: nearest on each axis's search scale (ties to the smaller), as search_bench.py snaps.</summary>
    internal static GridPoint Snap(IReadOnlyDictionary<string, double> p) => new(
        Schedules[(int)p["schedule"]], NearestLog(p["lr"], LearningRates), (int)NearestLog(p["width"], Widths), (int)p["depth"], (int)NearestLog(p["batch"], Batches));

    private static double NearestLog(double v, double[] grid) =>
        grid.OrderBy(g => Math.Abs(Math.Log(v) - Math.Log(g))).ThenBy(g => g).First();

    /// <summary>
    /// A completed trial's value: its best validation value over its epochs, as a search of <c>studies run</c> scores a
    /// trial (what keep_best keeps, docs/study-format.md "search").
    /// </summary>
    internal static double Score(double[] curve) => curve.Where(double.IsFinite).DefaultIfEmpty(double.NaN).Min();

    /// <summary>One search on the table: its best value (NaN if none finished) and the epochs it trained.</summary>
    internal static (double Best, int Epochs) Search(Dictionary<GridPoint, double[]> table, ISampler sampler, IPruner pruner, int budget, ulong seed)
    {
        var history = new List<SearchTrial>();
        var epochs = 0;
        for (var number = 0; number < budget; number++)
        {
            var point = sampler.Ask(Space, history, SearchRandom.For(seed, number));
            var curve = table[Snap(point)];
            var seen = new List<(int, double)>();
            var state = SearchTrialState.Complete;
            for (var step = 1; step <= curve.Length; step++)
            {
                epochs++;
                if (double.IsNaN(curve[step - 1])) { state = SearchTrialState.Failed; break; }
                seen.Add((step, curve[step - 1]));
                if (step < curve.Length && pruner.Decide(new SearchTrial(number, point, SearchTrialState.Running, null, seen), history).Prune)
                {
                    state = SearchTrialState.Pruned;
                    break;
                }
            }
            history.Add(new SearchTrial(number, point, state, state == SearchTrialState.Complete ? Score(curve) : null, seen));
        }
        var finished = history.Where(t => t.State == SearchTrialState.Complete).Select(t => t.Value!.Value).ToList();
        return (finished.Count > 0 ? finished.Min() : double.NaN, epochs);
    }

    private sealed record Outcome(string Side, string Sampler, string Pruner, List<double> Best, List<int> Epochs)
    {
        public double MedianBest => BenchStatistics.Median(FiniteBest);

        public IReadOnlyList<double> FiniteBest => [.. Best.Where(double.IsFinite)];

        public double MedianEpochs => BenchStatistics.Median([.. Epochs.Select(e => (double)e)]);
    }


    /// <summary>
    /// The pruner the headline measures when none is named: the median rule once 3 trials finished, from epoch 1.
    /// Chosen on this table with seeds 0-29 (2026-12-05) among median, percentile, ASHA and Hyperband settings:
    /// epochs saved at the unpruned median best were 55 % for it (and for the 40th percentile), 50 % from epoch 2,
    /// 35-39 % for the median with 5 startup trials, 22 % for ASHA at rungs 3 and 9, -36 % and -24 % (more epochs than
    /// no pruning) for ASHA from epoch 1 and Hyperband, and ASHA from epoch 2, 4 or 6 never reached the unpruned best: ASHA's rungs judge every trial at a few fixed epochs against the
    /// best third, and on this grid the best configurations (large batches among them: 8x fewer steps an epoch) are not
    /// yet in the best third at epoch 3-6. The README gives its figures on other seeds (--first-seed).
    /// </summary>
    internal const string DefaultPruner = "median:startup_trials=3,warmup_epochs=1";

    /// <summary>A pruner written as <c>name:key=value,...</c>, built by the registry a study's <c>search.pruner</c> goes through.</summary>
    internal static (string Label, IPruner Pruner, string? Optuna) ParsePruner(string text, int maxEpochs)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? text : text[..colon];
        if (!SearchComponents.Pruners.TryGet(name, out var entry))
            throw new ArgumentException($"--pruner {text}: no pruner '{name}' (one of {string.Join(", ", SearchComponents.Pruners.Names)})");
        var options = new JsonObject();
        foreach (var pair in colon < 0 ? [] : text[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = pair.Split('=', 2);
            if (kv.Length != 2 || !entry.Options.Any(o => o.Key == kv[0]) || !double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                throw new ArgumentException($"--pruner {text}: '{pair}' is not one of {name}'s options ({string.Join(", ", entry.Options.Select(o => o.Key))}) with a number");
            options[kv[0]] = value;
        }
        var context = new PrunerContext(options, maxEpochs);
        // Optuna's pruner of the same rule and settings, where it has one (search_bench.py's PRUNER argument).
        var optuna = name switch
        {
            "asha" => string.Create(CultureInfo.InvariantCulture, $"asha:{context.Int("min_epochs", 1)}:{context.Int("reduction", 3)}"),
            "median" => string.Create(CultureInfo.InvariantCulture, $"median:{context.Int("startup_trials", 5)}:{context.Int("warmup_epochs", 0)}"),
            _ => null,
        };
        return (text, entry.Create(context), optuna);
    }

    /// <summary>The searches' seeds: <see cref="Count"/> of them from <see cref="First"/>.</summary>
    internal readonly record struct Seeds(int First, int Count)
    {
        public override string ToString() => $"{Count} seeds ({First}-{First + Count - 1})";
    }

    internal static int Run(string? tablePath, int budget, Seeds seeds, IReadOnlyList<string> prunerTexts, TextWriter output)
    {
        var tableText = tablePath is not null ? File.ReadAllText(tablePath) : BuiltInTable();
        if (tableText is null)
        {
            output.WriteLine("no table: run Bench/SearchTable/search-table.yaml, then `studies bench search --make-table HOME`, then pass --table");
            return 1;
        }
        var table = LoadTable(new StringReader(tableText));
        var epochsPerTrial = table.Values.Max(c => c.Length);
        List<(string Label, IPruner Pruner, string? Optuna)> pruners;
        try
        {
            pruners = [.. (prunerTexts.Count > 0 ? prunerTexts : [DefaultPruner]).Select(t => ParsePruner(t, epochsPerTrial))];
        }
        catch (ArgumentException e)
        {
            output.WriteLine(e.Message);
            return 1;
        }
        output.WriteLine($"tabular benchmark: {table.Count} grid points of real trials, {epochsPerTrial} validation epochs each; budget {budget} trials; {seeds}");
        var scratch = Directory.CreateTempSubdirectory("studies-search-bench-");
        try
        {
            var file = Path.Combine(scratch.FullName, "search-table.csv");
            File.WriteAllText(file, tableText);
            var ours = new List<Outcome>();
            var theirs = new List<Outcome>();
            // Interleaved by configuration, Studies' side then Optuna's, so load changes hit both alike (only quality is compared here).
            foreach (var (name, sampler, optunaSampler, pruned) in new (string, ISampler, string, bool)[]
            {
                ("random", new RandomSampler(), "random", false),
                ("tpe", new TpeSampler(), "tpe", false),
                ("tpe", new TpeSampler(), "tpe", true),
            })
            {
                if (!pruned) ours.Add(RunOurs(table, name, sampler, new NoPruner(), "none", budget, seeds));
                else ours.AddRange(pruners.Select(p => RunOurs(table, name, sampler, p.Pruner, p.Label, budget, seeds)));
                // Optuna runs the headline pruner's rule with the same settings, where it has it.
                var optunaPruner = pruned ? pruners[0].Optuna : "none";
                if (optunaPruner is null) continue;
                if (RunOptuna(file, budget, seeds, optunaSampler, optunaPruner, out var why) is { } o) theirs.Add(o);
                else output.WriteLine($"Optuna side skipped: {why}");
            }
            ours.Add(RunOurs(table, "tpe-multivariate", new TpeSampler(new TpeOptions(Multivariate: true)), new NoPruner(), "none", budget, seeds));
            ours.Add(RunOurs(table, "gp", new GpSampler(candidates: 256), new NoPruner(), "none", budget, seeds));

            var optimum = table.Values.Select(Score).Where(double.IsFinite).Min();
            output.WriteLine($"best grid point's value: {optimum:G5} (validation σ_min at one cut for all masses, best epoch; lower is better)");
            var width = Math.Max(6, pruners.Max(p => p.Label.Length));
            output.WriteLine($"{"side",-8} {"sampler",-17} {"pruner".PadRight(width)} {"median best",12} {"q25-q75",21} {"median epochs",14}");
            foreach (var o in ours.Concat(theirs))
                output.WriteLine($"{o.Side,-8} {o.Sampler,-17} {o.Pruner.PadRight(width)} {o.MedianBest,12:G5} {$"{BenchStatistics.Quantile(o.FiniteBest, 0.25):G4}-{BenchStatistics.Quantile(o.FiniteBest, 0.75):G4}",21} {o.MedianEpochs,14:F0}");

            var ourTpe = ours.Single(o => o.Sampler == "tpe" && o.Pruner == "none");
            var saved = pruners.Select(p => PruningSavings(table, budget, seeds, ourTpe, p, output)).ToList();
            var optunaTpe = theirs.SingleOrDefault(o => o.Sampler == "tpe" && o.Pruner == "none");
            var ratio = optunaTpe is null ? double.NaN : ourTpe.MedianBest / optunaTpe.MedianBest;
            output.WriteLine($"search vs Optuna: best-after-budget ratio {ratio:F3}; epochs saved by pruning: {saved[0]:F0} %");
            return 0;
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Epochs saved by a pruner at a final best no worse than without pruning: the smallest budget (in
    /// steps of a sixth of the unpruned one, up to 4x it) whose pruned searches reach a median best no
    /// worse than the unpruned searches' after their budget, and its median epochs against the
    /// unpruned ones'. (A pruned search is free to try more or fewer trials: what it costs is epochs.)
    /// </summary>
    private static double PruningSavings(Dictionary<GridPoint, double[]> table, int budget, Seeds seeds, Outcome unpruned, (string Label, IPruner Pruner, string? Optuna) pruner, TextWriter output)
    {
        var step = Math.Max(1, budget / 6);
        for (var trials = step; trials <= 4 * budget; trials += step)
        {
            var pruned = RunOurs(table, "tpe", new TpeSampler(), pruner.Pruner, pruner.Label, trials, seeds);
            if (pruned.MedianBest <= unpruned.MedianBest)
            {
                var saved = 100 * (1 - pruned.MedianEpochs / unpruned.MedianEpochs);
                output.WriteLine($"pruning with {pruner.Label}: {trials} pruned trials (median {pruned.MedianEpochs:F0} epochs) reach median best {pruned.MedianBest:G5} <= {unpruned.MedianBest:G5} of {budget} unpruned trials ({unpruned.MedianEpochs:F0} epochs): {saved:F0} % saved");
                return saved;
            }
        }
        output.WriteLine($"pruning with {pruner.Label}: no budget up to 4x reached the unpruned median best");
        return double.NaN;
    }

    private static Outcome RunOurs(Dictionary<GridPoint, double[]> table, string name, ISampler sampler, IPruner pruner, string prunerName, int budget, Seeds seeds)
    {
        var best = new List<double>();
        var epochs = new List<int>();
        for (var seed = seeds.First; seed < seeds.First + seeds.Count; seed++)
        {
            var (b, e) = Search(table, sampler, pruner, budget, (ulong)seed);
            best.Add(b);
            epochs.Add(e);
        }
        return new Outcome("studies", name, prunerName, best, epochs);
    }

    private static Outcome? RunOptuna(string table, int budget, Seeds seeds, string sampler, string pruner, out string why)
    {
        why = "";
        const string python = "/usr/bin/python3";
        if (!File.Exists(python)) { why = "no /usr/bin/python3"; return null; }
        var script = Path.Combine(Path.GetDirectoryName(table)!, "search_bench.py");
        using (var resource = typeof(SearchBenchmark).Assembly.GetManifestResourceStream("search_bench.py")!)
        using (var file = File.Create(script)) resource.CopyTo(file);
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { script, table, budget.ToString(CultureInfo.InvariantCulture), seeds.Count.ToString(CultureInfo.InvariantCulture), sampler, pruner,
            seeds.First.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            why = stderr.Result.Contains("No module named 'optuna'", StringComparison.Ordinal)
                ? "python3-optuna is not installed; `apt-get install python3-optuna` enables it"
                : $"search_bench.py failed: {stderr.Result.Trim().Split('\n')[^1]}";
            return null;
        }
        var best = new List<double>();
        var epochs = new List<int>();
        foreach (var line in stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var json = JsonDocument.Parse(line);
            var b = json.RootElement.GetProperty("best");
            best.Add(b.ValueKind == JsonValueKind.Number ? b.GetDouble() : double.NaN);
            epochs.Add(json.RootElement.GetProperty("epochs").GetInt32());
        }
        return new Outcome("optuna", sampler, pruner, best, epochs);
    }

    private static string? BuiltInTable()
    {
        using var resource = typeof(SearchBenchmark).Assembly.GetManifestResourceStream("search-table.csv");
        if (resource is null) return null;
        using var reader = new StreamReader(resource);
        return reader.ReadToEnd();
    }
}
