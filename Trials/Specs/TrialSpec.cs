using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Studies.Trials.Specs;

/// <summary>
/// A fully resolved, plain description of one trial: everything needed to reproduce it, and
/// nothing about how a study was written. Its canonical JSON (see <see cref="SpecJson"/>) is hashed
/// into the trial's identity, so two specs that train the same thing must serialise the same.
/// </summary>
public sealed record TrialSpec
{
    public required DataSpec Data { get; init; }
    public required ModelSpec Model { get; init; }
    /// <summary>Ordered training phases; weights carry over, each phase gets a fresh optimiser.</summary>
    public required IReadOnlyList<PhaseSpec> Schedule { get; init; }
    public ulong Seed { get; init; } = 1;
    /// <summary><c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>; the scheduler pins workers, so usually <c>cpu</c> or <c>cuda</c>.</summary>
    public string Device { get; init; } = "cpu";
    public int Threads { get; init; } = 1;
    public EvaluationSpec Evaluation { get; init; } = new();
}

/// <summary>Which events, which masses are held out, and how they are split.</summary>
public sealed record DataSpec
{
    /// <summary><c>gaussian-toy</c>, <c>lovasz-toy</c>, <c>recoil-toy</c>, <c>hepmass</c>, <c>csv</c> or <c>npz</c>.</summary>
    public required string Source { get; init; }
    /// <summary>Source-specific options (path, column map, mass grid, events per mass, cross-sections...).</summary>
    public JsonObject Options { get; init; } = new();
    public HoldoutSpec Holdout { get; init; } = HoldoutSpec.None;
    public SplitSpec Split { get; init; } = new();
    /// <summary>Divisor of the mass fed to parametric nets; null: the largest mass (methods.md section 2).</summary>
    public double? MassScale { get; init; }
}

/// <summary>Held-out masses: none, every second mass of the sorted grid (starting with the second), or a list.</summary>
public sealed record HoldoutSpec(string Kind, IReadOnlyList<double>? Masses = null)
{
    public static readonly HoldoutSpec None = new("none");
    public static readonly HoldoutSpec EverySecond = new("every-second");
    public static HoldoutSpec List(params double[] masses) => new("list", masses);
}

public sealed record SplitSpec(double Train = 0.6, double Validation = 0.2, double Test = 0.2);

/// <summary>The network (methods.md section 2) and how parametric nets see background masses (section 4).</summary>
public sealed record ModelSpec
{
    /// <summary><c>dnn</c>, <c>pnn</c>, <c>affine-pnn</c>, <c>per-mass</c> or <c>bdt</c>.</summary>
    public string Kind { get; init; } = "dnn";
    public IReadOnlyList<int> Hidden { get; init; } = [8, 4];
    /// <summary><c>tanh</c> or <c>relu</c>.</summary>
    public string Activation { get; init; } = "tanh";
    public double Dropout { get; init; }
    /// <summary>General conditioning; null means the kind's own (pnn: concat/input, affine-pnn: affine/all).</summary>
    public ConditioningSpec? Conditioning { get; init; }
    /// <summary><c>kaiming-normal</c>, <c>xavier-uniform</c>, <c>he-uniform</c> or <c>pytorch</c>; null: the kind's reference
    /// (dnn kaiming-normal, affine-pnn xavier-uniform, others pytorch).</summary>
    public string? WeightInit { get; init; }
    /// <summary><c>normal</c> (N(0,1)), <c>zeros</c> or <c>pytorch</c>; null: the kind's reference (dnn normal, affine-pnn zeros, others pytorch).</summary>
    public string? BiasInit { get; init; }
    /// <summary><c>identical</c> (drawn from the trained masses) or <c>uniform</c> (continuous range).</summary>
    public string BackgroundMass { get; init; } = "identical";
    /// <summary><c>fixed</c> (assigned once), <c>resampled</c> (every epoch) or <c>resampled-batch</c> (every batch, as in the AffinePNN reference).</summary>
    public string BackgroundMassMode { get; init; } = "fixed";
    /// <summary><c>none</c> (weights only), <c>class</c>, <c>signal</c>, <c>background</c> or <c>full</c>.</summary>
    public string Balance { get; init; } = "none";
    public double L2Kernel { get; init; }
    public double L2Bias { get; init; }
    /// <summary>
    /// Standardise every input (features, and the mass of parametric nets) with the mean and standard
    /// deviation of the training split before the first layer; the shift and scale are stored in the
    /// checkpoint. On by default.
    /// </summary>
    public bool Standardize { get; init; } = true;
    /// <summary>
    /// How a parametric net's mass input is encoded, independently of <see cref="Standardize"/>:
    /// <c>standardized</c> ((m - mean) / sd of the trained grid) or <c>scaled</c> (m / mass_scale).
    /// Null is the rule of every release before the option existed (standardized when
    /// <see cref="Standardize"/>, scaled otherwise), and the study reader stores null whenever the
    /// resolved encoding equals that rule, so specs recorded before keep their meaning and their ids.
    /// Resolve with <see cref="MassEncodings.Of"/>.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? MassEncoding { get; init; }

