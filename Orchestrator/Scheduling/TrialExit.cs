using Studies.Trials.Results;

namespace Studies.Orchestrator.Scheduling;

/// <summary>How a launched trial ended, as the orchestrator classifies it for the store.</summary>
public abstract record TrialExit
{
    /// <summary>The runner returned a result (completed, diverged, deterministic failure, or cancelled).</summary>
    public sealed record Finished(TrialResult Result, IReadOnlyDictionary<string, string> Provenance) : TrialExit;

    /// <summary>The worker process died, was killed or timed out: worth retrying.</summary>
    public sealed record Crashed(string Reason, string Kind) : TrialExit;

    /// <summary>The orchestrator is stopping (Ctrl+C / SIGTERM) and the worker exited without a result.</summary>
    public sealed record Interrupted(string Reason) : TrialExit;
}
