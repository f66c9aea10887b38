using System.CommandLine;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Storage;

namespace Studies.Orchestrator.Cli;

/// <summary>Options shared by the commands that use the workspace.</summary>
internal static class CommonOptions
{
    public static readonly Option<string?> Home = new("--home")
    {
        Description = "Workspace folder with the database, trial folders and reports (default: $STUDIES_HOME or ./runs)",
        Recursive = true,
    };

    public static Workspace Workspace(ParseResult parse) => Hosting.Workspace.Resolve(parse.GetValue(Home));

    /// <summary>Opens the workspace's store, or explains that there is nothing recorded yet.</summary>
    public static async Task<StudyStore?> OpenExistingStoreAsync(ParseResult parse, CancellationToken ct)
    {
        var workspace = Workspace(parse);
        if (!File.Exists(workspace.Database))
        {
            Console.Error.WriteLine($"no studies recorded in {workspace.Root} (no {Path.GetFileName(workspace.Database)}); run one with `studies run FILE`");
            return null;
        }
        return await StudyStore.OpenAsync(workspace.Database, ct);
    }

    public static async Task<StudyRow?> FindStudyAsync(StudyStore store, string name, CancellationToken ct)
    {
        var study = await store.FindStudyAsync(name, ct);
        if (study is null)
        {
            var known = (await store.ListStudiesAsync(ct)).Select(s => s.Name).ToList();
            Console.Error.WriteLine($"no study named '{name}'" + (known.Count > 0 ? $"; recorded: {string.Join(", ", known)}" : ""));
        }
        return study;
    }
}