    /// <summary>The boosted decision trees of kind <c>bdt</c>; null for nets (omitted from the JSON, so nets keep their ids).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public BoostingSpec? Boosting { get; init; }
}

/// <summary>
/// Gradient-boosted decision trees (model kind <c>bdt</c>): <see cref="Trees"/> boosting rounds of trees at most
/// <see cref="Depth"/> deep with at most <see cref="Leaves"/> leaves (null: 2^depth), shrunk by <see cref="LearningRate"/>,
/// on features binned into at most <see cref="Bins"/> values. <see cref="PerMass"/>: one ensemble per trained mass
/// (routed like per-mass nets); otherwise one parametric ensemble with the mass as a feature.
/// </summary>
public sealed record BoostingSpec
{
    public int Trees { get; init; } = 200;
    public int Depth { get; init; } = 6;
    public double LearningRate { get; init; } = 0.1;
    public int? Leaves { get; init; }
    public int MinEventsPerLeaf { get; init; } = 20;
    public int Bins { get; init; } = 255;
    public bool PerMass { get; init; }

    /// <summary>The leaf budget of a tree: <see cref="Leaves"/>, else a full tree of <see cref="Depth"/> levels (derived: not part of the id).</summary>
    [JsonIgnore]
    public int LeafCount => Leaves ?? (1 << Math.Min(Depth, 17));
}

/// <summary>How the mass enters a parametric net: concat, bias, scale or affine, at the places <see cref="Studies.Trials.Models.ConditionedMlp.ConditioningPoints"/> names (input, start, end, all, every).</summary>
public sealed record ConditioningSpec(string Method, string Place);

/// <summary>One phase of a loss schedule (methods.md section 5).</summary>
public sealed record PhaseSpec
{
    /// <summary><c>bce</c>, <c>punzi</c> or <c>lovasz</c>.</summary>
    public required string Loss { get; init; }
    public required int Epochs { get; init; }
    /// <summary><c>sgd</c>, <c>adam</c>, <c>adamw</c> or <c>radam</c>.</summary>
    public string Optimizer { get; init; } = "adam";
    public double LearningRate { get; init; } = 1e-3;
    public double Momentum { get; init; }
    public double WeightDecay { get; init; }
    /// <summary>Events per batch; null means full batch.</summary>
    public int? Batch { get; init; } = 1024;
    public PlateauSpec? Plateau { get; init; }
    public EarlyStoppingSpec? EarlyStopping { get; init; }
    /// <summary>Keep the epoch with the best value of this validation metric (e.g. <c>roc_auc</c>, <c>loss</c>).</summary>
    public string? KeepBest { get; init; }
    /// <summary>Loss parameters: Punzi <c>formula, a, b, luminosity, scale, n_sigma, eps_floor, b_floor</c>; Lovász <c>luminosity, eps</c>;
    /// BCE <c>weighting</c> (cross-section, balanced, none) and <c>events</c> (all, in-windows).</summary>
    public JsonObject LossOptions { get; init; } = new();
}

/// <summary>
/// Multiply the learning rate by <see cref="Factor"/> after <see cref="Patience"/> epochs without improvement of the
/// monitored loss: <c>validation_loss</c> (default) or <c>train_loss</c> (the Punzi-net reference steps on the training loss).
/// </summary>
public sealed record PlateauSpec(double Factor = 0.5, int Patience = 10, double MinLearningRate = 0, string Monitor = "validation_loss");

/// <summary>Stop the phase after <see cref="Patience"/> epochs without improvement of <see cref="Metric"/> on validation.</summary>
public sealed record EarlyStoppingSpec(int Patience = 20, string Metric = "loss")
{
    /// <summary>The stopping rule (a name in the catalog's <c>StoppingRules</c>); null: <c>patience</c>, the rule of every
    /// release before rules could be chosen. Omitted from the JSON when null, so those trials keep their ids.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Rule { get; init; }

    /// <summary>The rule's own options (e.g. <c>min_delta</c>, <c>minutes</c>); null when none is written (omitted from the JSON).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonObject? Options { get; init; }
}

/// <summary>What is measured per mass (methods.md section 6).</summary>
public sealed record EvaluationSpec
{
    /// <summary>Every how many epochs the validation metrics of the training curve are computed (0: loss only).</summary>
    public int ValidationEvery { get; init; } = 1;
    public double MinBackgroundYield { get; init; } = 5;
    /// <summary>The same floor counted in simulated background events passing the cut (unweighted).</summary>
    public int MinBackgroundEvents { get; init; } = 5;
    public double MinSignalEfficiency { get; init; } = 0.05;
    /// <summary>
    /// Relative uncertainty sigma_b / b of the background yield, for the Asimov discovery significance
    /// with that uncertainty (<c>z_asimov_sigma_b_best</c>); null: none (then it equals <c>z_asimov_best</c>).
    /// Omitted from the JSON when null, so trials recorded before keep their ids.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? BackgroundUncertainty { get; init; }
}
