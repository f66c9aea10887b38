using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Terminal;
using Studies.Trials.Results;
using Spectre.Console;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Studies;

namespace Studies.Orchestrator.Cli;

/// <summary><c>studies run FILE</c>: run (or resume) a study in the foreground with live progress, then write its report.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "The study file (YAML)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Validate and print the expansion (trials per axis value, the list, an estimated duration); run nothing" };
        var force = new Option<bool>("--force") { Description = "Run even though the study's data definition changed since it was recorded" };
        var workers = new Option<int?>("--workers") { Description = "At most this many trials at once (default: from the study's resources)" };
        var timeout = new Option<double?>("--trial-timeout") { Description = "Minutes a trial may run before it is stopped and retried (default: no limit)" };
        var failFast = new Option<int>("--fail-fast") { Description = "Stop starting trials after this many failures with the same error (default: never)" };
        var executor = new Option<string?>("--executor") { Description = "Where trials run: local or slurm (default: the study's resources.executor)" };
        executor.AcceptOnlyFromAmong([.. ExecutorKinds.All.Names]);
        var progress = new Option<ProgressMode>("--progress")
        {
            Description = "auto: a live table on a terminal, one line per finished trial otherwise (nohup, Slurm); live; log",
            DefaultValueFactory = _ => ProgressMode.Auto,
        };
        var summaryEvery = new Option<double>("--summary-every")
        {
            Description = "Seconds between the summary lines (done, running, ETA) of log mode (default 60)",
            DefaultValueFactory = _ => 60,
        };
        summaryEvery.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() is var s && (!double.IsFinite(s) || s <= 0)) r.AddError("--summary-every must be a positive number of seconds");
        });
        var command = new Command("run", "Run or resume a study: completed trials are kept, the rest run; ends with the report path")
        {
            file, dryRun, force, workers, timeout, failFast, executor, progress, summaryEvery,
        };
        command.SetAction(async (parse, _) =>
        {
            var path = parse.GetValue(file)!.FullName;
            var study = StudyLoader.Load(path);
            var trials = StudyExpander.Expand(study);
            if (parse.GetValue(dryRun))
            {
                if ((parse.GetValue(executor) ?? study.Resources.Executor) == Cluster.SlurmTrialExecutor.Name)
                {
                    // What would be submitted, exactly: the sbatch script of the study's job array.
                    await using var dryServices = CommonOptions.Services(parse, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
                    var slurm = dryServices.GetRequiredKeyedService<ITrialExecutor>(Cluster.SlurmTrialExecutor.Name) as Cluster.SlurmTrialExecutor;
                    var checkpoints = study.Checkpoints is { } shared ? Path.Combine(shared, study.Name) : dryServices.GetRequiredService<Workspace>().Artifacts(study.Name);
                    Console.Write(Cluster.SlurmScript.Render(slurm!.Request(study, trials, parse.GetValue(workers), checkpoints)));
                    return 0;
                }
                DryRun.Render(study, trials, Console.Out);
                Console.WriteLine();
                var checkedData = CheckCommand.CheckData(study, trials, verbose: true);
                if (checkedData != ExitCodes.Ok || trials.Count == 0) return checkedData;
                await using (var measuring = CommonOptions.Services(parse, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance))
                {
                    var local = measuring.GetRequiredKeyedService<ITrialExecutor>(parse.GetValue(executor) ?? study.Resources.Executor);
                    var slots = local.Plan(study, trials, parse.GetValue(workers)).Slots.Count;
                    var measured = DryRunMeasurement.Estimate(trials, slots, measuring.GetRequiredService<global::Studies.Trials.Training.ITrialRunner>(),
                        measuring.GetRequiredService<global::Studies.Orchestrator.Workers.WorkerCommandLine>(), CancellationToken.None);
                    Console.WriteLine($"measured estimate: {DryRun.Duration(measured.Seconds)} on {slots} worker slot{(slots == 1 ? "" : "s")} "
                        + $"(one trial of each of the {measured.Costs.Count} kind{(measured.Costs.Count == 1 ? "" : "s")} trained here for up to 3 epochs per phase, "
                        + $"pooled with the kinds that differ only in the model by the calibrated cost model, a worker started: {measured.MeasuredIn:F1} s)");
                    var inv = System.Globalization.CultureInfo.InvariantCulture;
                    foreach (var (kind, cost) in measured.Costs)
                    {
                        var example = trials.First(t => global::Studies.Orchestrator.Terminal.EtaTrial.KindOf(t.Spec) == kind);
                        Console.WriteLine(string.Create(inv, $"  {string.Join(", ", example.Axes.Where(a => a.Key != "seed").Select(a => a.Value)),-30} start {cost.StartSeconds:F2} s, ")
                            + string.Join(", ", cost.EpochSeconds.Select((e, p) => string.Create(inv, $"{example.Spec.Schedule[p].Loss} {e:F3} s/epoch")))
                            + string.Create(inv, $", end {cost.EndSeconds:F2} s: {cost.TrialSeconds(example.Spec):F1} s a trial"));
                    }
                    Console.WriteLine(string.Create(inv, $"  worker start-up {measured.WorkerStart:F1} s, once per slot"));
                }
                return checkedData;
            }
            // Bad data stop the study here, before any trial starts, rather than failing every trial.
            if (CheckCommand.CheckData(study, trials, verbose: false) is var code && code != ExitCodes.Ok) return code;
            var output = TerminalOutput.For(parse.GetValue(progress), AnsiConsole.Console);
            using var signals = new StopSignals(output.Live ? output.ErrorWriter() : Console.Error);
            using var loggers = Logging.CreateFactory(output.Live ? output.LoggerProvider() : null);
            await using var services = CommonOptions.Services(parse, loggers,
                s => s.AddSingleton<IExecutionObserverFactory>(new ConsoleProgressFactory(output, TimeSpan.FromSeconds(parse.GetValue(summaryEvery)))));
            var service = services.GetRequiredService<IStudyRunner>();
            var outcome = await service.RunAsync(study, new StudyRunRequest(parse.GetValue(force), parse.GetValue(workers), Interactive: true,
                    parse.GetValue(timeout) is { } minutes ? TimeSpan.FromMinutes(minutes) : null, parse.GetValue(failFast)) { Executor = parse.GetValue(executor) },
                signals.Stopping, signals.Kill);
            Console.WriteLine(string.Join(", ", outcome.States.Where(s => s.Value > 0).Select(s => $"{s.Value} {s.Key.Name()}")));
            if (outcome.Verdict is not null) Console.WriteLine(outcome.Verdict);
            if (outcome.ReportPath is not null) Console.WriteLine($"report: {outcome.ReportPath}");
            if (outcome.Stopped)
            {
                Console.Error.WriteLine($"stopped; run `studies run {parse.GetValue(file)!.Name}` again to resume");
                return ExitCodes.Stopped;
            }
            // Not stopped by the user, yet interrupted: a worker could not write its checkpoint (disk full, read-only).
            if (outcome.Why is null && outcome.States.GetValueOrDefault(TrialState.Interrupted) is var interrupted and > 0)
            {
                Console.Error.WriteLine($"error: {interrupted} trial(s) were interrupted by a fault of the machine (reasons: `studies status {outcome.StudyName}`); "
                    + $"fix it and run `studies run {parse.GetValue(file)!.Name}` again to resume them");
                return ExitCodes.Io;
            }
            var (verdict, line) = RunVerdict.Judge(outcome.StudyName, parse.GetValue(file)!.Name, new Storage.StateCounts(outcome.States), outcome.Why);
            if (line is not null) Console.Error.WriteLine(line);
            return verdict;
        });
        return command;
    }
}
