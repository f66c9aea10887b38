namespace Studies.Orchestrator.Hosting;

/// <summary>Runs one parsed study to the end (or until stopped) and writes its report.</summary>
public interface IStudyRunner
{
    /// <param name="study">The study as <see cref="Studies.StudyLoader"/> read it: the caller parses it once, with its components.</param>
    Task<StudyRunOutcome> RunAsync(Studies.Study study, StudyRunRequest request, CancellationToken stopping, CancellationToken kill);
}

/// <param name="TrialTimeout">A trial running longer is stopped and retried (an infrastructure failure); null: no limit.</param>
/// <param name="FailFastAfter">Stop starting trials after this many failures with the same error; 0: never.</param>
public sealed record StudyRunRequest(bool Force = false, int? Workers = null, bool Interactive = false, TimeSpan? TrialTimeout = null, int FailFastAfter = 0)
{
    /// <summary>Overrides the study's <c>resources.executor</c> (<c>studies run --executor</c>).</summary>
    public string? Executor { get; init; }

    /// <summary>A file from the serve queue, written by anyone who can write there: checked by <see cref="QueuedStudyGuard"/> before it runs.</summary>
    public bool Untrusted { get; init; }
}

/// <summary>How a study run ended: the report it wrote and whether it was stopped before the end.</summary>
public sealed record StudyRunOutcome(string StudyName, string? ReportPath, bool Stopped, IReadOnlyDictionary<global::Studies.Trials.Results.TrialState, int> States)
{
    /// <summary>Why the executor stopped with trials left, when it says (see <see cref="Storage.StateCounts.Why"/>).</summary>
    public string? Why { get; init; }

    /// <summary>The headline result in one line ("verdict: best at held-out masses ..."); null when the run was killed.</summary>
    public string? Verdict { get; init; }
}
