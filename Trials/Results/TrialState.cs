namespace Studies.Trials.Results;

/// <summary>
/// The life of a trial, one definition for the store, the scheduler and the reports. Stored and
/// exported as the lower-case name (<see cref="TrialStates.Name"/>), which export columns and
/// scripts rely on.
/// </summary>
public enum TrialState
{
    Queued,
    Running,
    Completed,
    /// <summary>A deterministic error (bad data, invalid spec) or infrastructure retries exhausted.</summary>
    Failed,
    /// <summary>The loss became NaN or infinite.</summary>
    Diverged,
    /// <summary>Stopped by Ctrl+C/SIGTERM, or its owner's lease ran out; resumes from its checkpoint.</summary>
    Interrupted,
    Cancelled,
    /// <summary>Stopped by a search's pruner after a validation epoch (the epoch and the rule's reason are recorded); not a failure, not run again.</summary>
    Pruned,
}

public static class TrialStates
{
    /// <summary>Every state, in the order tables show them.</summary>
    public static readonly IReadOnlyList<TrialState> All =
        [TrialState.Queued, TrialState.Running, TrialState.Completed, TrialState.Failed, TrialState.Diverged, TrialState.Interrupted, TrialState.Cancelled, TrialState.Pruned];

    private static readonly string[] Names = All.Select(s => s.ToString().ToLowerInvariant()).ToArray();

    /// <summary>The stored and exported name, e.g. "completed".</summary>
    public static string Name(this TrialState state) => Names[(int)state];

    public static TrialState Parse(string name) =>
        TryParse(name, out var state) ? state : throw new FormatException($"'{name}' is not a trial state ({string.Join(", ", Names)})");

    public static bool TryParse(string name, out TrialState state)
    {
        var i = Array.IndexOf(Names, name);
        state = i >= 0 ? (TrialState)i : default;
        return i >= 0;
    }

    /// <summary>States a study run leaves alone: done for good until the user asks again.</summary>
    public static bool IsFinal(this TrialState state) => state is TrialState.Completed or TrialState.Failed or TrialState.Diverged or TrialState.Cancelled or TrialState.Pruned;

    private const string PrunedPrefix = "pruned at epoch ";

    /// <summary>What a pruned trial records as its error: the epoch the pruner stopped it at, and the rule's reason.</summary>
    public static string PrunedError(int epoch, string reason) => $"{PrunedPrefix}{epoch.ToString(System.Globalization.CultureInfo.InvariantCulture)}: {reason}";

    /// <summary>The epoch a pruned trial's record names (<see cref="PrunedError"/>); every epoch (int.MaxValue) when it names none.</summary>
    public static int PrunedEpoch(string? error)
    {
        if (error is null || !error.StartsWith(PrunedPrefix, StringComparison.Ordinal)) return int.MaxValue;
        var digits = new string(error[PrunedPrefix.Length..].TakeWhile(char.IsAsciiDigit).ToArray());
        return int.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var epoch) ? epoch : int.MaxValue;
    }

    /// <summary>States whose trials ended badly and deserve a reason in reports and status.</summary>
    public static bool IsProblem(this TrialState state) => state is TrialState.Failed or TrialState.Diverged or TrialState.Interrupted;
}
