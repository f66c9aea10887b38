using Microsoft.Extensions.Logging;
using Studies.Orchestrator.Search;
using Studies.Orchestrator.Search.Components;
using Studies.Orchestrator.Search.Pruners;
using Studies.Orchestrator.Search.Samplers;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Studies;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Scheduling;

/// <summary>One trial's objective values by validation epoch (minimised), as the store holds them.</summary>
public sealed record TrialCurve(string TrialId, int Ordinal, TrialState State, int? Proposal, IReadOnlyList<(int Step, double[] Values)> Points)
{
    /// <summary>The best value of the first objective over the curve (what keep-best would keep), or null when none was measured.</summary>
    public double? Best => Points.Select(p => p.Values[0]).Where(double.IsFinite).Cast<double?>().Min();

    /// <summary>The trial as a single-objective pruner sees it: numbered by its ordinal, its first objective's curve.</summary>
    public SearchTrial AsSearchTrial() => new(Ordinal, new Dictionary<string, double>(),
        State switch
        {
            TrialState.Completed => SearchTrialState.Complete,
            TrialState.Pruned => SearchTrialState.Pruned,
            TrialState.Failed or TrialState.Diverged or TrialState.Cancelled => SearchTrialState.Failed,
            _ => SearchTrialState.Running,
        }, Best, Points.Select(p => (p.Step, p.Values[0])).ToList());
}

/// <summary>
/// The search of one study during a run (Ray Tune's searcher and scheduler seams in one place): it proposes the next
/// point when a worker slot finds nothing to claim (ask), and judges a running trial after each validation epoch that
/// measured its objectives (continue / stop). It keeps nothing of its own between calls: the history it asks the sampler
/// with and the curves its pruner compares are read from the store, and a proposal is recorded there (with its trials)
/// before any of them runs. So a resumed run, a second orchestrator or a Slurm task continues the same search, and with
/// one worker slot the sequence of proposals is a pure function of the study (its seed and the trials' results).
/// </summary>
public sealed class SearchDriver
{
    private readonly Study study;
    private readonly SearchSection search;
    private readonly SearchSpace space;
    private readonly ISampler? sampler;
    private readonly IPruner? pruner;
    private readonly ParetoSuccessiveHalvingPruner? paretoPruner;
    private readonly ILogger logger;

    public SearchDriver(Study study, ILogger logger)
    {
        this.study = study;
        search = study.Search ?? throw new ArgumentException($"study '{study.Name}' has no search", nameof(study));
        this.logger = logger;
        space = SpaceOf(search);
        sampler = SearchComponents.Samplers.Get(search.Sampler).Create(search.SamplerOptions);
        var entry = SearchComponents.Pruners.Get(search.Pruner.Name);
        var context = new PrunerContext(search.Pruner.Options, study.Trials.Select(t => t.Spec.Schedule.Sum(p => p.Epochs)).DefaultIfEmpty(1).Max());
        if (!search.Prunes) return;
        if (search.Objectives.Count == 2) paretoPruner = entry.CreateTwoObjective!(context);
        else pruner = entry.Create(context);
    }

    /// <summary>A driver when the study searches adaptively or prunes; null when a run has nothing to decide.</summary>
    public static SearchDriver? For(Study study, ILogger logger) =>
        study.Search is { } s && (s.Adaptive || s.Prunes) ? new SearchDriver(study, logger) : null;

    /// <summary>The validation metrics every trial must measure at its validation epochs: the objectives.</summary>
    public IReadOnlyList<string> Monitor => search.Objectives.Select(o => o.Metric).ToList();

    public bool Prunes => search.Prunes;

    /// <summary>The searched parameters as samplers see them (a choice as an index; a condition on an earlier choice).</summary>
    public static SearchSpace SpaceOf(SearchSection search) => new(search.Space.Select(p =>
    {
        var name = p.Path.Text;
        var when = p.When is { } w ? new Condition(w.Parameter, w.Choices) : null;
        return p.Distribution switch
        {
            SearchDistribution.LogUniform => SearchDimension.Float(name, p.Low, p.High, log: true, when),
            SearchDistribution.Uniform => SearchDimension.Float(name, p.Low, p.High, log: false, when),
            SearchDistribution.Int => SearchDimension.Integer(name, (int)p.Low, (int)p.High, log: false, when),
            _ => SearchDimension.Categorical(name, p.Choices.Count, when),
        };
    }).ToList());

