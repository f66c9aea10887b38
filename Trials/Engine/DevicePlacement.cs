namespace Studies.Trials.Engine;

/// <summary>
/// Checks that a trial's tensors live on the trial's device. A tensor left on the CPU in a CUDA
/// trial either fails deep inside libtorch with a message naming no tensor, or (for indices and
/// scalars) silently copies across the bus every step; checking once at start-up names it.
/// </summary>
public static class DevicePlacement
{
    /// <summary>The names of the tensors that are not on <paramref name="device"/>, with where they are.</summary>
    public static IReadOnlyList<string> Misplaced(Device device, IEnumerable<(string Name, Device Device)> tensors) =>
        tensors.Where(t => t.Device != device).Select(t => $"{t.Name} ({t.Device})").ToList();

    /// <summary>Throws naming every tensor that is not on <paramref name="device"/>.</summary>
    public static void Require(Device device, IEnumerable<(string Name, Tensor Tensor)> tensors)
    {
        var misplaced = Misplaced(device, tensors.Select(t => (t.Name, t.Tensor.Device)));
        if (misplaced.Count > 0)
            throw new InvalidOperationException($"tensors not on the trial's device {device}: {string.Join(", ", misplaced)}");
    }
}
