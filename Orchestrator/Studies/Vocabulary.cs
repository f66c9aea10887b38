using System.Reflection;
using Studies.Trials.Catalog;
using Studies.Trials.Components;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Studies;

/// <summary>
/// The names of the study format itself: keys of each section and the allowed values of named
/// choices. Names of components (losses, model kinds, data sources) and their options come from
/// the <see cref="ComponentCatalog"/>, through <see cref="ComponentNames"/>.
/// </summary>
internal static class Vocabulary
{
    public static readonly string[] StudyKeys = ["study", "description", "data", "base", "matrix", "exclude", "search", "resources", "retries", "report", "store", "checkpoints", "notify"];
    public static readonly string[] BaseKeys = ["model", "schedule", "seed", "device", "evaluation"];
    /// <summary>Keys of an expanded trial: the base plus the top-level data section (matrix paths may start with <c>data.</c>).</summary>
    public static readonly string[] TrialKeys = ["data", .. BaseKeys];
    public static readonly string[] DataKeys = ["source", "options", "holdout", "split", "mass_scale"];
    public static readonly string[] SplitKeys = ["train", "validation", "test"];
    /// <summary>Keys of a phase besides its loss's options.</summary>
    public static readonly string[] PhaseOwnKeys =
    [
        "loss", "epochs", "optimizer", "lr", "momentum", "weight_decay", "batch", "plateau",
        "early_stopping", "keep_best", "loss_options",
    ];
    public static readonly string[] PlateauKeys = ["factor", "patience", "min_lr", "monitor"];
    public static readonly string[] PlateauMonitors = ["validation_loss", "train_loss"];
    /// <summary>Keys of <c>early_stopping</c> every rule takes; a rule's own options come on top (<see cref="ComponentNames.EarlyStoppingKeys"/>).</summary>
    public static readonly string[] EarlyStoppingOwnKeys = ["rule", "patience", "metric"];
    public static readonly string[] EvaluationKeys = ["validation_every", "min_background_yield", "min_background_events", "min_signal_efficiency", "background_uncertainty"];
    public static readonly string[] SearchKeys = ["samples", "seed", "space", "sampler", "pruner", "objective", "objectives"];
    public static readonly string[] Distributions = ["loguniform", "uniform", "int", "choice"];
    public static readonly string[] ResourcesKeys = ["executor", "devices", "trials_per_device", "threads_per_trial", "cpu_workers", "oversubscribe", "fuse",
        "partition", "gres", "time", "array_parallel", "sbatch_args"];
    public static readonly string[] RetriesKeys = ["max", "backoff"];
    public static readonly string[] NotifyKeys = ["webhook", "command", "on"];
    public static readonly string[] ReportKeys = ["compare", "headline"];

    /// <summary>Settings that take whole numbers: a search over them must use the <c>int</c> distribution.</summary>
    public static readonly string[] IntegerKeys = ["epochs", "patience", "seed", "validation_every", "batch", "hidden", "min_background_events"];

