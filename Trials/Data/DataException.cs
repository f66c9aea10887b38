namespace Studies.Trials.Data;

/// <summary>Bad data input: an option, a file, a row or a column. The message says what and where.</summary>
public sealed class DataException : Exception
{
    public DataException(string message, Exception? inner = null) : base(message, inner) => Problems = [message];

    /// <summary>Several problems found at once (see <see cref="DataChecks"/>); the message is the first, with a count of the rest.</summary>
    public DataException(IReadOnlyList<string> problems)
        : base(problems.Count == 1 ? problems[0] : $"{problems[0]} (and {problems.Count - 1} more problem{(problems.Count == 2 ? "" : "s")})") =>
        Problems = problems;

    /// <summary>Every problem, one line each: what a command prints.</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>An error located in a file: <c>x.csv:12: column 'f3': ...</c> (line 1-based).</summary>
    public static DataException At(string file, long line, string? column, string what) =>
        new(column is null ? $"{file}:{line}: {what}" : $"{file}:{line}: column '{column}': {what}");

    public static DataException NotFound(string path) => new($"data file not found: {path}");

    /// <summary>Throws unless <paramref name="path"/> is a regular file: a device is read forever, a FIFO blocks the reader.</summary>
    public static void RequireRegularFile(string path)
    {
        var kind = FileKinds.Of(path);
        if (kind == FileKind.Missing) throw NotFound(path);
        if (kind != FileKind.Regular) throw new DataException($"{path} is {kind.Describe()}, not a data file: give the path of a regular file");
    }

    /// <summary>
    /// A problem of the study file found only once the data are read (a held-out mass the file does not have): the
    /// command points at the study file's key and exits as for an invalid study file, not as for bad data.
    /// </summary>
    public bool IsStudyLevel => StudyKey is not null;

    /// <summary>The key of the study file's data section the problem is about (<c>holdout</c>, <c>options</c>), for its position; null for a problem of the data.</summary>
    public string? StudyKey { get; init; }

}
