namespace Studies.Orchestrator.Hosting;

/// <summary>
/// Where studies live on disk: the database, one folder per study with its trials' checkpoints and
/// logs and its report, and the queue of <c>studies serve</c>. Default <c>./runs</c>; <c>--home</c>
/// or the STUDIES_HOME variable choose another (e.g. a shared disk of a cluster): see <see cref="StudiesServices.Configuration"/>.
/// </summary>
public sealed record Workspace(string Root)
{
    public const string DefaultHome = "runs";

    /// <param name="home">The configured <see cref="StudiesOptions.Home"/>; null or empty: <see cref="DefaultHome"/>.</param>
    public static Workspace Resolve(string? home) => new(Path.GetFullPath(home is { Length: > 0 } ? home : DefaultHome));

    /// <summary>The workspace a configuration names (<c>--home</c>, STUDIES_HOME, the default).</summary>
    public static Workspace From(Microsoft.Extensions.Configuration.IConfiguration configuration) => Resolve(StudiesOptions.From(configuration).Home);

    public string Database => Path.Combine(Root, "studies.db");
    public string StudyDirectory(string study) => Path.Combine(Root, study);
    public string Artifacts(string study) => Path.Combine(StudyDirectory(study), "trials");
    public string ReportDirectory(string study) => Path.Combine(StudyDirectory(study), "report");
    public string Queue => Path.Combine(Root, "queue");
}
