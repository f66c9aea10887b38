using Studies.Trials.Results;

namespace Studies.Orchestrator.Storage;

/// <summary>
/// Everything the orchestrator, the CLI and the reports may ask of a store of studies. Every backend
/// (SQLite today, PostgreSQL next) implements exactly this and passes the one contract test suite
/// (tests/Orchestrator.Tests/Storage/StorageContract.cs); nothing outside a backend knows which one it talks to.
///
/// <para>Invariants every backend keeps:</para>
/// <list type="bullet">
/// <item><b>State machine.</b> queued → running (claim) → completed | diverged | failed | interrupted | queued (retry);
/// interrupted → queued (next run, or <see cref="RequeueAsync"/>); queued | interrupted → cancelled (<see cref="SetCancelledAsync"/>);
/// failed → queued only by <see cref="RequeueAsync"/> with failedToo. Completed and diverged trials are never run again by the store.</item>
/// <item><b>Exactly once.</b> <see cref="ClaimNextAsync"/> is atomic across threads, processes and hosts: two claimers never
/// hold the same trial. A running trial has exactly one owner, the claimer, while its lease lasts.</item>
/// <item><b>Ownership by lease.</b> The owner renews its lease with <see cref="HeartbeatAsync"/>. Writes about a running trial
/// (heartbeat, epochs, result, failure) name the owner and are refused (return false/null, nothing written) when the
/// caller no longer owns it, so a process that lost its lease can never record over the trial's new owner.
/// Liveness is judged by the lease alone, never by process ids: it works across hosts.</item>
/// <item><b>What a crash leaves.</b> A result is recorded atomically with its state (all of a trial's epoch, mass and phase rows
/// or none); epochs recorded while running are replaced by the result's. A trial whose owner died stays running until its
/// lease expires; then <see cref="ReclaimExpiredAsync"/> (called by every run) makes it interrupted, and it resumes from its
/// checkpoint. No metric row is ever duplicated.</item>
/// <item><b>Readers never block the writer for long.</b> Queries see a consistent snapshot while a run writes.</item>
/// </list>
/// </summary>
public interface IStudyStorage : IAsyncDisposable
{
    /// <summary>Where the store is, for messages (a file path, or a connection string without its password).</summary>
    string Location { get; }

    /// <summary>Opened for reading only: every write throws <see cref="StoreException"/>.</summary>
    bool IsReadOnly { get; }

    // ---- studies ----------------------------------------------------------------------------

    /// <summary>
    /// Records a study definition and its planned trials. New trials are queued; trials no longer in the definition keep their
    /// records and are marked outside it; cancelled trials of the definition are queued again. A changed data definition is
    /// refused unless <paramref name="force"/>: old results would no longer be comparable.
    /// </summary>
    Task<StudyRow> SyncStudyAsync(StudyDefinition study, IReadOnlyList<PlannedTrialRow> trials, bool force, CancellationToken ct = default);

    Task<StudyRow?> FindStudyAsync(string name, CancellationToken ct = default);

    Task<IReadOnlyList<StudyRow>> ListStudiesAsync(CancellationToken ct = default);

    /// <summary>Marks the study cancelled and its queued and interrupted trials cancelled; running ones finish. Returns how many were cancelled.</summary>
    Task<int> SetCancelledAsync(long studyId, CancellationToken ct = default);

    /// <summary>
    /// Queues interrupted trials (and failed ones when <paramref name="failedToo"/>) of the current definition again, at once.
    /// Attempts keep counting; the retry budget starts over from the current attempt.
    /// </summary>
    Task<int> RequeueAsync(long studyId, bool failedToo, CancellationToken ct = default);

    /// <summary>Records a job a cluster executor submitted for the study (idempotent), so that <c>studies cancel</c> can cancel it.</summary>
    Task RecordJobAsync(long studyId, ClusterJob job, CancellationToken ct = default);

    /// <summary>The cluster jobs submitted for a study, oldest first.</summary>
    Task<IReadOnlyList<ClusterJob>> ListJobsAsync(long studyId, CancellationToken ct = default);

    // ---- adaptive search ----------------------------------------------------------------------

    /// <summary>
    /// Records a proposal and queues its trials, in one transaction, unless its number is taken or one of its trials is
    /// already recorded (the same point proposed again): then nothing is written and the result is false, and the caller
    /// asks again with what the store now holds. Proposal trials stay in the study's definition across runs.
    /// </summary>
    Task<bool> AddProposalAsync(long studyId, SearchProposal proposal, IReadOnlyList<PlannedTrialRow> trials, CancellationToken ct = default);

    /// <summary>The proposals of a study, by number, each with the ids of its trials.</summary>
    Task<IReadOnlyList<RecordedProposal>> ListProposalsAsync(long studyId, CancellationToken ct = default);

    // ---- trial life cycle ---------------------------------------------------------------------

    /// <summary>
    /// Atomically takes the queued trial of lowest ordinal whose back-off has passed, marks it running for the claimer with a
    /// lease of <see cref="TrialClaim.Lease"/>, counts the attempt and records it; null when none is claimable now, and always
    /// while the study is cancelled (a cancel is final until the study is run again).
    /// </summary>
    Task<TrialRow?> ClaimNextAsync(long studyId, TrialClaim claim, CancellationToken ct = default);

