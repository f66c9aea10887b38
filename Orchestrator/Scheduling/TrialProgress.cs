namespace Studies.Orchestrator.Scheduling;

/// <summary>Live progress of one trial, for the console and the store's heartbeat.</summary>
public sealed record TrialProgress(string TrialId, string Device, int Phase, int Epoch, int TotalEpochs, IReadOnlyDictionary<string, double> Metrics)
{
    /// <summary>In <see cref="Metrics"/>: the epoch's own seconds (progress only; the recorded epochs are the result's).</summary>
    public const string EpochSecondsKey = "epoch_seconds";
    /// <summary>In a report at epoch 0 (no epoch yet): the seconds a worker started for the trial took to be ready.</summary>
    public const string WorkerStartSecondsKey = "worker_start_seconds";
}
