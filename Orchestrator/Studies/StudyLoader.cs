using Studies.Trials.Catalog;

namespace Studies.Orchestrator.Studies;

/// <summary>
/// Entry point: reads a study file, validates everything (including every expanded trial) and
/// either returns the study or throws one <see cref="StudyValidationException"/> with all problems.
/// </summary>
public static class StudyLoader
{
    /// <param name="components">The losses, models and data sources the study may name (default: the built-in ones).</param>
    /// <param name="baseDirectory">The folder relative paths resolve against (default: the file's own; a queued copy's origin).</param>
    public static Study Load(string path, ComponentCatalog? components = null, string? baseDirectory = null)
    {
        string text;
        try
        {
            // Checked before reading, so neither a folder nor a huge file gets further than this.
            if (Directory.Exists(path)) throw Problem(path, "this is a folder, not a study file; give the YAML file inside it (e.g. studies/quickstart.yaml)");
            var file = new FileInfo(path);
            if (!file.Exists) throw Problem(path, "cannot read the study file: it does not exist");
            // A device is read forever (/dev/zero: out of memory at 4 GB) and a FIFO blocks the reader: neither is opened.
            if (Trials.Data.FileKinds.Of(path) is var kind && kind != Trials.Data.FileKind.Regular)
                throw Problem(path, $"this is {Trials.Data.FileKinds.Describe(kind)}, not a study file; give a YAML file");
            if (file.Length > StudyLimits.MaxFileBytes)
                throw Problem(path, $"the study file has {file.Length:N0} bytes; at most {StudyLimits.MaxFileBytes:N0} (is it a study file?)");
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Problem(path, $"cannot read the study file: {e.Message}");
        }
        var full = Path.GetFullPath(path);
        return Parse(text, path, baseDirectory ?? Path.GetDirectoryName(full) ?? Directory.GetCurrentDirectory(), full, components);
    }

    private static StudyValidationException Problem(string path, string message) => new([new StudyError(path, new SourcePosition(1, 1), message)]);

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
        return (study ?? throw new InvalidOperationException("study reader returned nothing without reporting why")) with { BaseDirectory = directory };
    }
}
