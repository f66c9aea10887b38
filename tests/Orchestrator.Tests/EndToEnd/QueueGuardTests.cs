using System.Diagnostics;
using System.Text;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary>
/// <c>studies serve</c> treats files in its queue as untrusted: a file copied straight into <c>queue/</c>, or changed
/// after <c>submit</c> checked it, is checked again when taken: paths outside the workspace and the configured data
/// folders are refused without being read, and bad data stop it before any trial starts.
/// </summary>
public sealed class QueueGuardTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly StudiesHome home = new();
    private readonly string outside = Directory.CreateTempSubdirectory("studies-outside-").FullName;

    public void Dispose()
    {
        home.Dispose();
        Directory.Delete(outside, recursive: true);
    }

    private const string Secret = "root:*:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n";

    private static string Csv(bool withNaN)
    {
        var b = new StringBuilder("label,f0,mass\n");
        for (int i = 0; i < 200; i++) b.Append(i % 2).Append(',').Append(i == 13 && withNaN ? "nan" : (i * 0.01).ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(",1\n");
        return b.ToString();
    }

    private static string Study(string name, string dataPath, string extra = "") => $"""
        study: {name}
        data:
          source: csv
          options: {"{"}path: '{dataPath}'{"}"}
        base:
          model: {"{"}kind: dnn, hidden: [4]{"}"}
          schedule: [{"{"}loss: bce, epochs: 1{"}"}]
        {extra}
        """ + "\n";

    private string Queue => Path.Combine(home.Root, "queue");

    /// <summary>Serves the workspace until every file in the queue is filed under failed/ or done/; returns the server's output.</summary>
    private async Task<CliResult> ServeUntilFiledAsync(int files, params string[] extra)
    {
        using var serve = home.Start(["serve", .. extra]);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Timeout)
        {
            var filed = new[] { "failed", "done" }.Sum(d => Directory.Exists(Path.Combine(Queue, d)) ? Directory.GetFiles(Path.Combine(Queue, d), "*.yaml").Length : 0);
            if (filed >= files) break;
            await Task.Delay(200);
        }
        serve.Signal(StudiesProcess.SigTerm);
        return await serve.WaitAsync(Timeout);
    }

    private string Failure(string name) => File.ReadAllText(Directory.GetFiles(Path.Combine(Queue, "failed"), $"*{name}*.error.txt").Single());

    [Fact]
    public async Task A_file_copied_into_the_queue_may_not_read_store_or_checkpoint_outside_the_allowed_folders()
    {
        var secret = Path.Combine(outside, "shadow");
        File.WriteAllText(secret, Secret);
        var good = Path.Combine(home.Root, "good.csv");
        Directory.CreateDirectory(Queue);
        File.WriteAllText(good, Csv(withNaN: false));
        File.WriteAllText(Path.Combine(Queue, "a-data.yaml"), Study("data", secret));
        File.WriteAllText(Path.Combine(Queue, "b-store.yaml"), Study("store", good, $"store: sqlite:{outside}/planted.db"));
        File.WriteAllText(Path.Combine(Queue, "c-checkpoints.yaml"), Study("checkpoints", good, $"checkpoints: {outside}/planted"));
        // A link inside the workspace that points outside does not count as inside.
        File.CreateSymbolicLink(Path.Combine(home.Root, "link.csv"), secret);
        File.WriteAllText(Path.Combine(Queue, "d-link.yaml"), Study("link", Path.Combine(home.Root, "link.csv")));
        var serve = await ServeUntilFiledAsync(4);

        foreach (var (name, what) in new[] { ("a-data", "data file"), ("b-store", "store"), ("c-checkpoints", "checkpoints folder"), ("d-link", "data file") })
        {
            var error = Failure(name);
            Assert.Contains($"the {what}", error);
            Assert.Contains("outside the folders this server may use", error);
            Assert.Contains("--data-root", error);
        }
        Assert.DoesNotContain("20228", serve.Stdout + serve.Stderr);
        Assert.DoesNotContain("root:", serve.Stdout + serve.Stderr);
        Assert.Equal(["shadow"], Directory.GetFileSystemEntries(outside).Select(Path.GetFileName));
        Assert.Empty(Directory.GetFiles(Path.Combine(Queue, "done")));
        Assert.False(File.Exists(home.Database) && home.Scalar("SELECT COUNT(*) FROM trials") > 0);
    }

    [Fact]
    public async Task A_file_changed_after_submit_is_data_checked_when_taken_and_no_trial_starts()
    {
        var data = Path.Combine(home.Root, "data.csv");
        var bad = Path.Combine(home.Root, "bad.csv");
        Directory.CreateDirectory(home.Root);
        File.WriteAllText(data, Csv(withNaN: false));
        File.WriteAllText(bad, Csv(withNaN: true));
        var study = Path.Combine(home.Root, "study.yaml");
        File.WriteAllText(study, Study("changed", data));
        var submit = await home.RunAsync(Timeout, "submit", study);
        Assert.True(submit.ExitCode == 0, submit.ToString());
        var queued = Directory.GetFiles(Queue, "*.yaml").Single();
        File.WriteAllText(queued, Study("changed", bad));
        // And one copied in by hand.
        File.WriteAllText(Path.Combine(Queue, "zz-copied.yaml"), Study("copied", bad));

        await ServeUntilFiledAsync(2);
        Assert.Contains("bad.csv:15: column 'f0': feature value NaN is not a finite number", Failure("study"));
        Assert.Contains("bad.csv:15: column 'f0'", Failure("zz-copied"));
        Assert.False(File.Exists(home.Database) && home.Scalar("SELECT COUNT(*) FROM trials") > 0);
    }

    [Fact]
    public async Task A_data_root_lets_a_folder_in_and_a_file_that_is_not_data_is_still_never_echoed()
    {
        var secret = Path.Combine(outside, "shadow");
        File.WriteAllText(secret, Secret);
        var data = Path.Combine(outside, "data.csv");
        File.WriteAllText(data, Csv(withNaN: false));
        Directory.CreateDirectory(Queue);
        File.WriteAllText(Path.Combine(Queue, "a-shadow.yaml"), Study("shadow", secret));
        File.WriteAllText(Path.Combine(Queue, "b-data.yaml"), Study("allowed", data));
        var serve = await ServeUntilFiledAsync(2, "--data-root", outside);
        var error = Failure("a-shadow");
        Assert.Contains("not a data file of the expected format", error);
        Assert.DoesNotContain("root", error);
        Assert.DoesNotContain("20228", serve.Stdout + serve.Stderr);
        Assert.Single(Directory.GetFiles(Path.Combine(Queue, "done"), "*b-data.yaml"));
    }
}
