using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Studies.Orchestrator.Studies;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary>
/// <c>notify:</c> on the real program: a webhook receiver on 127.0.0.1 (only there, and only for this test's run) and a
/// command hear that a trial diverged and that the study ended, with the verdict the run printed.
/// </summary>
public sealed class NotificationTests : IDisposable
{
    private readonly StudiesHome home = new();

    public void Dispose() => home.Dispose();

    /// <summary>A minimal HTTP receiver on 127.0.0.1: each POST's body, answered 200.</summary>
    private sealed class Receiver : IAsyncDisposable
    {
        private readonly TcpListener listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource stop = new();
        private readonly Task loop;

        public List<JsonNode> Bodies { get; } = [];

        public Receiver()
        {
            listener.Start();
            loop = Task.Run(LoopAsync);
        }

        public string Url => $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/hook";

        private async Task LoopAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await listener.AcceptTcpClientAsync(stop.Token); }
                catch (OperationCanceledException) { return; }
                using (client)
                {
                    var stream = client.GetStream();
                    using var reader = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
                    var length = 0;
                    string? line;
                    while ((line = await reader.ReadLineAsync()) is { Length: > 0 })
                        if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) length = int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                    var body = new char[length];
                    var read = 0;
                    while (read < length && await reader.ReadAsync(body.AsMemory(read, length - read)) is var n and > 0) read += n;
                    lock (Bodies) Bodies.Add(JsonNode.Parse(new string(body, 0, read))!);
                    await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            listener.Stop();
            try { await loop; } catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) { }
            stop.Dispose();
        }
    }

    [Fact]
    public async Task A_local_webhook_and_a_command_hear_the_divergence_and_the_end_with_the_verdict()
    {
        await using var receiver = new Receiver();
        var log = Path.Combine(home.Root, "notified.txt");
        var text = await File.ReadAllTextAsync(StudiesHome.StudyFile("e2e-diverge.yaml"));
        var file = Path.Combine(home.Root, "e2e-diverge.yaml");
        await File.WriteAllTextAsync(file, text + $"notify: {{webhook: \"{receiver.Url}\", command: \"cat >> '{log}'; echo >> '{log}'\"}}\n");

        var run = await home.RunAsync(TimeSpan.FromMinutes(5), "run", file);
        Assert.True(run.ExitCode == 0, run.ToString());
        var verdict = run.StdoutLines[^2];
        Assert.StartsWith("verdict e2e-diverge ", verdict);

        List<JsonNode> bodies;
        lock (receiver.Bodies) bodies = [.. receiver.Bodies];
        Assert.Equal(["divergence", "end"], bodies.Select(b => b["event"]!.GetValue<string>()));
        Assert.All(bodies, b => Assert.Equal("e2e-diverge", b["study"]!.GetValue<string>()));
        Assert.Contains("diverged: loss is", bodies[0]["text"]!.GetValue<string>());
        Assert.Contains("schedule[0].lr=1.0e38", bodies[0]["text"]!.GetValue<string>());
        Assert.Equal(verdict, bodies[1]["verdict"]!.GetValue<string>());
        Assert.Contains(verdict, bodies[1]["text"]!.GetValue<string>());
        Assert.StartsWith("study e2e-diverge finished: 2 completed, 1 diverged", bodies[1]["text"]!.GetValue<string>());
        Assert.Equal(run.StdoutLines[^1]["report: ".Length..], bodies[1]["report"]!.GetValue<string>());

        // The command got the same two notifications on its input.
        var lines = (await File.ReadAllLinesAsync(log)).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["divergence", "end"], lines.Select(l => l["event"]!.GetValue<string>()));
        Assert.Equal(verdict, lines[1]["verdict"]!.GetValue<string>());
    }

    [Fact]
    public void A_notify_section_changes_no_trial_id_and_a_bad_one_is_a_clear_error()
    {
        const string study = """
            study: n
            data: {source: gaussian-toy}
            base:
              schedule: [{loss: bce, epochs: 2}]
            matrix:
              seed: [1, 2]
            """;
        var without = StudyExpander.Expand(StudyText.Load(study)).Select(t => t.TrialId).ToList();
        var with = StudyText.Load(study + "\nnotify: {webhook: \"http://127.0.0.1:9/hook\", command: \"true\", on: [end]}\n");
        Assert.Equal(without, StudyExpander.Expand(with).Select(t => t.TrialId));
        Assert.Equal(["end"], with.Notify!.Events);
        Assert.Equal("http://127.0.0.1:9/hook", with.Notify.Webhook);

        var bad = Assert.Throws<StudyValidationException>(() => StudyText.Load(study + "\nnotify: {webhook: \"ftp://x\", on: [finish]}\n"));
        Assert.Contains("notify.webhook is an http:// or https:// address, got 'ftp://x'", bad.Message);
        Assert.Contains("unknown notify.on 'finish'", bad.Message);
    }
}
