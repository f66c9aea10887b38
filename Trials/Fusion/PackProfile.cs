using System.Diagnostics;

namespace Studies.Trials.Fusion;

/// <summary>Where a pack's wall-clock time went, by section (seconds, summed over the runner's packs).</summary>
public sealed class PackProfile
{
    private readonly Dictionary<string, double> seconds = [];

    /// <summary>The sections in the order they were first timed, with their seconds.</summary>
    public IReadOnlyDictionary<string, double> Seconds => seconds;

    internal void Add(string section, Stopwatch clock)
    {
        seconds[section] = seconds.GetValueOrDefault(section) + clock.Elapsed.TotalSeconds;
        clock.Restart();
    }

    public void AddFrom(PackProfile other)
    {
        lock (seconds)
            foreach (var (section, s) in other.seconds) seconds[section] = seconds.GetValueOrDefault(section) + s;
    }
}
