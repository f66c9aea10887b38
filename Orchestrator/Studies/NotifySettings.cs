namespace Studies.Orchestrator.Studies;

/// <summary>
/// Where a study says it ended, failed or had a trial diverge: a webhook (an HTTP POST of JSON whose <c>text</c> field
/// chat webhooks show as the message) and/or a command run through <c>/bin/sh -c</c> (the JSON on its standard input,
/// the message in <c>STUDIES_NOTIFY_TEXT</c>). From a study's <c>notify:</c> section or <c>studies serve --notify</c>.
/// </summary>
public sealed record NotifySettings(string? Webhook, string? Command, IReadOnlyList<string> Events)
{
    public const string End = "end";
    public const string Failure = "failure";
    public const string Divergence = "divergence";
    public static readonly IReadOnlyList<string> AllEvents = [End, Failure, Divergence];

    public bool Wants(string @event) => Events.Contains(@event);
}
