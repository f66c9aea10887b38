namespace Studies.Orchestrator.Storage;

/// <summary>The life of a trial in the store. Names are stored as written here in lower case.</summary>
public static class TrialState
{
    public const string Queued = "queued";
    public const string Running = "running";
    public const string Completed = "completed";
    /// <summary>A deterministic error (bad data, invalid spec) or infrastructure retries exhausted.</summary>
    public const string Failed = "failed";
    /// <summary>The loss became NaN or infinite.</summary>
    public const string Diverged = "diverged";
    /// <summary>Stopped by Ctrl+C/SIGTERM or found running after its process died; resumes from its checkpoint.</summary>
    public const string Interrupted = "interrupted";
    public const string Cancelled = "cancelled";

    public static readonly string[] All = [Queued, Running, Completed, Failed, Diverged, Interrupted, Cancelled];

    /// <summary>States a study run leaves alone: done for good until the user asks again.</summary>
    public static bool IsFinal(string state) => state is Completed or Failed or Diverged or Cancelled;
}
