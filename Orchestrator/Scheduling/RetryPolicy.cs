using Studies.Orchestrator.Storage;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Scheduling;

/// <summary>
/// Whether a trial that ended without a result runs again. Infrastructure failures (a crashed, killed or hung worker, a
/// timeout) are retried with exponential back-off, <c>BackoffSeconds * 2^(n-1)</c> before the n-th retry, until
/// <see cref="MaxRetries"/> are spent; deterministic errors and interruptions never are (they would fail the same way,
/// or the user asked to stop). The budget counts attempts since the trial was last queued by hand.
/// </summary>
public sealed record RetryPolicy(int MaxRetries, double BackoffSeconds)
{
    public TrialFailure Decide(TrialRow trial, TrialState state, string error, string kind, bool retryable, double now) =>
        retryable && trial.AttemptsSinceRetry <= MaxRetries
            ? new TrialFailure(state, error, kind, now + BackoffSeconds * Math.Pow(2, Math.Max(0, trial.AttemptsSinceRetry - 1)))
            : new TrialFailure(state, error, kind);
}
