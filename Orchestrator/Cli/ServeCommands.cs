using System.CommandLine;
using Microsoft.Extensions.Hosting;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Studies;

namespace Studies.Orchestrator.Cli;

/// <summary><c>studies serve</c> and <c>studies submit</c>: a long-running service fed through a queue folder.</summary>
internal static class ServeCommands
{
    public static Command Serve()
    {
        var command = new Command("serve", "Run the orchestrator as a service: studies submitted to the workspace queue run one after another; SIGTERM checkpoints and stops");
        command.SetAction(async (parse, ct) =>
        {
            var workspace = CommonOptions.Workspace(parse);
            var queue = new StudyQueue(workspace.Queue);
            using var serving = queue.TryLockServer();
            if (serving is null)
            {
                // Two servers on one queue would each take the other's running study back as abandoned.
                Console.Error.WriteLine($"error: {workspace.Root} is already served by {queue.ServerLockHolder()}; stop that server first, or serve another --home");
                return 1;
            }
            Console.Error.WriteLine($"serving {workspace.Root}: submit with `studies submit FILE --home {workspace.Root}` or copy a study file into {workspace.Queue}");
            using var host = StudiesServices.ServeHost(StudiesServices.Configuration(parse.GetValue(CommonOptions.Home), parse.GetValue(CommonOptions.Store)));
            await host.RunAsync(ct);
            return 0;
        });
        return command;
    }

    public static Command Submit()
    {
        var file = new Argument<FileInfo>("file") { Description = "The study file (YAML); validated before it is queued" };
        var command = new Command("submit", "Validate a study file and queue it for `studies serve`") { file };
        command.SetAction(parse =>
        {
            var path = parse.GetValue(file)!.FullName;
            try
            {
                var study = StudyLoader.Load(path);
                var queue = new StudyQueue(CommonOptions.Workspace(parse).Queue);
                queue.EnsureExists();
                var queued = queue.Submit(path);
                Console.WriteLine($"queued {study.Name} ({StudyExpander.Expand(study).Count} trials) as {queued}");
                return 0;
            }
            catch (StudyValidationException e)
            {
                foreach (var error in e.Errors) Console.Error.WriteLine(error);
                return 2;
            }
        });
        return command;
    }
}
