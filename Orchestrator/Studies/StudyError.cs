namespace Studies.Orchestrator.Studies;

/// <summary>A 1-based line and column in a study file.</summary>
public readonly record struct SourcePosition(int Line, int Column) : IComparable<SourcePosition>
{
    public int CompareTo(SourcePosition other) =>
        Line != other.Line ? Line.CompareTo(other.Line) : Column.CompareTo(other.Column);

    public override string ToString() => $"{Line}:{Column}";
}

/// <summary>One problem found in a study file, printed as <c>file:line:column: message</c>.</summary>
public sealed record StudyError(string File, SourcePosition Position, string Message)
{
    public int Line => Position.Line;
    public int Column => Position.Column;

    public override string ToString() => $"{File}:{Position.Line}:{Position.Column}: {Message}";
}

/// <summary>
/// Every problem of a study file at once, sorted by position, so a user fixes them in one pass
/// rather than one run per mistake.
/// </summary>
public sealed class StudyValidationException(IReadOnlyList<StudyError> errors)
    : Exception(Describe(errors))
{
    public IReadOnlyList<StudyError> Errors { get; } = errors;

    private static string Describe(IReadOnlyList<StudyError> errors) =>
        $"{errors.Count} problem{(errors.Count == 1 ? "" : "s")} in the study file:{Environment.NewLine}"
        + string.Join(Environment.NewLine, errors);
}

/// <summary>Collects errors of one file; identical errors (the same base field seen by every trial) are kept once.</summary>
internal sealed class Diagnostics(string file)
{
    private readonly HashSet<(SourcePosition, string)> _seen = [];
    private readonly List<StudyError> _errors = [];

    public string File { get; } = file;
    public int Count => _errors.Count;

    public void Error(SourcePosition at, string message)
    {
        if (_seen.Add((at, message))) _errors.Add(new StudyError(File, at, message));
    }

    /// <summary>The errors reported after the first <paramref name="count"/>, in the order they were found.</summary>
    public IReadOnlyList<StudyError> Since(int count) => _errors.Skip(count).ToList();

    public IReadOnlyList<StudyError> Sorted() =>
        _errors.OrderBy(e => e.Position).ThenBy(e => e.Message, StringComparer.Ordinal).ToList();

    public void ThrowIfAny()
    {
        if (_errors.Count > 0) throw new StudyValidationException(Sorted());
    }
}
