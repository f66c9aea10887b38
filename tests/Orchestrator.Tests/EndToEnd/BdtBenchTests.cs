using System.Globalization;
using System.Text.RegularExpressions;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary><c>studies bench bdt</c> runs both sides on both toys and ends with its headline line.</summary>
public sealed class BdtBenchTests : IDisposable
{
    private readonly StudiesHome home = new();

    public void Dispose() => home.Dispose();

    [Fact]
    public async Task A_short_run_compares_both_toys_and_ends_with_the_headline()
    {
        if (!File.Exists("/usr/bin/python3")) Assert.Fail("/usr/bin/python3 with python3-xgboost is needed (the set-up's test packages)");
        var result = await home.RunAsync(TimeSpan.FromMinutes(10), "bench", "bdt", "--repeats", "1", "--trees", "5", "--depth", "3");

        Assert.True(result.ExitCode == 0, result.ToString());
        var headline = Regex.Match(result.StdoutLines[^1], @"^bdt vs XGBoost: AUC difference ([+-]\d\.\d{4}); time ratio (\d+\.\d\d) ");
        Assert.True(headline.Success, result.ToString());
        Assert.Equal(2, result.StdoutLines.Count(l => l.Contains("AUC difference", StringComparison.Ordinal) && !l.StartsWith("bdt vs", StringComparison.Ordinal)));
        Assert.Contains(result.StdoutLines, l => l.StartsWith("recoil toy", StringComparison.Ordinal));
        Assert.Contains(result.StdoutLines, l => l.StartsWith("HEPMASS-like toy", StringComparison.Ordinal));
        // Five shallow trees on the same events and settings: the two libraries must nearly agree.
        Assert.InRange(double.Parse(headline.Groups[1].Value, CultureInfo.InvariantCulture), -0.02, 0.02);
    }
}
