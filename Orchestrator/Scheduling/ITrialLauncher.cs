namespace Studies.Orchestrator.Scheduling;

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

    /// <summary>
    /// Runs the members of a fused pack (trials of one <c>FusionKey</c>) together on one slot and reports how each ended, in
    /// the members' order. A member's <see cref="PackLaunch.Leave"/> asks it alone to stop (pruned); <paramref name="stopping"/>
    /// and <paramref name="kill"/> stop them all. This default runs them one after the other, unfused: launchers that do not
    /// fuse (tests, ones that train nothing) still run every member as a trial of its own.
    /// </summary>
    async Task<IReadOnlyList<TrialExit>> RunPackAsync(IReadOnlyList<PackLaunch> members, IReadOnlyList<string> monitor, DeviceSlot slot, TimeSpan? timeout,
        CancellationToken stopping, CancellationToken kill)
    {
        var exits = new List<TrialExit>();
        foreach (var m in members)
        {
            if (stopping.IsCancellationRequested || kill.IsCancellationRequested)
            {
                exits.Add(new TrialExit.Interrupted("the orchestrator was stopped"));
                continue;
            }
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(stopping, m.Leave);
            exits.Add(await RunAsync(m.TrialId, m.SpecJson, monitor, slot, m.CheckpointDirectory, timeout, m.Progress, stop.Token, kill));
        }
        return exits;
    }

    /// <summary>The run is over: ends whatever the launcher keeps between trials (idle worker processes).</summary>
    Task ReleaseWorkersAsync() => Task.CompletedTask;
}

/// <summary>One member of a fused pack to launch: its trial, canonical spec and folder, where its progress goes, and the
/// token that asks it alone to leave the pack (the pruner stopped it).</summary>
public sealed record PackLaunch(string TrialId, string SpecJson, string CheckpointDirectory, Action<TrialProgress> Progress, CancellationToken Leave)
{
    /// <summary>The error kind of a member's result when it left its pack because it was asked to (<see cref="Leave"/>): pruned.</summary>
    public const string LeftErrorKind = "left-pack";
}
