namespace Studies.Trials.Engine;

/// <summary>What to do after a trial ran out of memory on a device.</summary>
/// <param name="Retry">Queue the trial again (with <paramref name="TrialsPerDevice"/>).</param>
/// <param name="TrialsPerDevice">The packing to use on that device from now on.</param>
/// <param name="Reason">One line for the log and the trial's error.</param>
public sealed record PackingDecision(bool Retry, int TrialsPerDevice, string Reason);

/// <summary>
/// Reduces the number of trials sharing a device after an out-of-memory failure: memory on a GPU
/// is shared by every trial packed on it, so the failed trial is retried with half as many
/// neighbours, down to one. A trial that ran out of memory alone on its device does not fit at
/// all: retrying it would fail the same way.
/// </summary>
public static class OutOfMemoryPacking
{
    /// <param name="trialsPerDevice">The packing in force when the error happened (>= 1).</param>
    /// <param name="runningOnDevice">Trials that were running on the device at that moment, the failed one included.</param>
    /// <param name="retriesLeft">Retries the study still allows this trial (<c>retries.max</c> minus those used).</param>
    public static PackingDecision After(int trialsPerDevice, int runningOnDevice, int retriesLeft)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(trialsPerDevice, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(runningOnDevice, 1);
        var concurrent = Math.Min(trialsPerDevice, runningOnDevice);
        if (concurrent <= 1)
            return new PackingDecision(false, trialsPerDevice,
                "out of memory with the trial alone on its device: it does not fit (make the batch or the model smaller)");
        var reduced = (concurrent + 1) / 2;
        if (retriesLeft <= 0)
            return new PackingDecision(false, reduced,
                $"out of memory with {concurrent} trials on the device; no retries left (retries.max), later trials run at most {reduced} per device");
        return new PackingDecision(true, reduced, $"out of memory with {concurrent} trials on the device: retried with at most {reduced} per device");
    }
}
