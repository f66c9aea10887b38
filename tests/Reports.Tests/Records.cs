using Studies.Reports.Input;
using Studies.Trials.Results;

namespace Studies.Reports.Tests;

/// <summary>Builds small trial records by hand for tests.</summary>
internal static class Records
{
    public static MassMetrics Mass(double mass, bool heldout, IReadOnlyDictionary<string, double> metrics, SplitKind split = SplitKind.Test, EpochKind kind = EpochKind.Best) =>
        new(mass, heldout, split, kind, 5, metrics);

    public static TrialRecord Completed(string id, IReadOnlyDictionary<string, string> axes, IReadOnlyList<MassMetrics> masses, IReadOnlyList<EpochRecord>? epochs = null) => new()
    {
        TrialId = id, State = TrialState.Completed, Attempts = 1, Seconds = 2, Device = "cpu", Axes = axes,
        Result = new TrialResult { Outcome = TrialOutcome.Completed, Masses = masses, Epochs = epochs ?? [], BestEpoch = 5, LastEpoch = 6 },
    };

    public static Dictionary<string, string> Axes(string kind, int seed) => new() { ["model.kind"] = kind, ["seed"] = seed.ToString(System.Globalization.CultureInfo.InvariantCulture) };
}
