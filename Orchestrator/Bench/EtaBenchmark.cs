using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Studies.Orchestrator.Cli;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Studies;
using Studies.Orchestrator.Terminal;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Bench;

/// <summary>
/// <c>studies bench eta</c>: how good the times a user is shown are. For the quickstart and two other ready studies
/// (gaussian-pnn and lovasz-toy with a tenth of their events, so that each runs in minutes: their
/// trial kinds and schedules are those of the ready files) it measures the dry run's estimate (the short measurement of
/// <see cref="DryRunMeasurement"/>), runs the study as <c>studies run</c> does, and reads the ETA the progress shows
/// at the first epoch and once 10 % of the epochs are done, against the time that was actually left.
/// </summary>
internal static class EtaBenchmark
{
    /// <summary>A ready study and how it is reduced for the benchmark: (text in the file, replacement).</summary>
    private sealed record Case(string Name, string File, IReadOnlyList<(string From, string To)> Reductions);

    private static readonly IReadOnlyList<Case> Cases =
    [
        new("quickstart", "quickstart.yaml", []),
        // Every seed of the file: with two seeds a run was 22-35 s, and the 10 % mark came 8 s in, where a few seconds of the
        // machine's other load moved the ETA by half.
        new("gaussian-pnn (1/10 events)", "gaussian-pnn.yaml", [("events_per_mass: 50000", "events_per_mass: 5000")]),
        new("lovasz-toy (1/10 events)", "lovasz-toy.yaml", [("events_per_process: 150000", "events_per_process: 15000")]),
    ];

    public static Command Command()
    {
        var studies = new Option<DirectoryInfo>("--studies") { Description = "The folder of the ready study files (default: ./studies)" };
        var only = new Option<string[]>("--only") { Description = "Run only these cases (quickstart, gaussian-pnn, lovasz-toy)", AllowMultipleArgumentsPerToken = true };
        var command = new Command("eta", "The dry run's estimate and the ETA shown after 10 % of the epochs against the actual times, on the quickstart and two reduced ready studies")
        {
            studies, only,
        };
        command.SetAction(async (parse, _) =>
        {
            var folder = parse.GetValue(studies)?.FullName ?? Path.GetFullPath("studies");
            var chosen = Cases.Where(c => parse.GetValue(only) is not { Length: > 0 } names || names.Any(n => c.Name.StartsWith(n, StringComparison.Ordinal))).ToList();
            return await RunAsync(folder, chosen, Console.Out);
        });
        return command;
    }

    private sealed record Outcome(string Name, int Trials, int Epochs, double DryRun, double DryRunMeasuredIn, double Actual,
        double? FirstEpochAt, double? EtaAtFirstEpoch, double TenPercentAt, double EtaAtTenPercent)
    {
        public string Measured { get; init; } = "";
        public string DryCosts { get; init; } = "";
        public double LeftAtTenPercent => Actual - TenPercentAt;
        public double EtaError => EtaAtTenPercent / LeftAtTenPercent - 1;
        public double DryRunRatio => DryRun / Actual;
    }

