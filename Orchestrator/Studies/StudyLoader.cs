using Studies.Trials.Components;

namespace Studies.Orchestrator.Studies;

/// <summary>
/// Entry point: reads a study file, validates everything (including every expanded trial) and
/// either returns the study or throws one <see cref="StudyValidationException"/> with all problems.
/// </summary>
public static class StudyLoader
{
    /// <param name="components">The losses, models and data sources the study may name (default: the built-in ones).</param>
    public static Study Load(string path, ComponentCatalog? components = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StudyValidationException([new StudyError(path, new SourcePosition(1, 1), $"cannot read the study file: {e.Message}")]);
        }
        var full = Path.GetFullPath(path);
        return Parse(text, path, Path.GetDirectoryName(full) ?? Directory.GetCurrentDirectory(), full, components);
    }

    /// <summary>
    /// Validates study text. <paramref name="fileName"/> is what error messages print;
    /// <paramref name="directory"/> is what relative data paths are resolved against.
    /// </summary>
    public static Study Parse(string text, string fileName, string directory, string? sourcePath = null, ComponentCatalog? components = null)
    {
        var diagnostics = new Diagnostics(fileName);
        var reader = new NodeReader(diagnostics, components is null ? null : new ComponentNames(components));
        var root = YamlTreeReader.Read(text, diagnostics);
        var study = root is null ? null : new StudyReader(reader, directory).Read(root, sourcePath ?? fileName, text);
        diagnostics.ThrowIfAny();
        return study ?? throw new InvalidOperationException("study reader returned nothing without reporting why");
    }
}