    /// <summary>The objective values (minimised) an epoch's metrics carry, when it measured all of them.</summary>
    public double[]? Objectives(IReadOnlyDictionary<string, double> metrics)
    {
        var values = new double[search.Objectives.Count];
        for (var i = 0; i < values.Length; i++)
        {
            if (!metrics.TryGetValue(search.Objectives[i].Metric, out var v)) return null;
            values[i] = search.Objectives[i].Minimised(v);
        }
        return values;
    }

    // ---- ask ----------------------------------------------------------------------------------

    /// <summary>How many proposals an adaptive search may still make (0 for any other study): work a cluster executor must wait for.</summary>
    public async Task<int> ProposalsLeftAsync(IStudyStorage store, StudyRow row, CancellationToken ct) =>
        sampler is null ? 0 : Math.Max(0, search.Samples - (await store.ListProposalsAsync(row.Id, ct)).Count);

    /// <summary>
    /// The search of a recorded study, read back from its definition (what a cluster task runs with); null when it has
    /// nothing to decide or its file no longer reads (then the task only runs what is queued, and says so).
    /// </summary>
    public static SearchDriver? FromRecord(StudyRow row, ILogger logger)
    {
        if (!row.Settings.IsSearch) return null;
        try
        {
            var file = row.SourcePath ?? $"{row.Name}.yaml";
            var study = StudyLoader.Parse(row.Definition, Path.GetFileName(file), Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".", row.SourcePath);
            return For(study, logger);
        }
        catch (StudyValidationException e)
        {
            logger.LogWarning("study {Study}: its recorded definition no longer reads ({Error}); this task proposes and prunes nothing", row.Name, e.Message);
            return null;
        }
    }

    /// <summary>
    /// Records the next proposal and its trials, if the study has an adaptive sampler and proposals left. False when none
    /// was added: the budget is spent, or the space holds no point not proposed already.
    /// </summary>
    public async Task<bool> ProposeAsync(IStudyStorage store, StudyRow row, CancellationToken ct)
    {
        if (sampler is null) return false;
        var repeats = 0;
        for (var tries = 0; tries < 64; tries++)
        {
            var proposals = await store.ListProposalsAsync(row.Id, ct);
            if (proposals.Count >= search.Samples) return false;
            var number = proposals.Count == 0 ? 0 : proposals[^1].Proposal.Number + 1;
            var history = History(proposals, await CurvesAsync(store, row, ct));
            // A point proposed again (its trials exist) is asked again from another stream: the n-th retry is as
            // reproducible as the first ask.
            var random = SearchRandom.For(search.Seed + (ulong)repeats * 0x9E3779B97F4A7C15UL, number);
            var point = sampler.Ask(space, history, random);
            var trials = StudyExpander.ForPoint(study, point);
            var rows = trials.Select(t => new PlannedTrialRow(t.TrialId, SpecJson.Serialize(t.Spec), t.Axes)).ToList();
            if (await store.AddProposalAsync(row.Id, new SearchProposal(number, point), rows, ct))
            {
                logger.LogInformation("search of {Study}: proposal {Number} ({Point}), {Trials} trial(s)", study.Name, number,
                    string.Join(", ", trials[0].Axes.Where(a => point.ContainsKey(a.Key)).Select(a => $"{a.Key} {a.Value}")), trials.Count);
                return true;
            }
            // Either another orchestrator took the number (read again), or the point was proposed before (ask again).
            var now = await store.ListProposalsAsync(row.Id, ct);
            if (now.Count == proposals.Count) repeats++;
        }
        logger.LogWarning("search of {Study}: no new point found in 64 asks; the space may hold no point not proposed already", study.Name);
        return false;
    }

    /// <summary>Each proposal as the sampler sees it: its point, and the state and mean objective of its trials (one per matrix combination).</summary>
    public static IReadOnlyList<SearchTrial> History(IReadOnlyList<RecordedProposal> proposals, IReadOnlyList<TrialCurve> curves)
    {
        var byId = curves.ToDictionary(c => c.TrialId, StringComparer.Ordinal);
        return proposals.Select(p =>
        {
            var mine = p.TrialIds.Select(id => byId.GetValueOrDefault(id)).OfType<TrialCurve>().ToList();
            var state = StateOf(mine);
            var value = state == SearchTrialState.Complete && mine.All(c => c.Best is not null) ? mine.Average(c => c.Best!.Value) : (double?)null;
            var longest = mine.OrderByDescending(c => c.Points.Count).FirstOrDefault();
            return new SearchTrial(p.Proposal.Number, p.Proposal.Point, value is null && state == SearchTrialState.Complete ? SearchTrialState.Failed : state, value,
                longest?.Points.Select(x => (x.Step, x.Values[0])).ToList());
        }).ToList();
    }

