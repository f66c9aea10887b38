using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary>
/// What <c>studies run</c> prints, on the real program: without a terminal (nohup, Slurm) one line per finished trial
/// with its headline and the best so far, summary lines with an ETA, and the verdict before the report path; in a
/// terminal (a tmux pane, read back as the screen shows it) a live view that leaves nothing behind when it ends, even
/// when a warning is logged while it is drawn.
/// </summary>
public sealed partial class ProgressTests(ITestOutputHelper log) : IDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(5);

    private readonly StudiesHome home = new();

    public void Dispose() => home.Dispose();

    [GeneratedRegex(@"^trial (\d+)/4 completed: (bce|punzi), (dnn|pnn) \([0-9a-f]{8}\) in [0-9.]+ s: sigma_min_best_cut (\S+) trained, (\S+) held-out; best so far: trial (\d+) \(([a-z]+, [a-z]+)\) (\S+) held-out$")]
    private static partial Regex TrialLine();

    [GeneratedRegex(@"^\d\d:\d\d:\d\d \d/4 done, \d running, elapsed \d\d:\d\d:\d\d, ETA ")]
    private static partial Regex SummaryLine();

    private static double Number(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    [Fact]
    public async Task Without_a_terminal_each_finished_trial_is_one_line_with_its_headline_and_the_best_so_far_and_the_run_ends_with_the_verdict()
    {
        var run = await home.RunAsync(RunTimeout, "run", StudiesHome.StudyFile("e2e-run.yaml"), "--summary-every", "1");
        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = run.StdoutLines;
        var trials = lines.Select(l => TrialLine().Match(l)).Where(m => m.Success).ToList();
        Assert.True(trials.Count == 4, $"expected 4 per-trial lines\n{run}");
        Assert.Equal(4, trials.Select(m => $"{m.Groups[2].Value}, {m.Groups[3].Value}").Distinct().Count());
        // The best so far, recomputed from the lines themselves: the lowest held-out value among the trials printed up to there.
        for (var i = 0; i < trials.Count; i++)
        {
            Assert.Equal(i + 1, int.Parse(trials[i].Groups[1].Value, CultureInfo.InvariantCulture));
            var best = trials.Take(i + 1).MinBy(m => Number(m.Groups[5].Value))!;
            Assert.True(trials[i].Groups[6].Value == best.Groups[1].Value && trials[i].Groups[8].Value == best.Groups[5].Value, $"line {i + 1} names the wrong best\n{run}");
            Assert.Equal($"{best.Groups[2].Value}, {best.Groups[3].Value}", trials[i].Groups[7].Value);
        }
        Assert.True(lines.Any(l => SummaryLine().IsMatch(l)), $"no summary line with an ETA\n{run}");
        Assert.DoesNotContain(lines, l => l.Contains('\u001b'));

        // The last lines: the counts, the verdict (the method with the best held-out value; one trial per method here), the report.
        Assert.StartsWith("report: ", lines[^1]);
        var winner = trials.MinBy(m => Number(m.Groups[5].Value))!;
        // The report's verdict (Reports/Verdict): the method with the best held-out value leads the held-out sentence.
        Assert.StartsWith("verdict e2e-run (sigma_min_best_cut, lower is better): ", lines[^2]);
        var heldOut = lines[^2][lines[^2].IndexOf("held-out masses: ", StringComparison.Ordinal)..];
        Assert.Matches($@"^held-out masses: (not resolved with 1 seeds, {Regex.Escape($"{winner.Groups[2].Value}, {winner.Groups[3].Value}")} ahead|{Regex.Escape($"{winner.Groups[2].Value}, {winner.Groups[3].Value}")} best)", heldOut);
        Assert.Equal("4 completed", lines[^3]);
    }

    [Fact]
    public async Task In_a_terminal_the_live_view_leaves_no_stale_text_behind_even_with_a_warning_drawn_while_it_runs()
    {
        const string tmux = "/usr/bin/tmux";
        Assert.True(File.Exists(tmux), $"{tmux} is missing (Debian's tmux package)");
        var socket = $"studies-test-{Guid.NewGuid():N}";
        var command = WorkerCommandLineText(["run", StudiesHome.StudyFile("e2e-crash.yaml"), "--home", home.Root]);
        async Task<string> Tmux(params string[] arguments)
        {
            var start = new ProcessStartInfo(tmux) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "-L", socket }.Concat(arguments)) start.ArgumentList.Add(a);
            start.Environment[StudiesProcess.MarkerVariable] = home.Root;
            start.Environment.Remove("STUDIES_HOME");
            start.Environment.Remove("STUDIES_STORE");
            using var p = Process.Start(start)!;
            var output = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            return output;
        }
        async Task<string> Screen() => await Tmux("capture-pane", "-p", "-J", "-S", "-", "-E", "-", "-t", "progress");
        async Task<bool> WaitFor(Func<string, bool> condition, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < timeout)
            {
                if (condition(await Screen())) return true;
                await Task.Delay(200);
            }
            return false;
        }
        try
        {
            await Tmux("new-session", "-d", "-s", "progress", "-x", "200", "-y", "30", "-e", $"{StudiesProcess.MarkerVariable}={home.Root}",
                $"{command}; echo \"EXIT=$?\"; sleep 600");
            // The live view with the trial under way, then its worker killed: a warning is logged while the view is drawn.
            Assert.True(await WaitFor(s => Regex.IsMatch(s, @"\d+/200"), RunTimeout), $"no live row with an epoch\n{await Screen()}");
            var during = await Screen();
            log.WriteLine($"--- live view ---\n{during}");
            Assert.Contains("1/1 bce", during);
            Assert.Contains("░", during);
            var workers = await home.WaitForWorkersAsync(1, TimeSpan.FromSeconds(30));
            Assert.NotEmpty(workers);
            using (var worker = Process.GetProcessById(workers[0])) worker.Kill();
            Assert.True(await WaitFor(s => s.Contains("EXIT=", StringComparison.Ordinal), RunTimeout), $"the run did not end\n{await Screen()}");

            var screen = await Screen();
            log.WriteLine($"--- after the run ---\n{screen}");
            var lines = screen.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
            Assert.Contains("EXIT=0", lines);
            // Nothing of the live view is left: no bar, no table head, no summary line, anywhere in the pane or its scroll-back.
            Assert.DoesNotContain(lines, l => l.Contains('░') || l.Contains('█') || l.Contains("running, elapsed", StringComparison.Ordinal)
                || l.Contains("val_loss", StringComparison.Ordinal) || l.Contains('─'));
            // The warning and the results are whole lines, each starting where it should. (Either slot may claim the one
            // trial: slots claim one at a time under a lock, first come first served.)
            Assert.Contains(lines, l => Regex.IsMatch(l, @"^\d\d:\d\d:\d\d warn: trial [0-9a-f]+ on cpu#\d: the worker was killed by signal 9"));
            Assert.Contains(lines, l => Regex.IsMatch(l, @"^retrying: the trial \([0-9a-f]{8}\) after [0-9.]+ s: the worker was killed by signal 9"));
            Assert.Contains(lines, l => Regex.IsMatch(l, @"^trial 1/1 completed: the trial \([0-9a-f]{8}\) in [0-9.]+ s: sigma_min_best_cut \S+ trained, \S+ held-out; best so far"));
            var end = lines.FindIndex(l => l.StartsWith("report: ", StringComparison.Ordinal));
            Assert.True(end > 1, screen);
            Assert.StartsWith("verdict e2e-crash (sigma_min_best_cut, lower is better): ", lines[end - 1]);
            Assert.Equal("1 completed", lines[end - 2]);
            Assert.Equal("EXIT=0", lines[end + 1]);
        }
        finally
        {
            await Tmux("kill-server");
        }
    }

    /// <summary>The shell command that runs the studies program as the tests do (the same dotnet host).</summary>
    private static string WorkerCommandLineText(IEnumerable<string> arguments)
    {
        var command = global::Studies.Orchestrator.Workers.WorkerCommandLine.ForStudiesAssembly(StudiesHome.StudiesDll);
        return string.Join(' ', new[] { command.FileName }.Concat(command.PrefixArguments).Concat(arguments).Select(a => "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));
    }
}
