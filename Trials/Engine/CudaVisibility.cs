namespace Studies.Trials.Engine;

/// <summary>
/// <c>CUDA_VISIBLE_DEVICES</c> as the CUDA runtime reads it: a comma-separated list of device
/// indices or UUIDs (<c>GPU-...</c>, <c>MIG-...</c>); the list ends at the first entry that is
/// neither; unset means every device, empty means none. libtorch's <c>cuda:N</c> is the N-th
/// visible device, so a worker pinned to one device must be given the parent's N-th entry, not N.
/// </summary>
public static class CudaVisibility
{
    public const string Variable = "CUDA_VISIBLE_DEVICES";

    /// <summary>The visible entries, or null when the variable is unset (every device visible).</summary>
    public static IReadOnlyList<string>? Parse(string? value)
    {
        if (value is null) return null;
        var entries = new List<string>();
        foreach (var raw in value.Split(','))
        {
            var entry = raw.Trim();
            var valid = entry.Length > 0 && (entry.All(char.IsAsciiDigit)
                || entry.StartsWith("GPU-", StringComparison.Ordinal) || entry.StartsWith("MIG-", StringComparison.Ordinal));
            if (!valid) break;
            entries.Add(entry);
        }
        return entries;
    }

    /// <summary>
    /// The value to give a worker so that its <c>cuda:0</c> is this process's <c>cuda:ordinal</c>.
    /// </summary>
    /// <param name="parentValue">This process's <c>CUDA_VISIBLE_DEVICES</c> (null: unset).</param>
    public static string ForWorker(string? parentValue, int ordinal)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ordinal);
        var visible = Parse(parentValue);
        if (visible is null) return ordinal.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (ordinal >= visible.Count)
            throw new ArgumentException($"cuda:{ordinal} is not visible: {Variable}='{parentValue}' makes {visible.Count} device(s) visible");
        return visible[ordinal];
    }
}