    private static SearchTrialState StateOf(IReadOnlyList<TrialCurve> trials)
    {
        if (trials.Count == 0) return SearchTrialState.Running;
        if (trials.Any(t => t.State == TrialState.Pruned)) return SearchTrialState.Pruned;
        if (trials.Any(t => !t.State.IsFinal())) return SearchTrialState.Running;
        return trials.All(t => t.State == TrialState.Completed) ? SearchTrialState.Complete : SearchTrialState.Failed;
    }

    // ---- judge --------------------------------------------------------------------------------

    private (long At, IReadOnlyList<TrialCurve> Curves)? cached;
    private readonly SemaphoreSlim reading = new(1, 1);

    /// <summary>
    /// Whether a running trial goes on after a validation epoch, judged on its curve so far against every other trial of the
    /// study as the store holds them: read at most once a second (a rung's competitors finish over minutes, not
    /// milliseconds), and always afresh after <paramref name="startedAt"/> (<see cref="Environment.TickCount64"/> when the
    /// trial was claimed), so that every trial finished before it started is judged from its full record and one worker
    /// slot decides the same on every run.
    /// </summary>
    public async Task<PruneDecision> JudgeAsync(IStudyStorage store, StudyRow row, TrialRow trial, IReadOnlyList<(int Step, double[] Values)> curve,
        long startedAt, CancellationToken ct)
    {
        if (!search.Prunes || curve.Count == 0) return PruneDecision.Continue;
        IReadOnlyList<TrialCurve> others;
        await reading.WaitAsync(ct);
        try
        {
            if (cached is not { } c || c.At < startedAt || Environment.TickCount64 - c.At > 1000) cached = (Environment.TickCount64, await CurvesAsync(store, row, ct));
            others = cached.Value.Curves.Where(t => t.TrialId != trial.TrialId).ToList();
        }
        finally
        {
            reading.Release();
        }
        return Judge(new TrialCurve(trial.TrialId, trial.Ordinal, TrialState.Running, null, curve), others);
    }

    /// <summary>The pruner's decision on <paramref name="trial"/> against <paramref name="others"/> (pure).</summary>
    public PruneDecision Judge(TrialCurve trial, IReadOnlyList<TrialCurve> others)
    {
        if (paretoPruner is not null)
            return paretoPruner.Decide(new ObjectiveCurve(trial.Ordinal, trial.Points), others.Select(o => new ObjectiveCurve(o.Ordinal, o.Points)).ToList());
        if (pruner is null) return PruneDecision.Continue;
        return pruner.Decide(trial.AsSearchTrial(), others.Select(o => o.AsSearchTrial()).ToList());
    }

    /// <summary>Every trial of the study's definition with its objective curve.</summary>
    private async Task<IReadOnlyList<TrialCurve>> CurvesAsync(IStudyStorage store, StudyRow row, CancellationToken ct)
    {
        var curves = new List<TrialCurve>();
        foreach (var t in (await store.ListTrialsAsync(row.Id, ct)).Where(t => t.InDefinition))
        {
            // A pruned trial's curve ends where the pruner stopped it (its worker may have trained an epoch or two more).
            var until = t.State == TrialState.Pruned ? TrialStates.PrunedEpoch(t.Error) : int.MaxValue;
            var points = t.State == TrialState.Queued ? [] : (await store.LoadEpochsAsync(row.Id, t.TrialId, ct))
                .Select(e => (e.Epoch, Values: Objectives(e.Metrics))).Where(e => e.Values is not null && e.Epoch <= until).Select(e => (e.Epoch, e.Values!)).ToList();
            curves.Add(new TrialCurve(t.TrialId, t.Ordinal, t.State, t.Ordinal >= SearchOrdinals.First ? (t.Ordinal - SearchOrdinals.First) / SearchOrdinals.PerProposal : null, points));
        }
        return curves;
    }
}
