using System.Globalization;
using System.Text.Json.Nodes;
using Studies.Trials.Catalog;
using Studies.Trials.Data;
using Studies.Trials.Models;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Studies;

/// <summary>
/// What a study would run, without running it: trial counts per axis value, the trial list and a
/// rough duration from a deliberately simple cost model (see <see cref="EstimateTrialSeconds"/>).
/// </summary>
public static class DryRun
{
    /// <summary>Assumed multiply-adds per second of one CPU thread on these small dense nets.</summary>
    public const double CpuMacsPerThreadSecond = 1e9;
    /// <summary>Assumed multiply-adds per second of one CUDA trial (small nets leave most of a GPU idle).</summary>
    public const double CudaMacsPerSecond = 5e10;
    /// <summary>A backward pass costs about twice a forward pass.</summary>
    public const double TrainingPassFactor = 3;

    public static void Render(Study study, IReadOnlyList<PlannedTrial> trials, TextWriter output)
    {
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine($"study {study.Name}: {trials.Count} trial{(trials.Count == 1 ? "" : "s")} (definition {study.DefinitionHash}, data {study.Data.Hash})");
        if (study.Description.Length > 0) output.WriteLine($"  {study.Description}");
        var data = study.Data.Spec;
        var grid = study.Data.MassGrid;
        var holdouts = trials.Select(t => t.Spec.Data.Holdout).DistinctBy(HoldoutKey).ToList();
        var varies = holdouts.Count > 1;
        output.WriteLine($"data: {data.Source}"
            + (grid is null ? "" : $", {grid.Count} masses")
            + (varies ? ", held-out set varies between trials (below)" : grid is null ? "" : $", {HeldOut(data.Holdout, grid).Count} held out")
            + $", split {data.Split.Train.ToString(inv)}/{data.Split.Validation.ToString(inv)}/{data.Split.Test.ToString(inv)}");
        if (varies)
        {
            // One line per value of the axis that sets data.holdout, naming the masses it holds out.
            var label = holdouts.ToDictionary(HoldoutKey, h => trials.First(t => HoldoutKey(t.Spec.Data.Holdout) == HoldoutKey(h)).Axes
                .FirstOrDefault(a => a.Key.StartsWith("data.holdout", StringComparison.Ordinal)).Value ?? HoldoutKey(h));
            var width = label.Values.Max(l => l.Length);
            output.WriteLine("held-out masses per data.holdout value:");
            foreach (var h in holdouts)
                output.WriteLine($"  {label[HoldoutKey(h)].PadRight(width)}  {HeldOutText(h, grid)} ({trials.Count(t => HoldoutKey(t.Spec.Data.Holdout) == HoldoutKey(h))} trials)");
        }
        var combinations = study.Matrix.Aggregate(1L, (p, a) => p * a.Values.Count);
        output.WriteLine($"matrix: {(study.Matrix.Count == 0 ? "none" : string.Join(" x ", study.Matrix.Select(a => a.Values.Count)) + $" = {combinations} combinations")}"
            + (study.Exclude.Count > 0 ? $", {study.Exclude.Count} exclude rule{(study.Exclude.Count == 1 ? "" : "s")}" : "")
            + (study.Search is { } s ? $", x {s.Samples} search samples (seed {s.Seed})" : ""));
        if (study.Search is { Adaptive: true } adaptive)
            output.WriteLine($"search: sampler {adaptive.Sampler}, pruner {adaptive.Pruner.Name}, objective{(adaptive.Objectives.Count > 1 ? "s" : "")} "
                + $"{string.Join(", ", adaptive.Objectives.Select(o => o.Metric))}: up to {adaptive.Samples} proposals x {trials.Count} trial(s) each, "
                + "proposed during the run; the trials below are the shape of one proposal (a random draw), the estimate is for all of them unpruned");
        else if (study.Search is { Prunes: true } pruning)
            output.WriteLine($"search: pruner {pruning.Pruner.Name} on {string.Join(", ", pruning.Objectives.Select(o => o.Metric))}; the estimate assumes no trial is pruned");

        var axisNames = trials.SelectMany(t => t.Axes.Keys).Distinct().ToList();
        if (axisNames.Count > 0)
        {
            output.WriteLine();
            output.WriteLine("trials per axis value:");
            var width = axisNames.Max(a => a.Length);
            foreach (var axis in axisNames)
            {
                var counts = trials.GroupBy(t => t.Axes[axis]).Select(g => $"{g.Key} {g.Count()}");
                output.WriteLine($"  {axis.PadRight(width)}  {string.Join(", ", counts)}");
            }
        }

        RenderFairness(study, trials, output);

        output.WriteLine();
        output.WriteLine("trials:");
        var columns = new List<string> { "id" };
        columns.AddRange(axisNames);
        columns.Add("est.");
        var rows = trials.Select(t => (IReadOnlyList<string>)[t.TrialId, .. axisNames.Select(a => t.Axes[a]), Duration(EstimateTrialSeconds(t.Spec, study.Components))]).ToList();
        var widths = columns.Select((c, i) => Math.Max(c.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        output.WriteLine("  " + string.Join("  ", columns.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        foreach (var row in rows) output.WriteLine("  " + string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());

        var (seconds, cpuSlots, cudaSlots) = EstimateStudySeconds(study, trials, Environment.ProcessorCount);
        if (study.Search is { Adaptive: true } proposals) seconds *= proposals.Samples;
        output.WriteLine();
        output.WriteLine($"estimated duration: {Duration(seconds)} on {cpuSlots} CPU worker slot{(cpuSlots == 1 ? "" : "s")}"
            + (trials.Any(t => t.Spec.Device != "cpu") ? $" and {cudaSlots} CUDA slot{(cudaSlots == 1 ? "" : "s")}" : ""));
        output.WriteLine($"  (cost model: train events x epochs x {TrainingPassFactor.ToString(inv)} x multiply-adds per event, plus validation forward passes, "
            + $"at {CpuMacsPerThreadSecond.ToString("0e0", inv)}/s per CPU thread or {CudaMacsPerSecond.ToString("0e0", inv)}/s per CUDA trial; a rough guide only)");
    }

    /// <summary>Every setting that differs between compared methods beyond the compared axes (issue 28), and the warning for kinds compared with their own defaults.</summary>
    public static void RenderFairness(Study study, IReadOnlyList<PlannedTrial> trials, TextWriter output)
    {
        var differences = global::Studies.Reports.Analysis.Fairness.Differences(
            trials.Select(t => new global::Studies.Reports.Analysis.Fairness.PlannedSpec(t.Axes, t.Spec)).ToList(), study.Report.Compare);
        if (study.Report.Compare.Count == 0) return;
        output.WriteLine();
        if (differences.Count == 0)
        {
            output.WriteLine($"fairness: the compared methods differ only in {string.Join(", ", study.Report.Compare)}");
            return;
        }
        output.WriteLine($"fairness: settings that differ between the compared methods beyond {string.Join(", ", study.Report.Compare)}:");
        foreach (var d in differences) output.WriteLine($"  {d.Text}");
        if (global::Studies.Reports.Analysis.Fairness.KindWarning(differences) is { } warning) output.WriteLine(warning);
    }

    /// <summary>
    /// Wall time of the whole study: CPU and CUDA trials run side by side, each kind spread evenly
    /// over its slots (CPU: <c>cpu_workers</c>, or cores / threads per trial; CUDA: devices x
    /// trials per device, <c>auto</c> counting as one device).
    /// </summary>
    public static (double Seconds, int CpuSlots, int CudaSlots) EstimateStudySeconds(Study study, IReadOnlyList<PlannedTrial> trials, int hostCores)
    {
        var r = study.Resources;
        var cpuSlots = r.CpuWorkers ?? Math.Max(1, hostCores / r.ThreadsPerTrial);
        var cudaSlots = (r.Devices?.Count ?? 1) * r.TrialsPerDevice;
        var cpu = trials.Where(t => t.Spec.Device == "cpu").Sum(t => EstimateTrialSeconds(t.Spec, study.Components)) / cpuSlots;
        var cuda = trials.Where(t => t.Spec.Device != "cpu").Sum(t => EstimateTrialSeconds(t.Spec, study.Components)) / cudaSlots;
        return (Math.Max(cpu, cuda), cpuSlots, cudaSlots);
    }

    /// <summary>
    /// Seconds for one trial: per phase, train events x epochs x 3 x multiply-adds per event
    /// (forward + backward), plus validation events x multiply-adds every <c>validation_every</c>
    /// epochs, divided by the assumed throughput. A <c>per-mass</c> model trains one net per trained mass.
    /// </summary>
    public static double EstimateTrialSeconds(TrialSpec spec, ComponentCatalog? components = null) =>
        spec.Schedule.Select((p, i) => p.Epochs * EstimatePhaseEpochSeconds(spec, i, components)).Sum();

    /// <summary>Seconds of one epoch of phase <paramref name="phase"/> by the cost model (see <see cref="EstimateTrialSeconds"/>).</summary>
    public static double EstimatePhaseEpochSeconds(TrialSpec spec, int phase, ComponentCatalog? components = null)
    {
        components ??= ComponentCatalog.BuiltIn;
        var size = EstimateData(spec.Data, components);
        // A bdt: events x (features + mass) x rounds for the fit, its training curve and the evaluation, at
        // BdtFeatureRoundsPerThreadSecond (quickstart-bdt's bdt trials, 156,000 events x 5 x 200 rounds: 18-21 s at
        // load ~50 on 2 cores, i.e. ~1e7 per second there; 3e7 on a quiet core). Trees have no multiply-adds,
        // so this stays beside the registry's net estimate.
        if (spec.Model.Boosting is { } boosting)
            // Spread over the epochs of its one phase, so that the per-epoch view sums to the fit.
            return boosting.Trees * size.Events * (size.Features + 1.0) / (BdtFeatureRoundsPerThreadSecond * Math.Max(1, spec.Threads))
                / Math.Max(1, spec.Schedule.Sum(p => p.Epochs));
        var macs = components.Models.TryGet(spec.Model.Kind, out var kind)
            ? kind.EstimateMultiplyAdds(spec.Model, new ModelSize(size.Features, TrainedMassCount(spec.Data)))
            : ModelEntry.MlpMultiplyAdds(spec.Model, new ModelSize(size.Features, 1), null);
        var validationPasses = spec.Evaluation.ValidationEvery > 0 ? 1.0 / spec.Evaluation.ValidationEvery : 0;
        var work = macs * (TrainingPassFactor * size.Events * spec.Data.Split.Train + validationPasses * size.Events * spec.Data.Split.Validation);
        var throughput = spec.Device == "cpu" ? CpuMacsPerThreadSecond * Math.Max(1, spec.Threads) : CudaMacsPerSecond;
        return phase < 0 || phase >= spec.Schedule.Count ? 0 : work / throughput;
    }

    private const double BdtFeatureRoundsPerThreadSecond = 3e7;

    /// <summary>Multiply-adds of one forward pass, as the model kind's registry entry estimates them.</summary>
    public static double MultiplyAdds(ModelSpec model, int features, ComponentCatalog? components = null) =>
        (components ?? ComponentCatalog.BuiltIn).Models.Get(model.Kind).EstimateMultiplyAdds(model, new ModelSize(features, 1));

    /// <summary>Events and features of the whole data set, as the data source's registry entry estimates them from its options.</summary>
    public static DataSize EstimateData(DataSpec data, ComponentCatalog? components = null) =>
        (components ?? ComponentCatalog.BuiltIn).DataSources.TryGet(data.Source, out var source) && source.Size is { } size
            ? size(data.Options)
            : DataSize.Unknown;

    /// <summary>The masses a trial trains on: the data's grid less the held-out ones (1 without a grid).</summary>
    public static int TrainedMassCount(DataSpec data) => Grid(data) is { } grid ? grid.Count - HeldOut(data.Holdout, grid).Count : 1;

    /// <summary>The data's mass grid as its options write it (a list, or <c>{from, to, step}</c>); null without one.</summary>
    public static IReadOnlyList<double>? Grid(DataSpec data) => data.Options["masses"] switch
    {
        JsonArray list => list.Select(m => m!.GetValue<double>()).ToList(),
        JsonObject range when range["from"] is JsonValue from && range["to"] is JsonValue to && range["step"] is JsonValue step
            && step.GetValue<double>() > 0 => Trials.Data.MassGrid.Range(from.GetValue<double>(), to.GetValue<double>(), step.GetValue<double>()),
        _ => null,
    };

    private static IReadOnlyList<double> HeldOut(HoldoutSpec holdout, IReadOnlyList<double> grid) => holdout.Kind switch
    {
        "every-second" => grid.Order().Where((_, i) => i % 2 == 1).ToList(),
        "list" => holdout.Masses ?? [],
        _ => [],
    };

    private static string HoldoutKey(HoldoutSpec h) =>
        h.Kind == "list" ? "[" + string.Join(", ", (h.Masses ?? []).Select(m => m.ToString("R", CultureInfo.InvariantCulture))) + "]" : h.Kind;

    private static string HeldOutText(HoldoutSpec h, IReadOnlyList<double>? grid)
    {
        if (h.Kind == "every-second" && grid is null) return "every second mass of the data's grid";
        var masses = grid is null ? h.Masses ?? [] : HeldOut(h, grid);
        return masses.Count == 0 ? "none" : string.Join(", ", masses.Select(m => m.ToString("G6", CultureInfo.InvariantCulture)));
    }

    public static string Duration(double seconds) => seconds switch
    {
        < 1 => "<1 s",
        < 120 => $"{seconds:0} s",
        < 7200 => $"{seconds / 60:0} min",
        < 172800 => $"{seconds / 3600:0.0} h",
        _ => $"{seconds / 86400:0.0} d",
    };
}
