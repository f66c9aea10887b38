using System.CommandLine;
using Studies.Orchestrator.Cli;

var root = new RootCommand("studies: compare ways of training signal/background classifiers across mass hypotheses");
root.Options.Add(CommonOptions.Home);
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(StoreCommands.List());
root.Subcommands.Add(StoreCommands.Status());
root.Subcommands.Add(StoreCommands.Cancel());
root.Subcommands.Add(StoreCommands.Retry());
root.Subcommands.Add(BenchCommand.Create());
return await root.Parse(args).InvokeAsync();
