using System.Text.Json;
using System.Text.Json.Serialization;
using Studies.Orchestrator.Scheduling;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Workers;

/// <summary>
/// One line of JSON the orchestrator writes to a worker's standard input: run this trial next; or, with <see cref="Pack"/>,
/// train these trials as one fused pack (each member's own id, spec and folder; the outer id, spec and folder are empty);
/// or, with <see cref="Leave"/>, sent while a pack trains: that member stops at its next epoch's end (the pruner stopped it).
/// A single trial's line is what it always was, so a worker of this release serves an orchestrator of the one before.
/// </summary>
/// <param name="Monitor">Validation metrics to measure at every validation epoch besides the trial's own (a search's objectives); null: none.</param>
public sealed record WorkerRequest(string TrialId, string SpecFile, string CheckpointDirectory, IReadOnlyList<string>? Monitor = null)
{
    /// <summary>The members of a fused pack (each a single-trial request); null: one trial.</summary>
    public IReadOnlyList<WorkerRequest>? Pack { get; init; }

    /// <summary>The pack member (trial id) to leave its pack at its next epoch's end; null: not a leave request.</summary>
    public string? Leave { get; init; }

    public static WorkerRequest ForPack(IReadOnlyList<WorkerRequest> members, IReadOnlyList<string>? monitor) => new("", "", "", monitor) { Pack = members };

    public static WorkerRequest LeavePack(string trialId) => new("", "", "") { Leave = trialId };

    private static readonly JsonSerializerOptions Options = new(SpecJson.Options)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        TypeInfoResolver = WorkerProtocolJson.Default,
    };

    public string ToLine() => JsonSerializer.Serialize(this, Options);

    public static WorkerRequest? TryParse(string line)
    {
        if (line.Length == 0 || line[0] != '{') return null;
        try
        {
            return JsonSerializer.Deserialize<WorkerRequest>(line, Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// One line of JSON a worker writes to its standard output for the orchestrator: progress per
/// epoch, heartbeats, and finally the result. Everything else a worker prints goes to stderr.
/// </summary>
public sealed record WorkerMessage
{
    /// <summary>Sent once when the worker has started and loaded the tensor library, before any trial.</summary>
    public const string Ready = "ready";
    public const string Epoch = "epoch";
    public const string Heartbeat = "heartbeat";
    public const string Result = "result";
    /// <summary>In an epoch message's metrics: the epoch's own seconds (progress only; the recorded epochs are the result's).</summary>
    public const string EpochSecondsKey = TrialProgress.EpochSecondsKey;
    /// <summary>In a progress report at epoch 0 (no epoch yet): the seconds a worker started for the trial took to be ready.</summary>
    public const string WorkerStartSecondsKey = TrialProgress.WorkerStartSecondsKey;

    public required string Kind { get; init; }
    /// <summary>The pack member an epoch or result is of; null for a single trial's messages (the trial the worker runs).</summary>
    public string? TrialId { get; init; }
    public int? Phase { get; init; }
    public int? EpochNumber { get; init; }
    public IReadOnlyDictionary<string, double>? Metrics { get; init; }
    public TrialResult? TrialResult { get; init; }
    /// <summary>Host, versions, libtorch and BLAS: stored with the trial.</summary>
    public IReadOnlyDictionary<string, string>? Provenance { get; init; }

    private static readonly JsonSerializerOptions Options = new(SpecJson.Options)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        TypeInfoResolver = WorkerProtocolJson.Default,
    };

    public string ToLine() => JsonSerializer.Serialize(this, Options);

    /// <summary>Parses a line; null for lines that are not protocol messages (stray output).</summary>
    public static WorkerMessage? TryParse(string line)
    {
        if (line.Length == 0 || line[0] != '{') return null;
        try
        {
            return JsonSerializer.Deserialize<WorkerMessage>(line, Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// The protocol's types described at compile time: a worker's first message then costs no reflection (measured: the
/// reflection-based first serialisation took 0.3 s of the worker's 1.4 s start-up). The options in force stay
/// <see cref="SpecJson.Options"/>'s; this only supplies the type metadata.
/// </summary>
[JsonSerializable(typeof(WorkerRequest))]
[JsonSerializable(typeof(WorkerMessage))]
internal sealed partial class WorkerProtocolJson : JsonSerializerContext;
