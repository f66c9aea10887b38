using Studies.Reports.Input;
using Studies.Trials.Results;
using Studies.Trials.Training;

namespace Studies.Reports.Analysis;

/// <summary>
/// One trial of a search as its sampler and pruner saw it: its place in the proposal order, its state (completed or
/// pruned), and for each objective the best validation value over the epochs it recorded (what keep-best on that metric
/// keeps; for a pruned trial, up to the epoch it was stopped at).
/// </summary>
public sealed record SearchTrialValue(TrialRecord Trial, int Order, double[] Values)
{
    public bool Pruned => Trial.State == TrialState.Pruned;
}

/// <summary>The search views of a report: optimisation history, parameter importance, and the Pareto front of two objectives.</summary>
public static class SearchProgress
{
    /// <summary>Completed and pruned trials in proposal order with their objective values (trials that measured none are left out).</summary>
    public static IReadOnlyList<SearchTrialValue> Values(StudyRecord study)
    {
        var list = new List<SearchTrialValue>();
        var order = 0;
        foreach (var trial in study.Trials)
        {
            order++;
            if (trial.State is not (TrialState.Completed or TrialState.Pruned) || trial.Result is not { } result) continue;
            var until = trial.State == TrialState.Pruned ? TrialStates.PrunedEpoch(trial.Error) : int.MaxValue;
            var values = study.SearchObjectives.Select(metric =>
            {
                var measured = result.Epochs.Where(e => e.Epoch <= until && e.Metrics.TryGetValue(metric, out var v) && double.IsFinite(v))
                    .Select(e => e.Metrics[metric]).ToList();
                return measured.Count == 0 ? double.NaN : MetricDirection.HigherIsBetter(metric) ? measured.Max() : measured.Min();
            }).ToArray();
            if (values.Length > 0 && values.All(double.IsFinite)) list.Add(new SearchTrialValue(trial, order, values));
        }
        return list;
    }

    /// <summary>The best value of the first objective among the completed trials up to each trial (pruned ones do not count).</summary>
    public static IReadOnlyList<double> BestSoFar(IReadOnlyList<SearchTrialValue> values, string metric)
    {
        var higher = MetricDirection.HigherIsBetter(metric);
        var best = double.NaN;
        var list = new List<double>();
        foreach (var v in values)
        {
            if (!v.Pruned && (double.IsNaN(best) || (higher ? v.Values[0] > best : v.Values[0] < best))) best = v.Values[0];
            list.Add(best);
        }
        return list;
    }

    /// <summary>
    /// Each searched parameter's importance: the share of the variance of the first objective over completed trials that a
    /// one-way analysis of variance attributes to it (eta squared, between-group over total sum of squares), a numeric
    /// parameter grouped into quartiles of its values (on a log scale when its axis is). It measures each parameter's
    /// marginal effect and not its interactions (Optuna's default, fANOVA, fits a random forest to include them); with the
    /// few dozen trials of a search it is a guide to where the objective moves, not a test.
    /// </summary>
    public static IReadOnlyList<(string Parameter, double Importance)> Importance(IReadOnlyList<SearchTrialValue> values, IReadOnlyList<HyperparameterAxis> axes)
    {
        var done = values.Where(v => !v.Pruned).ToList();
        if (done.Count < 4) return [];
        var mean = done.Average(v => v.Values[0]);
        var total = done.Sum(v => Math.Pow(v.Values[0] - mean, 2));
        if (total <= 0) return [];
        var result = new List<(string, double)>();
        foreach (var axis in axes)
        {
            string? Group(SearchTrialValue v)
            {
                if (v.Trial.Axes.GetValueOrDefault(axis.Name) is not { } label) return null;
                if (!axis.Numeric) return label;
                var x = SearchSpace.Transform(axis, SearchSpaces.Parse(label));
                var sorted = done.Select(d => d.Trial.Axes.GetValueOrDefault(axis.Name)).OfType<string>()
                    .Select(l => SearchSpace.Transform(axis, SearchSpaces.Parse(l))).Order().ToList();
                var quartile = sorted.Count(s => s < x) * 4 / sorted.Count;
                return quartile.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            var between = done.GroupBy(Group).Where(g => g.Key is not null)
                .Sum(g => g.Count() * Math.Pow(g.Average(v => v.Values[0]) - mean, 2));
            result.Add((axis.Name, between / total));
        }
        return result.OrderByDescending(r => r.Item2).ToList();
    }

    /// <summary>The trials no other trial beats in both objectives (directions as each metric has it), in proposal order.</summary>
    public static IReadOnlyList<SearchTrialValue> ParetoFront(IReadOnlyList<SearchTrialValue> values, IReadOnlyList<string> objectives)
    {
        var done = values.Where(v => !v.Pruned).ToList();
        double Oriented(SearchTrialValue v, int i) => MetricDirection.HigherIsBetter(objectives[i]) ? -v.Values[i] : v.Values[i];
        bool Dominates(SearchTrialValue a, SearchTrialValue b) =>
            Enumerable.Range(0, objectives.Count).All(i => Oriented(a, i) <= Oriented(b, i))
            && Enumerable.Range(0, objectives.Count).Any(i => Oriented(a, i) < Oriented(b, i));
        return done.Where(v => !done.Any(o => Dominates(o, v))).ToList();
    }
}
