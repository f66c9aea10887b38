namespace Studies.Trials.Data;

/// <summary>Bad data input: an option, a file, a row or a column. The message says what and where.</summary>
public sealed class DataException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>An error located in a file: <c>file 'x.csv', line 12, column 'f3': ...</c>.</summary>
    public static DataException At(string file, long line, string? column, string what) =>
        new(column is null ? $"file '{file}', line {line}: {what}" : $"file '{file}', line {line}, column '{column}': {what}");
}
