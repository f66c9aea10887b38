namespace Studies.Orchestrator.Search.Samplers;

/// <summary>Independent uniform draws (log-uniform on a log scale); TPE's start-up and the baseline every sampler must beat.</summary>
public sealed class RandomSampler : ISampler
{
    public IReadOnlyDictionary<string, double> Ask(SearchSpace space, IReadOnlyList<SearchTrial> history, Random random)
    {
        var point = new Dictionary<string, double>();
        foreach (var d in space.Dimensions)
        {
            if (d.When is { } c && !c.Holds(point)) continue;
            point[d.Name] = Draw(d, random);
        }
        return point;
    }

    public static double Draw(SearchDimension d, Random random)
    {
        var u = random.NextDouble();
        return d.Kind switch
        {
            DimensionKind.Categorical => Math.Min(d.Choices - 1, Math.Floor(u * d.Choices)),
            // A whole number on a log scale: log-uniform over its rounding cells [low - 1/2, high + 1/2], as Optuna draws it.
            DimensionKind.Int when d.Log => Math.Clamp(Math.Round(Math.Exp(Math.Log(d.Low - 0.5) + u * (Math.Log(d.High + 0.5) - Math.Log(d.Low - 0.5)))), d.Low, d.High),
            DimensionKind.Int => Math.Min(d.High, d.Low + Math.Floor(u * (d.High - d.Low + 1))),
            _ when d.Log => Math.Exp(Math.Log(d.Low) + u * (Math.Log(d.High) - Math.Log(d.Low))),
            _ => d.Low + u * (d.High - d.Low),
        };
    }
}
