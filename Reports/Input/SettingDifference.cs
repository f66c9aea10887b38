namespace Studies.Reports.Input;

/// <summary>
/// A setting of the resolved trial spec that differs between compared methods although no compared
/// axis sets it (e.g. pnn brings dropout 0.25 and Glorot initialisation, dnn none and Kaiming).
/// </summary>
/// <param name="Setting">The spec path, e.g. <c>model.dropout</c>.</param>
/// <param name="FollowsAxis">The compared axis whose value decides the setting (e.g. <c>model.kind</c>), or null when it varies otherwise.</param>
/// <param name="Values">Per axis value (or per method when <paramref name="FollowsAxis"/> is null): the setting's value.</param>
public sealed record SettingDifference(string Setting, string? FollowsAxis, IReadOnlyList<(string Label, string Value)> Values)
{
    /// <summary>"model.dropout: dnn 0, pnn 0.25 (follows model.kind)".</summary>
    public string Text => $"{Setting}: {string.Join(", ", Values.Select(v => $"{v.Label} {v.Value}"))}{(FollowsAxis is null ? "" : $" (follows {FollowsAxis})")}";
}