    private static async Task<int> RunAsync(string folder, IReadOnlyList<Case> cases, TextWriter output)
    {
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine($"ETA benchmark: {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        var outcomes = new List<Outcome>();
        foreach (var c in cases)
        {
            var home = Directory.CreateTempSubdirectory("studies-bench-eta-").FullName;
            try
            {
                var text = await File.ReadAllTextAsync(Path.Combine(folder, c.File));
                foreach (var (from, to) in c.Reductions)
                {
                    if (!text.Contains(from, StringComparison.Ordinal)) throw new InvalidOperationException($"{c.File} no longer contains '{from}': update the benchmark's reduction");
                    text = text.Replace(from, to, StringComparison.Ordinal);
                }
                var file = Path.Combine(home, c.File);
                await File.WriteAllTextAsync(file, text);
                outcomes.Add(await MeasureAsync(c.Name, file, home));
                var o = outcomes[^1];
                output.WriteLine($"  measured by the ETA: {o.Measured}");
                output.WriteLine($"  dry run's costs: {o.DryCosts}");
                output.WriteLine(string.Create(inv, $"{o.Name}: {o.Trials} trials, {o.Epochs} epochs, {o.Actual:F1} s; dry run {o.DryRun:F1} s (x{o.DryRunRatio:F2}, measured in {o.DryRunMeasuredIn:F1} s); "
                    + $"ETA at the first epoch ({o.FirstEpochAt:F1} s) {o.EtaAtFirstEpoch:F1} s vs {o.Actual - o.FirstEpochAt:F1} s left; "
                    + $"at 10 % of epochs ({o.TenPercentAt:F1} s) {o.EtaAtTenPercent:F1} s vs {o.LeftAtTenPercent:F1} s left ({o.EtaError * 100:+0;-0;0} %)"));
            }
            finally
            {
                try { Directory.Delete(home, recursive: true); } catch (IOException) { }
            }
        }
        output.WriteLine();
        output.WriteLine("| study | trials | actual | dry run | dry run / actual | ETA at 10 % of epochs | actual left | ETA error |");
        output.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var o in outcomes)
            output.WriteLine(string.Create(inv, $"| {o.Name} | {o.Trials} | {o.Actual:F1} s | {o.DryRun:F1} s | {o.DryRunRatio:F2} | {o.EtaAtTenPercent:F1} s | {o.LeftAtTenPercent:F1} s | {o.EtaError * 100:+0;-0;0} % |"));
        var worstEta = outcomes.MaxBy(o => Math.Abs(o.EtaError))!;
        var worstDry = outcomes.MaxBy(o => Math.Max(o.DryRunRatio, 1 / o.DryRunRatio))!;
        output.WriteLine(string.Create(inv, $"ETA after 10 % of epochs: worst error {worstEta.EtaError * 100:+0;-0;0} % ({worstEta.Name}; target within 30 %); "
            + $"dry-run estimate / actual: {string.Join(", ", outcomes.Select(o => o.DryRunRatio.ToString("F2", inv)))} (target within a factor 1.5)"));
        return 0;
    }

