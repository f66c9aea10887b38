using System.Collections.Concurrent;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Workers;

namespace Studies.Orchestrator.Dashboard;

/// <summary>One epoch a running trial reported: its phase, global epoch number and metrics.</summary>
public sealed record LiveEpoch(int Phase, int Epoch, IReadOnlyDictionary<string, double> Metrics);

/// <summary>A trial the orchestrator of this process runs now, with every epoch its worker reported so far.</summary>
public sealed record LiveTrial(string TrialId, string Device, int TotalEpochs, IReadOnlyList<LiveEpoch> Epochs);

/// <summary>
/// The per-epoch progress this process's orchestrator receives from its workers, kept for the
/// dashboard while the trials run. The store records a trial's epochs only when it finishes, so
/// without this a running trial's curve would not exist anywhere; a finished trial's epochs are
/// in the store and it leaves the feed. <c>studies dashboard</c> (another process) has no feed.
/// </summary>
public sealed class ProgressFeed : IExecutionObserver
{
    /// <summary>Epochs kept per trial; a longer run keeps every second one (the chart is downsampled anyway).</summary>
    public const int MaxEpochsPerTrial = 4000;

    private sealed class Entry(string device)
    {
        public string Device { get; } = device;
        public int TotalEpochs;
        public List<LiveEpoch> Epochs { get; } = [];
    }

    private readonly ConcurrentDictionary<string, Entry> running = new();
    private long version;

    /// <summary>Changes whenever a trial starts, reports an epoch or ends.</summary>
    public long Version => Interlocked.Read(ref version);

    public void TrialStarted(TrialRow trial, DeviceSlot slot)
    {
        running[trial.TrialId] = new Entry(slot.Device);
        Interlocked.Increment(ref version);
    }

    public void TrialProgress(TrialProgress progress)
    {
        var entry = running.GetOrAdd(progress.TrialId, _ => new Entry(progress.Device));
        var metrics = progress.Metrics.Where(m => m.Key != "total_epochs").ToDictionary(m => m.Key, m => m.Value);
        lock (entry)
        {
            entry.TotalEpochs = progress.TotalEpochs;
            entry.Epochs.Add(new LiveEpoch(progress.Phase, progress.Epoch, metrics));
            if (entry.Epochs.Count > MaxEpochsPerTrial)
            {
                var kept = entry.Epochs.Where((_, i) => i % 2 == 0 || i == entry.Epochs.Count - 1).ToList();
                entry.Epochs.Clear();
                entry.Epochs.AddRange(kept);
            }
        }
        Interlocked.Increment(ref version);
    }

    public void TrialEnded(string trialId, string state, string? error)
    {
        running.TryRemove(trialId, out _);
        Interlocked.Increment(ref version);
    }

    /// <summary>A copy of the running trial's progress, or null when this process does not run it.</summary>
    public LiveTrial? Find(string trialId)
    {
        if (!running.TryGetValue(trialId, out var entry)) return null;
        lock (entry) return new LiveTrial(trialId, entry.Device, entry.TotalEpochs, entry.Epochs.ToList());
    }
}
