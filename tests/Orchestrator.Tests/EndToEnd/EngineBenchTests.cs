using System.Text.Json;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary>
/// <c>studies bench engine</c> times the binding's side in a process of its own, as it does PyTorch's: the hidden
/// <c>bench engine-run</c> command reads the same case description engine_bench.py reads and answers in its format.
/// </summary>
public sealed class EngineBenchTests : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);

    private readonly StudiesHome home = new();

    public void Dispose() => home.Dispose();

    [Fact]
    public async Task One_run_of_a_case_trains_and_reports_its_seconds_per_epoch_as_the_PyTorch_side_does()
    {
        const int events = 2000, features = 3;
        var random = new Random(5);
        var x = Enumerable.Range(0, events * features).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var y = Enumerable.Range(0, events).Select(i => x[i * features] > 0 ? 1f : 0f).ToArray();
        var xPath = Path.Combine(home.Root, "x.f32");
        var yPath = Path.Combine(home.Root, "y.f32");
        await File.WriteAllBytesAsync(xPath, System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()).ToArray());
        await File.WriteAllBytesAsync(yPath, System.Runtime.InteropServices.MemoryMarshal.AsBytes(y.AsSpan()).ToArray());
        var arguments = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["threads"] = 1, ["seed"] = 1, ["events"] = events, ["features"] = features, ["hidden"] = new[] { 4 },
            ["activation"] = "tanh", ["batch"] = 500, ["optimizer"] = "adam", ["lr"] = 1e-3,
            ["warmup"] = 1, ["epochs"] = 2, ["x_path"] = xPath, ["y_path"] = yPath,
        });

        var result = await home.RunAsync(CommandTimeout, "bench", "engine-run", arguments);

        Assert.True(result.ExitCode == 0, result.ToString());
        using var answer = JsonDocument.Parse(result.StdoutLines[^1]);
        var seconds = answer.RootElement.GetProperty("seconds_per_epoch").GetDouble();
        Assert.True(seconds > 0 && seconds < 60, result.ToString());
    }

    [Fact]
    public async Task A_case_that_names_a_missing_data_file_fails_with_a_nonzero_exit()
    {
        var arguments = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["threads"] = 1, ["seed"] = 1, ["events"] = 10, ["features"] = 2, ["hidden"] = new[] { 4 }, ["activation"] = "relu",
            ["batch"] = null, ["optimizer"] = "sgd", ["lr"] = 0.1, ["warmup"] = 0, ["epochs"] = 1,
            ["x_path"] = Path.Combine(home.Root, "missing-x.f32"), ["y_path"] = Path.Combine(home.Root, "missing-y.f32"),
        });

        var result = await home.RunAsync(CommandTimeout, "bench", "engine-run", arguments);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("missing-x.f32", result.Stderr + result.Stdout);
    }

    [Fact]
    public async Task Info_shows_the_OpenMP_wait_policy_libtorch_runs_with()
    {
        var result = await home.RunAsync(CommandTimeout, "info");

        Assert.True(result.ExitCode == 0, result.ToString());
        var expected = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") ?? "PASSIVE";
        Assert.Contains($"OMP_WAIT_POLICY={expected}", result.Stdout);
    }
}
