namespace Studies.Orchestrator.Cluster;

/// <summary>How Slurm sees one task of a job array (or a plain job): its state, why, and where it ran.</summary>
/// <param name="Job">As Slurm names an array task, JOB_TASK (what <c>studies cluster-task</c> records as <c>job</c>); a plain job's id.</param>
/// <param name="State">Slurm's job state: RUNNING, COMPLETED, CANCELLED, TIMEOUT, PREEMPTED, NODE_FAIL, FAILED, OUT_OF_MEMORY, ...</param>
/// <param name="Reason">Slurm's reason, when it gives one (e.g. TimeLimit); null for None.</param>
/// <param name="TimeLeft">Until the task's time limit (scontrol's TimeLimit - RunTime); null when unlimited or not known.</param>
/// <param name="ExitCode">Slurm's EXIT:SIGNAL of the task's batch script (<c>0:0</c>, <c>1:0</c>, <c>0:9</c>); null when not given.</param>
public sealed record SlurmTaskState(string Job, string State, string? Reason, string? Node, TimeSpan? TimeLeft = null, string? ExitCode = null)
{
    /// <summary>States in which the task still runs or may run again: not yet how it ended.</summary>
    private static readonly HashSet<string> Live = new(StringComparer.Ordinal)
    {
        "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESIZING", "SIGNALING",
        "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD", "SPECIAL_EXIT",
    };

    /// <summary>The task has ended: its state says how.</summary>
    public bool Ended => !Live.Contains(State);

    /// <summary>
    /// The tasks in <c>scontrol show job -o</c> output: one line per job record, <c>Key=Value</c> words. A pending array's
    /// remaining tasks share one record (ArrayTaskId=2-7): they have not run, and are left out.
    /// </summary>
    public static IReadOnlyList<SlurmTaskState> ParseScontrol(string output)
    {
        var tasks = new List<SlurmTaskState>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var word in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = word.IndexOf('=');
                if (eq > 0) fields.TryAdd(word[..eq], word[(eq + 1)..]);
            }
            if (!fields.TryGetValue("JobId", out var id) || !fields.TryGetValue("JobState", out var state)) continue;
            var job = id;
            if (fields.TryGetValue("ArrayJobId", out var array) && fields.TryGetValue("ArrayTaskId", out var task))
            {
                if (!task.All(char.IsAsciiDigit)) continue;
                job = $"{array}_{task}";
            }
            var left = Duration(fields.GetValueOrDefault("TimeLimit")) is { } limit && Duration(fields.GetValueOrDefault("RunTime")) is { } run ? limit - run : (TimeSpan?)null;
            tasks.Add(new SlurmTaskState(job, state, Value(fields.GetValueOrDefault("Reason")), Value(fields.GetValueOrDefault("NodeList")), left,
                Value(fields.GetValueOrDefault("ExitCode"))));
        }
        return tasks;
    }

    /// <summary>
    /// The tasks in <c>sacct -n -P -X -o JobID,State,NodeList,ExitCode</c> output (a cluster with accounting keeps ended jobs
    /// there after slurmctld forgot them): <c>15_2|CANCELLED by 1000|wn042|0:15</c> (the exit code column may be absent).
    /// </summary>
    public static IReadOnlyList<SlurmTaskState> ParseSacct(string output)
    {
        var tasks = new List<SlurmTaskState>();
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split('|');
            if (parts.Length < 3 || parts[0].Contains('[', StringComparison.Ordinal)) continue;
            var state = parts[1].Split(' ', 2);
            tasks.Add(new SlurmTaskState(parts[0], state[0], state.Length > 1 ? state[1] : null, Value(parts[2]), ExitCode: parts.Length > 3 ? Value(parts[3]) : null));
        }
        return tasks;
    }

    /// <summary>Slurm's durations: [DAYS-]HH:MM:SS, MM:SS; null for UNLIMITED and anything else.</summary>
    public static TimeSpan? Duration(string? text)
    {
        if (text is null) return null;
        var days = 0;
        var dash = text.IndexOf('-');
        if (dash > 0)
        {
            if (!int.TryParse(text[..dash], System.Globalization.CultureInfo.InvariantCulture, out days)) return null;
            text = text[(dash + 1)..];
        }
        var parts = text.Split(':');
        if (parts.Length is < 2 or > 3 || !parts.All(p => p.Length > 0 && p.All(char.IsAsciiDigit))) return null;
        var n = parts.Select(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return parts.Length == 3 ? new TimeSpan(days, n[0], n[1], n[2]) : new TimeSpan(days, 0, n[0], n[1]);
    }

    private static string? Value(string? v) => v is null or "" or "None" or "(null)" or "None assigned" ? null : v;
}
