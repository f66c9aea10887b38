namespace Studies.Orchestrator.Search.Samplers;

/// <summary>What TPE is told to do; the defaults are Optuna 3.1's.</summary>
public sealed record TpeOptions(int StartupTrials = 10, int Candidates = 24, bool Multivariate = false, bool ConstantLiar = false);

/// <summary>
/// The tree-structured Parzen estimator (Bergstra et al. 2011; Optuna's TPESampler): split the
/// finished trials into the best gamma(n) = min(ceil(n/10), 25) ("below") and the rest, model each
/// group's points with a <see cref="ParzenEstimator"/>, draw candidates from the good model l(x) and
/// propose the one with the largest l(x)/g(x).
/// - Univariate (default): one model per dimension. Multivariate: one joint model of the
///   dimensions every trial has (the unconditional ones); conditional dimensions are then
///   proposed one by one from the trials where they exist.
/// - Pruned trials count, ranked after every complete one by how far they got (later step first),
///   then by their last reported value: a trial pruned late was nearly good.
/// - Constant liar: a running trial counts as the worst result, so parallel workers asking at the
///   same time do not all crowd the same good region.
/// </summary>
public sealed class TpeSampler(TpeOptions? options = null) : ISampler
{
    private readonly TpeOptions options = options ?? new TpeOptions();

    public IReadOnlyDictionary<string, double> Ask(SearchSpace space, IReadOnlyList<SearchTrial> history, Random random)
    {
        var point = new Dictionary<string, double>();
        var joint = options.Multivariate ? space.Dimensions.Where(d => d.When is null).ToList() : [];
        if (joint.Count > 0)
        {
            foreach (var (k, v) in ProposeJoint(joint, history, random)) point[k] = v;
        }
        return CompleteOneByOne(space, history, point, random);
    }

    /// <summary>Proposes, one by one in space order, every dimension that <paramref name="point"/> lacks and whose condition holds.</summary>
    internal Dictionary<string, double> CompleteOneByOne(SearchSpace space, IReadOnlyList<SearchTrial> history, Dictionary<string, double> point, Random random)
    {
        foreach (var d in space.Dimensions)
        {
            if (point.ContainsKey(d.Name) || d.When is { } c && !c.Holds(point)) continue;
            foreach (var (k, v) in ProposeJoint([d], history, random, univariate: true)) point[k] = v;
        }
        return point;
    }

    private IReadOnlyDictionary<string, double> ProposeJoint(IReadOnlyList<SearchDimension> dims, IReadOnlyList<SearchTrial> history, Random random, bool univariate = false)
    {
        var usable = history.Where(t => Counts(t) && dims.All(d => t.Point.ContainsKey(d.Name))).OrderBy(t => t.Number).ToList();
        if (usable.Count(t => t.State != SearchTrialState.Running) < options.StartupTrials)
            return dims.ToDictionary(d => d.Name, d => RandomSampler.Draw(d, random));

        var (l, g) = Models(dims, usable, multivariate: !univariate && dims.Count > 1);
        IReadOnlyDictionary<string, double>? best = null;
        var bestScore = double.NegativeInfinity;
        for (var i = 0; i < options.Candidates; i++)
        {
            var candidate = l.Sample(random);
            var score = l.LogDensity(candidate) - g.LogDensity(candidate);
            if (best is null || score > bestScore) (best, bestScore) = (candidate, score);
        }
        return best!;
    }

    /// <summary>The good model l(x) and the bad model g(x) of <paramref name="dims"/> from the trials that count.</summary>
    internal static (ParzenEstimator Good, ParzenEstimator Bad) Models(IReadOnlyList<SearchDimension> dims, IReadOnlyList<SearchTrial> trials, bool multivariate)
    {
        var (below, above) = Split(trials);
        return (new ParzenEstimator(dims, below.Select(t => t.Point).ToList(), multivariate),
            new ParzenEstimator(dims, above.Select(t => t.Point).ToList(), multivariate));
    }

    /// <summary>The acquisition log l(x) - log g(x) at <paramref name="point"/> as this sampler would score it now.</summary>
    internal double Score(IReadOnlyList<SearchDimension> dims, IReadOnlyList<SearchTrial> history, IReadOnlyDictionary<string, double> point)
    {
        var usable = history.Where(t => Counts(t) && dims.All(d => t.Point.ContainsKey(d.Name))).OrderBy(t => t.Number).ToList();
        var (l, g) = Models(dims, usable, multivariate: dims.Count > 1);
        return l.LogDensity(point) - g.LogDensity(point);
    }

    private bool Counts(SearchTrial t) => t.State switch
    {
        SearchTrialState.Complete => t.Value is { } v && double.IsFinite(v),
        SearchTrialState.Pruned => true,
        SearchTrialState.Running => options.ConstantLiar,
        _ => false,
    };

    /// <summary>The best gamma(n) trials (ranked as the class comment says) and the rest, each in trial-number order.</summary>
    internal static (List<SearchTrial> Below, List<SearchTrial> Above) Split(IReadOnlyList<SearchTrial> trials)
    {
        var n = trials.Count;
        var nBelow = Math.Min((int)Math.Ceiling(0.1 * n), 25);
        var ranked = trials.OrderBy(Rank).ThenBy(t => t.Number).ToList();
        var below = ranked.Take(nBelow).OrderBy(t => t.Number).ToList();
        var above = ranked.Skip(nBelow).OrderBy(t => t.Number).ToList();
        return (below, above);
    }

    private static (int Group, double Step, double Value) Rank(SearchTrial t) => t.State switch
    {
        SearchTrialState.Complete => (0, 0, t.Value!.Value),
        SearchTrialState.Pruned when t.Curve.Count > 0 => (1, -t.Curve[^1].Step, t.Curve[^1].Value),
        SearchTrialState.Pruned => (2, 0, 0),
        _ => (3, 0, 0),
    };
}
