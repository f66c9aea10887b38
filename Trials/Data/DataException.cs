namespace Studies.Trials.Data;

/// <summary>Bad data input: an option, a file, a row or a column. The message says what and where.</summary>
public sealed class DataException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>An error located in a file: <c>x.csv:12: column 'f3': ...</c> (line 1-based).</summary>
    public static DataException At(string file, long line, string? column, string what) =>
        new(column is null ? $"{file}:{line}: {what}" : $"{file}:{line}: column '{column}': {what}");

    public static DataException NotFound(string path) => new($"data file not found: {path}");
}