    /// <summary>Validation metrics a phase can keep the best epoch of, or stop early on.</summary>
    public static readonly string[] Metrics = typeof(MetricNames)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)
        .Where(n => n is not (MetricNames.LearningRate or MetricNames.BestCut or MetricNames.GlobalCut or MetricNames.ZCut or MetricNames.OptimalSuffix))
        .ToArray();

    /// <summary>Common other spellings, so that a near-miss of a short key still finds it (<c>learning_rate</c> -> <c>lr</c>).</summary>
    private static readonly Dictionary<string, string[]> Synonyms = new()
    {
        ["lr"] = ["learning_rate", "learningrate", "lr_rate", "eta"],
        ["batch"] = ["batch_size", "batchsize", "bs"],
        ["epochs"] = ["n_epochs", "num_epochs", "epoch", "max_epochs"],
        ["optimizer"] = ["optimiser", "optim", "opt"],
        ["hidden"] = ["layers", "hidden_layers", "hidden_units", "units"],
        ["activation"] = ["act", "activation_function"],
        ["loss"] = ["loss_function", "objective"],
        ["plateau"] = ["lr_plateau", "reduce_on_plateau", "reduce_lr_on_plateau", "scheduler"],
        ["weight_decay"] = ["decay", "wd"],
        ["source"] = ["dataset", "data_set", "name", "kind", "type"],
        ["validation"] = ["val", "valid", "dev"],
        ["kind"] = ["type", "model", "architecture"],
        ["samples"] = ["n_samples", "num_samples", "trials", "n_trials"],
        ["max"] = ["max_retries", "retries", "attempts"],
        ["min_lr"] = ["min_learning_rate", "minimum_lr"],
        ["keep_best"] = ["best_epoch", "keep_best_epoch", "checkpoint"],
        ["seed"] = ["seeds", "random_seed"],
        ["schedule"] = ["phases", "stages", "training"],
    };

    /// <summary>The valid name closest to <paramref name="given"/>, if it is close enough to be a likely typo.</summary>
    public static string? Closest(string given, IEnumerable<string> valid)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var name in valid)
        {
            var spellings = Synonyms.TryGetValue(name, out var other) ? [name, .. other] : new[] { name };
            foreach (var spelling in spellings)
            {
                var distance = EditDistance(given.ToLowerInvariant(), spelling);
                var limit = Math.Max(1, Math.Min(3, spelling.Length / 3));
                if (distance <= limit && distance < bestDistance) (best, bestDistance) = (name, distance);
            }
        }
        return best;
    }

    /// <summary>Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps cost 1.</summary>
    public static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        for (var j = 1; j <= b.Length; j++)
        {
            var cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
        }
        return d[a.Length, b.Length];
    }

    public static string List(IEnumerable<string> names) => string.Join(", ", names);
}

/// <summary>
/// The names a study may use for components and their options, as the catalog registers them: the
/// reader and the matrix-path check take every such name from here, never from a list of their own.
/// </summary>
internal sealed class ComponentNames
{
    public ComponentNames(ComponentCatalog catalog)
    {
        Catalog = catalog;
        Sources = [.. catalog.DataSources.Names];
        ModelKinds = [.. catalog.Models.Names];
        ParametricKinds = catalog.Models.Entries.Where(m => m.Parametric).Select(m => m.Name).ToArray();
        ModelKeys = ["kind", SpecReader.DefaultsKey, .. catalog.Models.Entries.SelectMany(m => m.Options).Select(o => o.Key).Distinct()];
        ConditioningKeys = catalog.Models.Entries.SelectMany(m => m.Options).Where(o => o.Key == "conditioning")
            .SelectMany(o => o.Fields).Select(f => f.Key).Distinct().ToArray();
        Losses = [.. catalog.Losses.Names];
        AllLossOptionKeys = catalog.Losses.Entries.SelectMany(l => l.Options).Select(o => o.Key).Distinct().ToArray();
        PhaseKeys = [.. Vocabulary.PhaseOwnKeys, .. AllLossOptionKeys];
        Optimizers = [.. catalog.Optimizers.Names];
        StoppingRules = [.. catalog.StoppingRules.Names];
        EarlyStoppingKeys = [.. Vocabulary.EarlyStoppingOwnKeys, .. catalog.StoppingRules.Entries.SelectMany(r => r.Options).Select(o => o.Key).Distinct()];
        IntegerKeys = [.. Vocabulary.IntegerKeys, .. catalog.Losses.Entries.SelectMany(l => l.Options).Concat(catalog.Models.Entries.SelectMany(m => m.Options))
            .Where(o => o.Type == OptionType.Integer).Select(o => o.Key).Distinct()];
    }

    public static ComponentNames BuiltIn { get; } = new(ComponentCatalog.BuiltIn);

    public ComponentCatalog Catalog { get; }
    public string[] Sources { get; }
    public string[] ModelKinds { get; }
    public string[] ParametricKinds { get; }
    /// <summary>Keys of <c>model</c> for any kind; which kind takes which is in its entry.</summary>
    public string[] ModelKeys { get; }
    public string[] ConditioningKeys { get; }
    public string[] Losses { get; }
    /// <summary>Options of any loss: a phase may write them directly, so they are phase keys too.</summary>
    public string[] AllLossOptionKeys { get; }
    public string[] PhaseKeys { get; }
    /// <summary>Settings that take whole numbers, loss options included.</summary>
    public string[] IntegerKeys { get; }
    public string[] Optimizers { get; }
    public string[] StoppingRules { get; }
    /// <summary>Keys of <c>early_stopping</c>: those of every rule, and every rule's own options.</summary>
    public string[] EarlyStoppingKeys { get; }
}
