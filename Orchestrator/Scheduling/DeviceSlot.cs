namespace Studies.Orchestrator.Scheduling;

/// <summary>
/// A place a trial can run: a device (cpu or cuda:N) and a thread count. Several slots may share
/// a device (<c>trials_per_device</c>).
/// </summary>
public sealed record DeviceSlot(int Index, string Device, int Threads)
{
    public bool IsCuda => Device.StartsWith("cuda", StringComparison.Ordinal);

    /// <summary>The CUDA ordinal the worker is pinned to through CUDA_VISIBLE_DEVICES, or null on CPU.</summary>
    public int? CudaOrdinal => IsCuda ? (Device.Contains(':') ? int.Parse(Device[(Device.IndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture) : 0) : null;

    public override string ToString() => $"{Device}#{Index}";
}

/// <summary>Resources a study asks for (the <c>resources</c> section of a study file).</summary>
public sealed record ResourceRequest(IReadOnlyList<string>? Devices = null, int TrialsPerDevice = 0, int ThreadsPerTrial = 1, int Workers = 0);

/// <summary>
/// Turns a resource request into slots: on <c>auto</c>, every CUDA device libtorch reports, else
/// the CPU. On CPU the default is as many slots as cores allow at the requested threads per trial
/// (two one-thread trials on two cores scale to ~1.9x; oversubscribing does not help). GPUs take
/// <c>trials_per_device</c> trials each (default 1) and are filled round-robin, so trials spread
/// over all GPUs instead of piling onto the first.
/// </summary>
public static class DeviceInventory
{
    public static IReadOnlyList<DeviceSlot> Slots(ResourceRequest request, int cudaDeviceCount, int cpuCores)
    {
        var threads = Math.Max(1, request.ThreadsPerTrial);
        var devices = request.Devices is null || request.Devices.Count == 0 || request.Devices is ["auto"]
            ? (cudaDeviceCount > 0 ? Enumerable.Range(0, cudaDeviceCount).Select(i => $"cuda:{i}").ToList() : ["cpu"])
            : request.Devices.ToList();
        foreach (var d in devices)
        {
            if (d == "cpu") continue;
            if (!d.StartsWith("cuda:", StringComparison.Ordinal) || !int.TryParse(d.AsSpan(5), out var ordinal) || ordinal < 0)
                throw new ResourceException($"device '{d}' is not cpu, auto or cuda:N");
            if (ordinal >= cudaDeviceCount)
                throw new ResourceException($"device '{d}' is not available: libtorch sees {cudaDeviceCount} CUDA device(s)");
        }

        var perDevice = devices.ToDictionary(d => d, d => request.TrialsPerDevice > 0 ? request.TrialsPerDevice
            : d == "cpu" ? Math.Max(1, cpuCores / threads) : 1);
        var slots = new List<DeviceSlot>();
        for (var round = 0; round < perDevice.Values.Max(); round++)
        {
            foreach (var d in devices)
            {
                if (round < perDevice[d]) slots.Add(new DeviceSlot(slots.Count, d, threads));
            }
        }
        if (request.Workers > 0) slots = slots.Take(request.Workers).ToList();
        return slots;
    }
}
