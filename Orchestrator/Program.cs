using System.CommandLine;
using Studies.Orchestrator.Cli;

var root = new RootCommand("studies: compare ways of training signal/background classifiers across mass hypotheses");
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
return await root.Parse(args).InvokeAsync();