    private static async Task<Outcome> MeasureAsync(string name, string file, string home)
    {
        using var loggers = Logging.CreateFactory();
        var factory = new ProbeFactory();
        await using var services = StudiesServices.ForCommand(StudiesServices.Configuration(home: home), loggers,
            s => s.AddSingleton<IExecutionObserverFactory>(factory));

        var study = StudyLoader.Load(file);
        var trials = StudyExpander.Expand(study);
        var executor = services.GetRequiredKeyedService<ITrialExecutor>(study.Resources.Executor);
        var slots = executor.Plan(study, trials, null).Slots.Count;
        var dry = DryRunMeasurement.Estimate(trials, slots, services.GetRequiredService<ITrialRunner>(), services.GetRequiredService<WorkerCommandLine>(), CancellationToken.None);

        // What the ETA's calibration measures (the run measures again, in the background of its start).
        var calibrated = EpochCostModel.CalibrateKinds(trials.Select(t => t.Spec), 3, CancellationToken.None);
        Console.WriteLine("  calibrated shapes: " + string.Join("; ", calibrated.Values.DistinctBy(c => c.Cost).Select(c => string.Create(CultureInfo.InvariantCulture,
            $"{c.Example.Model.Kind} step {c.Cost.StepSeconds * 1e3:F3} ms + {c.Cost.StepEventSeconds * 1e6:F3} us/event, score {c.Cost.ForwardSeconds * 1e3:F3} ms + {c.Cost.ForwardEventSeconds * 1e6:F3} us/event, batches {c.Cost.PlanEventSeconds * 1e6:F3} us/event, metrics {c.Cost.SelectEventSeconds * 1e6:F3} us/event"))));

        var runner = services.GetRequiredService<IStudyRunner>();
        var run = runner.RunAsync(StudyLoader.Load(file), new StudyRunRequest(), CancellationToken.None, CancellationToken.None);
        var epochs = trials.Sum(t => t.Spec.Schedule.Sum(p => p.Epochs));
        (double At, double? Eta)? first = null, tenth = null;
        double? calibratedAt = null;
        while (!run.IsCompleted)
        {
            await Task.WhenAny(run, Task.Delay(100));
            if (factory.Probe is not { } probe) continue;
            if (calibratedAt is null && probe.Inner.Calibrating is { IsCompleted: true }) calibratedAt = probe.Clock.Elapsed.TotalSeconds;
            if (first is null && probe.EpochsSeen > 0) first = (probe.Clock.Elapsed.TotalSeconds, probe.Inner.RemainingSeconds());
            if (tenth is null && probe.EpochsSeen >= 0.1 * epochs) tenth = (probe.Clock.Elapsed.TotalSeconds, probe.Inner.RemainingSeconds());
        }
        var outcome = await run;
        var p = factory.Probe!;
        if (outcome.States.GetValueOrDefault(TrialState.Completed) != trials.Count)
            throw new InvalidOperationException($"{name}: not every trial completed ({string.Join(", ", outcome.States.Select(s => $"{s.Value} {s.Key.Name()}"))})");
        if (tenth is not { Eta: { } eta10 } ten) throw new InvalidOperationException($"{name}: no ETA was shown at 10 % of the epochs");
        return new Outcome(name, trials.Count, epochs, dry.Seconds, dry.MeasuredIn, p.LastEnd, first?.At, first?.Eta, ten.At, eta10)
        {
            Measured = p.Inner.DescribeEta() + string.Create(CultureInfo.InvariantCulture, $"; calibration done at {calibratedAt:F1} s"),
            DryCosts = string.Create(CultureInfo.InvariantCulture, $"worker start {dry.WorkerStart:F2} s; ") + string.Join("; ", dry.Costs.Values.Select(k => string.Create(CultureInfo.InvariantCulture,
                $"start {k.StartSeconds:F2} s, epochs {string.Join("/", k.EpochSeconds.Select(e => e.ToString("F3", CultureInfo.InvariantCulture)))} s, end {k.EndSeconds:F2} s"))),
        };
    }

    private sealed class ProbeFactory : IExecutionObserverFactory
    {
        public Probe? Probe { get; private set; }

        public IExecutionObserver Create(string study) => Probe = new Probe(new ConsoleProgress(TerminalOutput.Quiet()) { Calibration = ConsoleProgress.Calibrate });
    }

    /// <summary>The progress a user sees, and what the benchmark needs besides: epochs seen and when the last trial ended.</summary>
    private sealed class Probe(ConsoleProgress inner) : IExecutionObserver
    {
        private int epochs;

        public ConsoleProgress Inner { get; } = inner;
        public Stopwatch Clock { get; } = Stopwatch.StartNew();
        public int EpochsSeen => Volatile.Read(ref epochs);
        public double LastEnd { get; private set; }

        public void RunStarting(RunOverview run)
        {
            Clock.Restart();
            Inner.RunStarting(run);
        }

        public void TrialStarted(TrialRow trial, DeviceSlot slot) => Inner.TrialStarted(trial, slot);

        public void TrialProgress(TrialProgress progress)
        {
            if (progress.Epoch > 0) Interlocked.Increment(ref epochs);
            Inner.TrialProgress(progress);
        }

        public void TrialFinished(TrialRow trial, TrialState state, string? error, TrialResult? result)
        {
            Inner.TrialFinished(trial, state, error, result);
            LastEnd = Clock.Elapsed.TotalSeconds;
        }

        public Task<T> ShowWhile<T>(Task<T> run) => Inner.ShowWhile(run);
    }
}
