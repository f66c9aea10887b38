namespace Studies.Orchestrator.Search;

/// <summary>How a searched setting takes its values.</summary>
public enum DimensionKind { Float, Int, Categorical }

/// <summary>
/// A parameter that exists only when another (categorical) one takes one of <paramref name="Values"/>,
/// e.g. a Punzi-phase learning rate only when the schedule has a Punzi phase.
/// </summary>
public sealed record Condition(string Parameter, IReadOnlyList<int> Values)
{
    public bool Holds(IReadOnlyDictionary<string, double> point) =>
        point.TryGetValue(Parameter, out var v) && Values.Contains((int)v);
}

/// <summary>
/// One searched setting. Floats and ints lie in [<see cref="Low"/>, <see cref="High"/>], on a log
/// scale when <see cref="Log"/>; a categorical value is the index of its choice (0 ..
/// <see cref="Choices"/>-1), so a point is a plain name -> number map that stores and hashes well.
/// </summary>
public sealed record SearchDimension(string Name, DimensionKind Kind, double Low, double High, bool Log = false, int Choices = 0, Condition? When = null)
{
    public static SearchDimension Float(string name, double low, double high, bool log = false, Condition? when = null) =>
        new(name, DimensionKind.Float, low, high, log, 0, when);

    public static SearchDimension Integer(string name, int low, int high, bool log = false, Condition? when = null) =>
        new(name, DimensionKind.Int, low, high, log, 0, when);

    public static SearchDimension Categorical(string name, int choices, Condition? when = null) =>
        new(name, DimensionKind.Categorical, 0, choices - 1, false, choices, when);

    /// <summary>Whether a value lies in the dimension (an int or a choice index must be whole).</summary>
    public bool Contains(double value) => Kind switch
    {
        DimensionKind.Float => value >= Low && value <= High,
        _ => value >= Low && value <= High && value == Math.Round(value),
    };
}

/// <summary>The searched settings, in the order they are drawn (a condition refers to an earlier one).</summary>
public sealed class SearchSpace
{
    public SearchSpace(IReadOnlyList<SearchDimension> dimensions)
    {
        var seen = new HashSet<string>();
        foreach (var d in dimensions)
        {
            if (!seen.Add(d.Name)) throw new ArgumentException($"search dimension '{d.Name}' is given twice");
            if (d.When is { } c && !dimensions.TakeWhile(x => x != d).Any(x => x.Name == c.Parameter && x.Kind == DimensionKind.Categorical))
                throw new ArgumentException($"search dimension '{d.Name}' depends on '{c.Parameter}', which is not an earlier categorical dimension");
            if (d.Kind != DimensionKind.Categorical && !(d.Low <= d.High)) throw new ArgumentException($"search dimension '{d.Name}': low {d.Low} above high {d.High}");
            if (d.Log && d.Low <= 0) throw new ArgumentException($"search dimension '{d.Name}': a log scale needs low > 0");
            if (d.Kind == DimensionKind.Categorical && d.Choices < 1) throw new ArgumentException($"search dimension '{d.Name}' has no choices");
        }
        Dimensions = dimensions;
    }

    public IReadOnlyList<SearchDimension> Dimensions { get; }

    /// <summary>The dimensions that exist at <paramref name="point"/> (conditions checked in order).</summary>
    public IEnumerable<SearchDimension> ActiveAt(IReadOnlyDictionary<string, double> point) =>
        Dimensions.Where(d => d.When is null || d.When.Holds(point));
}

/// <summary>Where a trial of a search stands, as a sampler or pruner sees it.</summary>
public enum SearchTrialState { Running, Complete, Pruned, Failed }

/// <summary>
/// One trial as the search sees it: its number (proposal order), its point, its state, its final
/// objective (minimised; a maximised metric is negated by the caller) and its intermediate values
/// by step (validation epoch), which pruners read.
/// </summary>
public sealed record SearchTrial(
    int Number,
    IReadOnlyDictionary<string, double> Point,
    SearchTrialState State,
    double? Value = null,
    IReadOnlyList<(int Step, double Value)>? Intermediate = null)
{
    public IReadOnlyList<(int Step, double Value)> Curve => Intermediate ?? [];
}
