using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Studies;
using Studies.Orchestrator.Workers;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Hosting;

/// <summary>The notification targets of every study a process runs (<c>studies serve --notify</c>); empty by default.</summary>
public sealed class ServeNotifications
{
    public List<NotifySettings> Targets { get; } = [];
}

/// <summary>One notification: what happened to which study, in words, with the verdict and report where there are.</summary>
public sealed record Notification(string Event, string Study, string Text)
{
    public string? Verdict { get; init; }
    public string? Report { get; init; }

    public string ToJson() => new JsonObject
    {
        ["event"] = Event, ["study"] = Study, ["text"] = Text, ["verdict"] = Verdict, ["report"] = Report,
    }.ToJsonString();
}

/// <summary>
/// Sends notifications, each bounded by <see cref="Timeout"/>: a receiver that is down or slow costs a warning, never
/// the run or its records.
/// </summary>
public sealed class Notifier(ILogger<Notifier> logger)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static readonly HttpClient Http = new() { Timeout = Timeout };

    public async Task SendAsync(IEnumerable<NotifySettings> targets, Notification notification)
    {
        foreach (var target in targets.Where(t => t.Wants(notification.Event)))
        {
            if (target.Webhook is { } url) await PostAsync(url, notification);
            if (target.Command is { } command) await RunAsync(command, notification);
        }
    }

    private async Task PostAsync(string url, Notification notification)
    {
        try
        {
            using var content = new StringContent(notification.ToJson(), Encoding.UTF8, "application/json");
            using var response = await Http.PostAsync(url, content);
            if (!response.IsSuccessStatusCode)
                logger.LogWarning("notification to {Url} was refused: HTTP {Status}", url, (int)response.StatusCode);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
        {
            logger.LogWarning("notification to {Url} failed: {Error}", url, e.Message);
        }
    }

    private async Task RunAsync(string command, Notification notification)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        start.Environment["STUDIES_NOTIFY_EVENT"] = notification.Event;
        start.Environment["STUDIES_NOTIFY_STUDY"] = notification.Study;
        start.Environment["STUDIES_NOTIFY_TEXT"] = notification.Text;
        try
        {
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            try
            {
                await process.StandardInput.WriteAsync(notification.ToJson());
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The command does not read its input: fine.
            }
            using var limit = new CancellationTokenSource(Timeout);
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                logger.LogWarning("notification command `{Command}` did not finish within {Seconds} s; it was stopped", command, Timeout.TotalSeconds);
                return;
            }
            if (process.ExitCode != 0)
                logger.LogWarning("notification command `{Command}` exited with code {Code}: {Error}", command, process.ExitCode, (await stderr).Trim().Split('\n')[0]);
            _ = await stdout;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            logger.LogWarning("notification command `{Command}` could not be started: {Error}", command, e.Message);
        }
    }
}

/// <summary>Passes everything on to the run's observer, and notifies the first failed and the first diverged trial of the run.</summary>
public sealed class NotifyingObserver(IExecutionObserver inner, Notifier notifier, IReadOnlyList<NotifySettings> targets, string study) : IExecutionObserver
{
    private readonly Lock gate = new();
    private int failed;
    private int diverged;

    public void RunStarting(RunOverview run) => inner.RunStarting(run);
    public void RunStarting(string name, int total, int alreadyFinished, string plan) => inner.RunStarting(name, total, alreadyFinished, plan);
    public void TrialStarted(TrialRow trial, DeviceSlot slot) => inner.TrialStarted(trial, slot);
    public void TrialProgress(TrialProgress progress) => inner.TrialProgress(progress);
    public Task<T> ShowWhile<T>(Task<T> run) => inner.ShowWhile(run);

    public void TrialEnded(string trialId, TrialState state, string? error)
    {
        inner.TrialEnded(trialId, state, error);
        Notify(trialId, null, state, error);
    }

    public void TrialFinished(TrialRow trial, TrialState state, string? error, TrialResult? result)
    {
        inner.TrialFinished(trial, state, error, result);
        Notify(trial.TrialId, trial, state, error);
    }

    /// <summary>Sent in the background: a slow receiver never holds up the scheduler (each send is bounded).</summary>
    public Task Pending { get; private set; } = Task.CompletedTask;

    private void Notify(string trialId, TrialRow? trial, TrialState state, string? error)
    {
        if (state is not (TrialState.Diverged or TrialState.Failed)) return;
        var what = state == TrialState.Diverged ? NotifySettings.Divergence : NotifySettings.Failure;
        if ((state == TrialState.Diverged ? Interlocked.Increment(ref diverged) : Interlocked.Increment(ref failed)) != 1) return;
        var axes = trial is null ? "" : $" ({string.Join(", ", trial.Axes.Select(a => $"{a.Key}={a.Value}"))})";
        var text = $"study {study}: trial {trialId}{axes} {state.Name()}: {(error ?? "no reason recorded").Split('\n')[0]}";
        lock (gate)
        {
            var previous = Pending;
            Pending = Task.Run(async () =>
            {
                await previous;
                await notifier.SendAsync(targets, new Notification(what, study, text));
            });
        }
    }
}
