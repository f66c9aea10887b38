using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Studies.Orchestrator.Cli;
using Microsoft.Extensions.DependencyInjection;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Orchestrator.Studies;
using Studies.Orchestrator.Terminal;
using Studies.Trials.Engine;
using Studies.Trials.Results;

namespace Studies.Orchestrator.Bench;

/// <summary>
/// <c>studies bench packing</c>: quickstart-sized trials run 1, 2, 4, 8 and 16 at once on one
/// device, each level as its own study in a fresh workspace: trials per minute at each packing.
/// Small nets leave a GPU mostly idle, so packing several trials on it is where its throughput
/// comes from; the figure says how many to pack (resources.trials_per_device).
/// </summary>
internal static class PackingBenchmark
{
    public static Command Command()
    {
        var device = new Option<string>("--device") { Description = "cuda:N or cpu (default cuda:0)", DefaultValueFactory = _ => "cuda:0" };
        var levels = new Option<int[]>("--levels") { Description = "Trials at once on the device", DefaultValueFactory = _ => [1, 2, 4, 8, 16], AllowMultipleArgumentsPerToken = true };
        var command = new Command("packing", "Trials per minute with 1/2/4/8/16 quickstart-sized trials at once on one device") { device, levels };
        command.SetAction(async (parse, _) => await RunAsync(parse.GetValue(device)!, parse.GetValue(levels)!, Console.Out));
        return command;
    }

    /// <summary>The quickstart's data and its BCE arm, with enough seeds that each level runs two rounds.</summary>
    internal static string StudyText(Device device, int level, int trials) => string.Create(CultureInfo.InvariantCulture, $$"""
        study: packing-{{level}}
        description: quickstart-sized trials, {{level}} at once on {{device}}
        {{BenchStudies.QuickstartData}}
        base:
          model: {kind: pnn, hidden: [16, 8], activation: tanh, balance: none}
          schedule:
            - {loss: bce, epochs: 40, optimizer: adam, lr: 3.0e-3, batch: 1024}
          device: {{(device.IsCuda ? "cuda" : "cpu")}}
        matrix:
          seed: [{{string.Join(", ", Enumerable.Range(1, trials))}}]
        resources: {{(device.IsCuda ? $"{{devices: [{device.Index}], trials_per_device: {level}, threads_per_trial: 1}}" : $"{{cpu_workers: {level}, threads_per_trial: 1}}")}}
        retries: {max: 0}
        """);

    private static async Task<int> RunAsync(string deviceText, int[] levels, TextWriter output)
    {
        if (CommandDevice.Parse(deviceText) is not { } device) return 2;
        if (levels.Length == 0 || levels.Any(l => l < 1))
        {
            Console.Error.WriteLine("--levels takes trial counts >= 1");
            return 2;
        }
        if (device.IsCuda && device.Index >= Torch.CudaDeviceCount())
        {
            output.WriteLine("no CUDA device");
            output.WriteLine($"packing on {device}: not measured (no CUDA device)");
            return 0;
        }
        var perMinute = new Dictionary<int, double>();
        foreach (var level in levels)
        {
            var home = Directory.CreateTempSubdirectory("studies-packing-").FullName;
            try
            {
                var trials = Math.Max(4, 2 * level);
                var file = Path.Combine(home, $"packing-{level}.yaml");
                await File.WriteAllTextAsync(file, StudyText(device, level, trials));
                using var loggers = Logging.CreateFactory();
                await using var services = StudiesServices.ForCommand(StudiesServices.Configuration(home: home), loggers,
                    s => s.AddSingleton<IExecutionObserverFactory>(new ConsoleProgressFactory(TerminalOutput.Quiet())));
                var runner = services.GetRequiredService<IStudyRunner>();
                var outcome = await runner.RunAsync(StudyLoader.Load(file), new StudyRunRequest(), CancellationToken.None, CancellationToken.None);
                await using var store = await SqliteStudyStorage.OpenAsync(Path.Combine(home, "studies.db"), StoreAccess.ReadOnly);
                var row = (await store.FindStudyAsync(outcome.StudyName))!;
                var rows = await store.ListTrialsAsync(row.Id);
                var completed = rows.Count(t => t.State == TrialState.Completed);
                var span = rows.Max(t => t.FinishedAt ?? 0) - rows.Min(t => t.StartedAt ?? double.MaxValue);
                perMinute[level] = completed / span * 60;
                var failures = rows.Where(t => t.State != TrialState.Completed).Select(t => $"{t.State}: {t.Error?.Split('\n')[0]}").Distinct().ToList();
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{level,2} at once on {device}: {completed} of {rows.Count} trials completed in {span:F1} s: {perMinute[level]:F1} trials/min, {span * level / Math.Max(1, completed):F1} s per trial")
                    + (failures.Count > 0 ? $"; not completed: {string.Join("; ", failures)}" : ""));
            }
            finally
            {
                Directory.Delete(home, recursive: true);
            }
        }
        var best = perMinute.MaxBy(p => p.Value);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"packing on {device}: best {best.Value:F1} trials/min at {best.Key} at once ({perMinute[levels[0]]:F1} trials/min at {levels[0]})"));
        return 0;
    }
}
