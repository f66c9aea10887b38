using System.ComponentModel.DataAnnotations;

namespace Studies.Orchestrator.Scheduling;

/// <summary>
/// Intervals and timeouts of the scheduler, from configuration (section <c>Scheduling</c>; environment variables
/// <c>STUDIES_Scheduling__LeaseSeconds=60</c> etc.). Checked when a command starts, relations included.
/// </summary>
public sealed class SchedulingOptions : IValidatableObject
{
    public const string Section = "Scheduling";

    /// <summary>How long a claimed trial stays its owner's without a heartbeat. A crashed orchestrator's trials resume after this.</summary>
    [Range(1.0, 86400.0)]
    public double LeaseSeconds { get; set; } = 30;

    /// <summary>How often an owner renews its leases and writes buffered epochs.</summary>
    [Range(0.1, 3600.0)]
    public double HeartbeatSeconds { get; set; } = 5;

    /// <summary>A worker that says nothing for this long is hung: it is killed and its trial retried.</summary>
    [Range(1.0, 86400.0)]
    public double WorkerSilenceSeconds { get; set; } = 180;

    /// <summary>How long a worker asked to stop (Ctrl+C, SIGTERM) may take to checkpoint before it is killed.</summary>
    [Range(1.0, 3600.0)]
    public double StopGraceSeconds { get; set; } = 60;

    /// <summary>Longest wait between looks at the store when nothing can be claimed (back-offs, other owners' trials).</summary>
    [Range(0.01, 60.0)]
    public double IdlePollSeconds { get; set; } = 1;

    /// <summary>How often <c>studies serve</c> looks at its queue folder when idle.</summary>
    [Range(0.05, 600.0)]
    public double QueuePollSeconds { get; set; } = 2;

    public TimeSpan Lease => TimeSpan.FromSeconds(LeaseSeconds);
    public TimeSpan Heartbeat => TimeSpan.FromSeconds(HeartbeatSeconds);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // Two heartbeats must fit in a lease, or one late write (a busy disk) would hand a live trial to another claimer.
        if (HeartbeatSeconds * 2 > LeaseSeconds)
            yield return new ValidationResult($"Scheduling:HeartbeatSeconds ({HeartbeatSeconds}) must be at most half of Scheduling:LeaseSeconds ({LeaseSeconds})",
                [nameof(HeartbeatSeconds), nameof(LeaseSeconds)]);
    }
}
