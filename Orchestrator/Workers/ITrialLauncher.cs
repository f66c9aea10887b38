using Studies.Orchestrator.Scheduling;

namespace Studies.Orchestrator.Workers;

/// <summary>Runs one trial on one device slot and reports how it ended.</summary>
public interface ITrialLauncher
{
    /// <param name="specJson">The trial's canonical spec.</param>
    /// <param name="checkpointDirectory">Where the trial keeps its checkpoint, so a later attempt resumes.</param>
    /// <param name="stopping">Signalled when the orchestrator stops: the trial should checkpoint and exit.</param>
    /// <param name="kill">Signalled for an immediate stop (a second Ctrl+C).</param>
    Task<TrialExit> RunAsync(string trialId, string specJson, DeviceSlot slot, string checkpointDirectory, TimeSpan? timeout,
        Action<TrialProgress> progress, CancellationToken stopping, CancellationToken kill);

    /// <summary>
    /// As above, the trial measuring the validation metrics <paramref name="monitor"/> at every validation epoch besides its
    /// own (a search's objectives, for its pruner). Launchers that train nothing themselves ignore them.
    /// </summary>
    Task<TrialExit> RunAsync(string trialId, string specJson, IReadOnlyList<string> monitor, DeviceSlot slot, string checkpointDirectory, TimeSpan? timeout,
        Action<TrialProgress> progress, CancellationToken stopping, CancellationToken kill) =>
        RunAsync(trialId, specJson, slot, checkpointDirectory, timeout, progress, stopping, kill);

    /// <summary>The run is over: ends whatever the launcher keeps between trials (idle worker processes).</summary>
    Task ReleaseWorkersAsync() => Task.CompletedTask;
}