    /// <summary>
    /// Renews the owner's lease on a running trial and records its progress. False when <paramref name="owner"/> no longer
    /// owns it (its lease was reclaimed): the caller must stop the trial and record nothing more.
    /// </summary>
    Task<bool> HeartbeatAsync(long studyId, string trialId, string owner, TimeSpan lease, int? phase = null, int? epoch = null,
        CancellationToken ct = default);

    /// <summary>Running trials whose lease has expired become interrupted (to resume from their checkpoint). Returns how many.</summary>
    Task<int> ReclaimExpiredAsync(long studyId, CancellationToken ct = default);

    /// <summary>Earliest time a queued trial may start (back-off), or null when none is queued.</summary>
    Task<double?> NextQueuedTimeAsync(long studyId, CancellationToken ct = default);

    /// <summary>Records a batch of epochs of a running trial (idempotent: a repeated epoch replaces its rows). False when not the owner.</summary>
    Task<bool> RecordEpochsAsync(long studyId, string trialId, string owner, IReadOnlyList<EpochRecord> epochs, CancellationToken ct = default);

    /// <summary>
    /// Records a finished trial (completed, diverged, failed for a deterministic reason, or interrupted with a partial result)
    /// with all its metrics in one transaction, replacing any rows an earlier attempt left. False when not the owner.
    /// </summary>
    Task<bool> RecordResultAsync(long studyId, string trialId, string owner, TrialState state, TrialResult result, double seconds,
        string provenance, CancellationToken ct = default);

    /// <summary>Records a trial that ended without a result, as the retry policy decided. Returns the new state, or null when not the owner.</summary>
    Task<TrialState?> RecordFailureAsync(long studyId, string trialId, string owner, TrialFailure failure, CancellationToken ct = default);

    /// <summary>Adds or updates where the current attempt runs (e.g. a cluster job's state). False when not the owner.</summary>
    Task<bool> SetPlacementAsync(long studyId, string trialId, string owner, IReadOnlyDictionary<string, string> placement, CancellationToken ct = default);

    /// <summary>
    /// Adds to what is recorded of one attempt, ended or not, whoever owns the trial now: how the cluster ended it (its
    /// Slurm state), learnt after the fact. The trial's own placement follows when it is the trial's latest attempt.
    /// False when there is no such attempt.
    /// </summary>
    Task<bool> AnnotateAttemptAsync(long studyId, string trialId, int attempt, IReadOnlyDictionary<string, string> placement, CancellationToken ct = default);

    Task SetArtifactAsync(long studyId, string trialId, string kind, string path, CancellationToken ct = default);

    // ---- queries ------------------------------------------------------------------------------

    /// <summary>
    /// The trial rows of a study whose state, attempts, placement or definition changed since <paramref name="cursor"/> (0:
    /// every row), and the cursor for the next call. A row may come back more than once; none changed after the cursor is
    /// missed. Heartbeats (lease, epoch) do not count as changes: a poll reads what changed, not the running trials again.
    /// </summary>
    Task<TrialChanges> ListTrialsChangedAsync(long studyId, long cursor, CancellationToken ct = default);

    /// <summary>
    /// Trials of the current definition in one of <paramref name="states"/> or with at least <paramref name="minAttempts"/>
    /// attempts: the first <paramref name="limit"/> by ordinal, and how many there are in all. What <c>studies status</c>
    /// shows of a study of any size, in bounded memory. <paramref name="offset"/>: skip that many first (a later page).
    /// </summary>
    Task<TrialPage> ListTrialsWhereAsync(long studyId, IReadOnlyList<TrialState> states, int minAttempts, int limit, CancellationToken ct = default, int offset = 0);

    /// <summary>
    /// The mean run time (seconds) of the completed trials of the current definition, aggregated by the store (no row is
    /// read here), and how many there are: what an ETA of a study of any size is made from. Null mean when none has a time.
    /// </summary>
    Task<(double? MeanSeconds, int Count)> CompletedSecondsAsync(long studyId, CancellationToken ct = default);

    /// <summary>Recorded trials that are outside the study's current definition (kept, not run).</summary>
    Task<int> CountOutsideDefinitionAsync(long studyId, CancellationToken ct = default);

    /// <summary>All trials of a study, those of the current definition first, each group by ordinal.</summary>
    Task<IReadOnlyList<TrialRow>> ListTrialsAsync(long studyId, CancellationToken ct = default);

    Task<TrialRow?> FindTrialAsync(long studyId, string trialId, CancellationToken ct = default);

    /// <summary>Trials per state, of the current definition only.</summary>
    Task<StateCounts> CountStatesAsync(long studyId, CancellationToken ct = default);

    /// <summary>The recorded result of a trial (epochs, per-mass metrics, phases) as the runner returned it.</summary>
    Task<TrialResult> LoadResultAsync(long studyId, TrialRow trial, CancellationToken ct = default);

    /// <summary>Epochs recorded so far (while it runs: the batches recorded; once finished: the result's).</summary>
    Task<IReadOnlyList<EpochRecord>> LoadEpochsAsync(long studyId, string trialId, CancellationToken ct = default);

    /// <summary>Every attempt of a trial, oldest first.</summary>
    Task<IReadOnlyList<AttemptRow>> ListAttemptsAsync(long studyId, string trialId, CancellationToken ct = default);

    /// <summary>The backend's own consistency check; "ok" when sound.</summary>
    Task<string> IntegrityCheckAsync(CancellationToken ct = default);
}
