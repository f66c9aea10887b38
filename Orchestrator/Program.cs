using System.CommandLine;
using Spectre.Console;
using Studies.Orchestrator.Cli;
using Studies.Orchestrator.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Studies.Orchestrator.Hosting;
using Studies.Trials.Training;

// Redirected output (a pipe to grep, a CI log) has no terminal width: Spectre would wrap tables
// and messages at 80 columns and split study names and trial ids across lines.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 240;

var root = new RootCommand("studies: compare ways of training signal/background classifiers across mass hypotheses");
root.Options.Add(CommonOptions.Home);
root.Options.Add(CommonOptions.Store);
root.Subcommands.Add(RunCommand.Create());
root.Subcommands.Add(CheckCommand.Create());
root.Subcommands.Add(StoreCommands.Status());
root.Subcommands.Add(StoreCommands.List());
root.Subcommands.Add(StoreCommands.CheckStore());
root.Subcommands.Add(StoreCommands.Cancel());
root.Subcommands.Add(StoreCommands.Retry());
root.Subcommands.Add(Studies.Orchestrator.Cluster.Local.ClusterCommand.Create());
root.Subcommands.Add(ReportCommands.Report());
root.Subcommands.Add(ReportCommands.Export());
root.Subcommands.Add(ServeCommands.Serve());
root.Subcommands.Add(ServeCommands.Submit());
root.Subcommands.Add(ServeCommands.Dashboard());
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(SelfTestCommand.Create());
root.Subcommands.Add(ClusterTaskCommand.Create());
// A worker builds only what a trial needs (no stores, executors or options of the orchestrator).
root.Subcommands.Add(WorkerCommand.Create(() => StudiesServices.ForWorker().GetRequiredService<ITrialRunner>()));
return await ErrorBoundary.InvokeAsync(root.Parse(args));
