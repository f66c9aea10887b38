using Microsoft.Extensions.Logging.Abstractions;
using Studies.Orchestrator.Cluster;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Tests.Cluster;

/// <summary>How Slurm ended an attempt's array task, read from Slurm's own output (captured from the tests' single-node Slurm).</summary>
public sealed class SlurmEndStateTests : IDisposable
{
    /// <summary><c>scontrol show job -o 1</c> after both tasks of an array with <c>--time=1</c> ran past it (lines cut after NodeList).</summary>
    private const string TimedOut = """
        JobId=1 ArrayJobId=1 ArrayTaskId=1 JobName=job.sh UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=TIMEOUT Reason=TimeLimit Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:15 RunTime=00:01:28 TimeLimit=00:01:00 TimeMin=N/A SubmitTime=2026-11-27T11:45:49 EligibleTime=2026-11-27T11:45:50 AccrueTime=Unknown StartTime=2026-11-27T11:45:50 EndTime=2026-11-27T11:47:18 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-27T11:45:50 Scheduler=Backfill Partition=debug AllocNode:Sid=localhost:22097 ReqNodeList=(null) ExcNodeList=(null) NodeList=node1 BatchHost=node1 NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null)
        JobId=3 ArrayJobId=1 ArrayTaskId=0 JobName=job.sh UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) QOS=(null) JobState=TIMEOUT Reason=TimeLimit Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:15 RunTime=00:01:28 TimeLimit=00:01:00 TimeMin=N/A SubmitTime=2026-11-27T11:45:49 EligibleTime=2026-11-27T11:45:50 AccrueTime=Unknown StartTime=2026-11-27T11:45:50 EndTime=2026-11-27T11:47:18 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-11-27T11:45:50 Scheduler=Backfill Partition=debug AllocNode:Sid=localhost:22097 ReqNodeList=(null) ExcNodeList=(null) NodeList=node1 BatchHost=node1 NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* TRES=cpu=1,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null)
        """;

    /// <summary>A pending array's remaining tasks, one record for all: none has run.</summary>
    private const string Pending = "JobId=2 ArrayJobId=2 ArrayTaskId=1-7 JobName=job.sh UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901758 Nice=0 Account=(null) QOS=(null) JobState=PENDING Reason=Resources Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:00 TimeLimit=UNLIMITED NodeList= SchedNodeList=node1 NumNodes=1";

