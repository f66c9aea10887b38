namespace Studies.Orchestrator.Tests;

/// <summary>Loads study text written inline in a test, with relative paths resolved against <paramref name="directory"/>.</summary>
internal static class StudyText
{
    public static Study Load(string yaml, string? directory = null) =>
        StudyLoader.Parse(yaml, "inline.yaml", directory ?? AppContext.BaseDirectory);

    public static IReadOnlyList<PlannedTrial> Expand(string yaml, string? directory = null) => StudyExpander.Expand(Load(yaml, directory));

    public const string Header = """
        study: t
        data: {source: gaussian-toy}
        """;
}
