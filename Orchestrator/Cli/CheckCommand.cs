using Microsoft.Extensions.DependencyInjection;
using System.CommandLine;
using Studies.Orchestrator.Studies;

namespace Studies.Orchestrator.Cli;

/// <summary>
/// <c>studies check FILE</c>: validates a study file and its data before anything runs. The same
/// data check runs before <c>run</c>, <c>run --dry-run</c> and <c>submit</c>.
/// </summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "The study file (YAML)" };
        var command = new Command("check", "Validate a study file and its data (every data file loaded once and checked: truncation, non-finite values, weights, classes per mass); run nothing") { file };
        command.SetAction(parse =>
        {
            var study = StudyLoader.Load(parse.GetValue(file)!.FullName);
            var trials = StudyExpander.Expand(study);
            // What `run` would refuse on this host (device: cuda without a GPU), `check` refuses too: its "ok" means ready
            // to run here. A study for another executor (Slurm) runs elsewhere, so its devices are not this host's business.
            if (study.Resources.Executor == Workers.LocalTrialExecutor.Name)
            {
                var services = CommonOptions.Services(parse, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
                try
                {
                    services.GetRequiredKeyedService<Scheduling.ITrialExecutor>(Workers.LocalTrialExecutor.Name).Plan(study, trials, null);
                }
                finally
                {
                    services.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            }
            Console.WriteLine($"study {study.Name}: {trials.Count} trial{(trials.Count == 1 ? "" : "s")}, the study file is valid");
            var code = CheckData(study, trials, verbose: true);
            if (code == ExitCodes.Ok) Console.WriteLine("ok: the study and its data are ready to run");
            return code;
        });
        return command;
    }

    /// <summary>
    /// Loads and checks the study's data: problems to standard error, one line each. Verbose (check,
    /// dry run): every source, with a summary line each on standard output; otherwise (run, submit)
    /// the data files only, quietly. Returns <see cref="ExitCodes.Data"/> when there is an error,
    /// else <see cref="ExitCodes.Ok"/> (warnings do not stop).
    /// </summary>
    public static int CheckData(Study study, IReadOnlyList<PlannedTrial> trials, bool verbose)
    {
        var results = StudyDataCheck.Run(trials, filesOnly: !verbose, study.Components);
        StudyDataCheck.Print(study, results, verbose ? Console.Out : TextWriter.Null, Console.Error);
        return StudyDataCheck.ExitCode(results);
    }
}
