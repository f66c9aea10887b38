using System.Globalization;
using System.Text.RegularExpressions;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary><c>studies bench fusion</c> runs the three ways on the same scan and ends with its headline line.</summary>
public sealed class FusionBenchTests : IDisposable
{
    private readonly StudiesHome home = new();

    public void Dispose() => home.Dispose();

    [Fact]
    public async Task A_short_run_times_every_way_and_ends_with_the_headline()
    {
        if (!File.Exists("/usr/bin/python3")) Assert.Fail("/usr/bin/python3 with python3-torch and python3-optuna is needed (the set-up's test packages)");
        var result = await home.RunAsync(TimeSpan.FromMinutes(10), "bench", "fusion", "--seeds", "1", "--learning-rates", "4", "--epochs", "2", "--repeats", "1", "--libtorch-packs", "4");

        Assert.True(result.ExitCode == 0, result.ToString());
        var headline = Regex.Match(result.StdoutLines[^1], @"^fused: (\d+\.\d)x over unfused, (\d+\.\d)x over PyTorch\+Optuna \(fused, packs of (1|4),");
        Assert.True(headline.Success, result.ToString());
        foreach (var way in new[] { "unfused", "fused, packs of 1", "fused, packs of 4", "libtorch-stepped, packs of 4", "PyTorch+Optuna" })
            Assert.Contains(result.StdoutLines, l => l.TrimStart().StartsWith(way + ":", StringComparison.Ordinal));
        // Every grid point of the Optuna side was trained (the rate counts completed trials only).
        Assert.Contains(result.StdoutLines, l => l.TrimStart().StartsWith("PyTorch+Optuna:", StringComparison.Ordinal) && l.EndsWith("(4 trials)", StringComparison.Ordinal));
        Assert.True(double.Parse(headline.Groups[1].Value, CultureInfo.InvariantCulture) > 0);
        // Where the packs' time went, with the native step on this CPU.
        Assert.Contains(result.StdoutLines, l => l.TrimStart().StartsWith("step: native kernel", StringComparison.Ordinal));
    }
}