    private readonly string folder = Directory.CreateTempSubdirectory("studies-endstates-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void Scontrol_records_give_each_array_task_its_state_reason_and_node()
    {
        var tasks = SlurmTaskState.ParseScontrol(TimedOut + "\n" + Pending);
        Assert.Equal([("1_1", "TIMEOUT", "TimeLimit", "node1"), ("1_0", "TIMEOUT", "TimeLimit", "node1")], tasks.Select(t => (t.Job, t.State, t.Reason, t.Node)));
        Assert.All(tasks, t => Assert.True(t.Ended));
        var running = SlurmTaskState.ParseScontrol("JobId=16 ArrayJobId=15 ArrayTaskId=1 JobState=RUNNING Reason=None NodeList=wn042");
        Assert.Equal(("15_1", null, false), (running[0].Job, running[0].Reason, running[0].Ended));
        Assert.Equal("123", Assert.Single(SlurmTaskState.ParseScontrol("JobId=123 JobName=x JobState=COMPLETED Reason=None NodeList=n1")).Job);
    }

    [Fact]
    public void Time_left_is_the_limit_less_the_run_time_in_slurms_durations()
    {
        Assert.Equal(TimeSpan.FromSeconds(-28), SlurmTaskState.ParseScontrol(TimedOut)[0].TimeLeft); // killed 28 s past it
        Assert.Equal(new TimeSpan(1, 2, 3, 4), SlurmTaskState.Duration("1-02:03:04"));
        Assert.Equal(TimeSpan.FromSeconds(95), SlurmTaskState.Duration("01:35"));
        Assert.Null(SlurmTaskState.Duration("UNLIMITED"));
        Assert.Null(SlurmTaskState.ParseScontrol("JobId=7 JobState=RUNNING TimeLimit=UNLIMITED RunTime=00:00:05")[0].TimeLeft);
    }

    [Fact]
    public void Sacct_lines_give_each_array_task_its_state()
    {
        var tasks = SlurmTaskState.ParseSacct("15_0|COMPLETED|wn001\n15_1|CANCELLED by 1000|wn042\n15_[2-7]|PENDING|None assigned\n");
        Assert.Equal([("15_0", "COMPLETED", null, "wn001"), ("15_1", "CANCELLED", "by 1000", "wn042")], tasks.Select(t => (t.Job, t.State, t.Reason, t.Node)));
    }

    /// <summary>Slurm as the recorder asks it: the tasks of array 1, with a state that changes when the test says so.</summary>
    private sealed class CapturedSlurm(string output) : ISlurm
    {
        public string Output { get; set; } = output;
        public int Asked;
        public Task<string> SubmitAsync(string scriptPath, IReadOnlyDictionary<string, string> environment, CancellationToken ct) => throw new NotSupportedException();
        public Task<bool> IsActiveAsync(string jobId, CancellationToken ct) => throw new NotSupportedException();
        public Task CancelAsync(IReadOnlyList<string> jobIds, CancellationToken ct) => throw new NotSupportedException();

        public Task<IReadOnlyList<SlurmTaskState>> TaskStatesAsync(string jobId, CancellationToken ct)
        {
            Asked++;
            return Task.FromResult(jobId == "1" ? SlurmTaskState.ParseScontrol(Output) : (IReadOnlyList<SlurmTaskState>)[]);
        }
    }

    [Fact]
    public async Task An_attempt_whose_task_ran_past_its_time_limit_is_recorded_timeout_once_the_task_has_ended()
    {
        await using var store = await SqliteStudyStorage.OpenAsync(Path.Combine(folder, "s.db"));
        var study = await store.SyncStudyAsync(new StudyDefinition("s", null, "def", "h", "d", new StudySettings()),
            [new PlannedTrialRow("a", "{}", new Dictionary<string, string>()), new PlannedTrialRow("b", "{}", new Dictionary<string, string>())], false);
        // Trial a ran on task 1_1, which Slurm killed: its lease ran out. Trial b ran on task 1_0 to its end.
        var placement = (string task) => new Dictionary<string, string> { ["job"] = $"1_{task}", ["slurm_array_job_id"] = "1", ["slurm_array_task_id"] = task, ["slurm_state"] = "RUNNING" };
        await store.ClaimNextAsync(study.Id, new TrialClaim("task1", "cpu", TimeSpan.FromMilliseconds(1), placement("1")));
        await store.ClaimNextAsync(study.Id, new TrialClaim("task0", "cpu", TimeSpan.FromHours(1), placement("0")));
        await Task.Delay(20);
        Assert.Equal(1, await store.ReclaimExpiredAsync(study.Id));
        await store.RecordResultAsync(study.Id, "b", "task0", TrialState.Completed, new TrialResult { Outcome = TrialOutcome.Completed }, 1, "{}");

        // While Slurm still has the task running (it is being killed), nothing is recorded yet.
        var slurm = new CapturedSlurm(TimedOut.Replace("JobState=TIMEOUT", "JobState=COMPLETING", StringComparison.Ordinal));
        var recorder = new SlurmEndStates(slurm, store, study);
        Assert.False(await recorder.RecordAsync(await store.ListTrialsAsync(study.Id), CancellationToken.None));
        Assert.Equal("RUNNING", (await store.ListAttemptsAsync(study.Id, "a"))[0].Placement["slurm_state"]);

        slurm.Output = TimedOut;
        Assert.True(await recorder.RecordAsync(await store.ListTrialsAsync(study.Id), CancellationToken.None));
        var attempt = Assert.Single(await store.ListAttemptsAsync(study.Id, "a"));
        Assert.Equal(("TIMEOUT", "TimeLimit", "lease-expired"), (attempt.Placement["slurm_state"], attempt.Placement["slurm_reason"], attempt.Outcome));
        // The completed trial's attempt is not Slurm's to explain: its task went on.
        Assert.Equal("RUNNING", Assert.Single(await store.ListAttemptsAsync(study.Id, "b")).Placement["slurm_state"]);

        // Settled attempts are not asked about again.
        var asked = slurm.Asked;
        Assert.True(await recorder.RecordAsync(await store.ListTrialsAsync(study.Id), CancellationToken.None));
        Assert.Equal(asked, slurm.Asked);
    }

    [Theory]
    // The task ended the attempt: Slurm's state, and for FAILED how the script exited.
    [InlineData("NODE_FAIL", null, "0:0", "lease-expired", "NODE_FAIL", null)]
    [InlineData("CANCELLED", "by 0", "0:15", "interrupted", "CANCELLED", "by 0")]
    [InlineData("FAILED", "NonZeroExitCode", "1:0", "lease-expired", "FAILED", "NonZeroExitCode, exit code 1")]
    [InlineData("FAILED", null, "0:9", "crash", "FAILED", "killed by signal 9")]
    [InlineData("OUT_OF_MEMORY", "OutOfMemory", "0:125", "crash", "OUT_OF_MEMORY", "OutOfMemory")]
    // The task went on and exited 0: COMPLETED is never shown for an attempt that did not finish.
    [InlineData("COMPLETED", null, "0:0", "crash", "FAILED", "the trial's worker crashed; the task went on")]
    [InlineData("COMPLETED", null, "0:0", "timeout", "FAILED", "the trial ran past --trial-timeout; the task went on")]
    [InlineData("COMPLETED", null, "0:0", "out_of_memory", "OUT_OF_MEMORY", "the device ran out of memory; the task went on")]
    [InlineData("COMPLETED", null, "0:0", "interrupted", "FAILED", "the attempt ended interrupted while its task exited 0")]
    // Still running: an attempt that ended on its own is shown at once.
    [InlineData("RUNNING", null, "0:0", "hang", "FAILED", "the trial's worker stopped responding; the task went on")]
    public void An_attempts_end_is_the_tasks_end_unless_the_task_went_on(string task, string? reason, string exit, string outcome, string state, string? shown)
    {
        Assert.Equal((state, shown), SlurmEndStates.AttemptEnd(new SlurmTaskState("1_0", task, reason, "node1", ExitCode: exit), outcome));
    }

    [Fact]
    public void An_attempt_slurm_forgot_is_unknown_unless_its_own_end_says_more()
    {
        Assert.Equal(("UNKNOWN", null), SlurmEndStates.AttemptEnd(null, "lease-expired"));
        Assert.Equal("FAILED", SlurmEndStates.AttemptEnd(null, "crash").State);
    }

    [Fact]
    public void Exit_codes_are_read_from_scontrol_and_sacct()
    {
        Assert.Equal("0:15", SlurmTaskState.ParseScontrol(TimedOut)[0].ExitCode);
        var tasks = SlurmTaskState.ParseSacct("15_0|FAILED|wn001|1:0\n15_1|COMPLETED|wn002\n");
        Assert.Equal(["1:0", null], tasks.Select(t => t.ExitCode));
    }

    [Fact]
    public async Task A_crashed_attempt_in_a_task_that_went_on_is_recorded_failed_not_completed()
    {
        await using var store = await SqliteStudyStorage.OpenAsync(Path.Combine(folder, "c.db"));
        var study = await store.SyncStudyAsync(new StudyDefinition("s", null, "def", "h", "d", new StudySettings()),
            [new PlannedTrialRow("a", "{}", new Dictionary<string, string>()), new PlannedTrialRow("b", "{}", new Dictionary<string, string>())], false);
        var placement = new Dictionary<string, string> { ["job"] = "1_0", ["slurm_array_job_id"] = "1", ["slurm_array_task_id"] = "0", ["slurm_state"] = "RUNNING" };
        // Trial a's worker crashed on task 1_0 (retried later); trial b, on the same task, was interrupted by its stop.
        await store.ClaimNextAsync(study.Id, new TrialClaim("task0", "cpu", TimeSpan.FromHours(1), placement));
        await store.RecordFailureAsync(study.Id, "a", "task0", new TrialFailure(TrialState.Queued, "worker exited with code 139", "crash", RequeueAt: 0));
        await store.ClaimNextAsync(study.Id, new TrialClaim("task0", "cpu", TimeSpan.FromHours(1), placement));
        await store.ClaimNextAsync(study.Id, new TrialClaim("task0", "cpu", TimeSpan.FromHours(1), placement));
        var running = (await store.ListTrialsAsync(study.Id)).Where(t => t.State == TrialState.Running).Select(t => t.TrialId).ToList();
        Assert.Equal(["a", "b"], running.Order());
        await store.RecordFailureAsync(study.Id, "b", "task0", new TrialFailure(TrialState.Interrupted, "stopped", "interrupted"));

        // While the task runs, the crash is shown at once; the interrupted attempt waits for how the task ends.
        var slurm = new CapturedSlurm("JobId=5 ArrayJobId=1 ArrayTaskId=0 JobState=RUNNING Reason=None ExitCode=0:0 NodeList=node1");
        var recorder = new SlurmEndStates(slurm, store, study);
        Assert.False(await recorder.RecordAsync(await store.ListTrialsAsync(study.Id), CancellationToken.None));
        var crashed = (await store.ListAttemptsAsync(study.Id, "a"))[0];
        Assert.Equal(("crash", "FAILED"), (crashed.Outcome, crashed.Placement["slurm_state"]));
        Assert.Equal("RUNNING", (await store.ListAttemptsAsync(study.Id, "b"))[0].Placement["slurm_state"]);

        // The task exits 0: the interrupted attempt is not shown COMPLETED either.
        slurm.Output = "JobId=5 ArrayJobId=1 ArrayTaskId=0 JobState=COMPLETED Reason=None ExitCode=0:0 NodeList=node1";
        Assert.True(await recorder.RecordAsync(await store.ListTrialsAsync(study.Id), CancellationToken.None));
        var all = (await store.ListAttemptsAsync(study.Id, "a")).Concat(await store.ListAttemptsAsync(study.Id, "b")).Where(SlurmEndStates.StoppedOnCluster).ToList();
        Assert.Equal(2, all.Count);
        Assert.All(all, a => Assert.Equal("FAILED", a.Placement["slurm_state"]));
    }

    [Theory]
    [InlineData("00:00:20", true)]   // 40 s left: the script's warning (60 s ahead of the limit) stopped it
    [InlineData("00:00:05", false)]  // 55 min left: a stop for another reason (a person's kill, a node going down)
    public async Task A_task_stopped_at_the_time_limits_warning_records_its_attempts_timeout(string runTime, bool timeLimit)
    {
        await using var store = await SqliteStudyStorage.OpenAsync(Path.Combine(folder, "t.db"));
        var study = await store.SyncStudyAsync(new StudyDefinition("s", null, "def", "h", "d", new StudySettings()),
            [new PlannedTrialRow("a", "{}", new Dictionary<string, string>())], false);
        await store.ClaimNextAsync(study.Id, new TrialClaim("task", "cpu", TimeSpan.FromHours(1),
            new Dictionary<string, string> { ["job"] = "1_1", ["slurm_state"] = "RUNNING" }));
        await store.RecordResultAsync(study.Id, "a", "task", TrialState.Interrupted, new TrialResult { Outcome = TrialOutcome.Cancelled }, 1, "{}");
        var limit = runTime == "00:00:20" ? "00:01:00" : "01:00:00";
        var slurm = new CapturedSlurm($"JobId=1 ArrayJobId=1 ArrayTaskId=1 JobState=RUNNING Reason=None RunTime={runTime} TimeLimit={limit} NodeList=node1");

        Assert.Equal(timeLimit, await SlurmEndStates.RecordTimeLimitAsync(slurm, store, study, "1", [("a", 1)], CancellationToken.None));
        var attempt = Assert.Single(await store.ListAttemptsAsync(study.Id, "a"));
        Assert.Equal(timeLimit ? "TIMEOUT" : "RUNNING", attempt.Placement["slurm_state"]);
    }
}
