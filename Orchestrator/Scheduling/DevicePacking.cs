using Studies.Trials.Engine;

namespace Studies.Orchestrator.Scheduling;

/// <summary>
/// How many trials each device may run at once during one execution. It starts at the plan (the slots on that device,
/// <c>trials_per_device</c>) and only shrinks, after a trial ran out of memory there: memory on a device is shared by
/// every trial packed on it, so the failed trial is retried with fewer neighbours (<see cref="OutOfMemoryPacking"/>)
/// and the device's surplus slots stop taking trials. Thread-safe: every slot loop asks it before claiming.
/// </summary>
public sealed class DevicePacking
{
    private readonly Dictionary<DeviceSlot, int> rank = new();
    private readonly Dictionary<string, int> limit = new();
    private readonly Lock gate = new();

    public DevicePacking(IReadOnlyList<DeviceSlot> slots)
    {
        foreach (var slot in slots)
        {
            rank[slot] = limit.GetValueOrDefault(slot.Device);
            limit[slot.Device] = rank[slot] + 1;
        }
    }

    /// <summary>Trials the device may run at once now.</summary>
    public int Limit(string device)
    {
        lock (gate) return limit[device];
    }

    /// <summary>Whether the slot may still claim trials: the device's first <see cref="Limit"/> slots do.</summary>
    public bool Admits(DeviceSlot slot)
    {
        lock (gate) return rank[slot] < limit[slot.Device];
    }

    /// <summary>Decides about a trial that ran out of memory on <paramref name="device"/> and shrinks its packing for the rest of the run.</summary>
    /// <param name="startedUnder">The device's <see cref="Limit"/> when the trial started: trials that were crowded out together by
    /// one packing halve it once, not once each.</param>
    /// <param name="runningOnDevice">Trials running on the device when it happened, the failed one included.</param>
    public PackingDecision AfterOutOfMemory(string device, int startedUnder, int runningOnDevice, int retriesLeft)
    {
        lock (gate)
        {
            var decision = OutOfMemoryPacking.After(startedUnder, Math.Max(1, runningOnDevice), retriesLeft);
            limit[device] = Math.Min(limit[device], decision.TrialsPerDevice);
            return decision;
        }
    }
}
