using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Studies.Orchestrator.Tests.EndToEnd;
using Xunit.Abstractions;

namespace Studies.Orchestrator.Tests.Limits;

/// <summary>
/// Hostile and odd inputs to <c>studies check</c>, generated here: devices, FIFOs and folders as study or data paths,
/// lines and headers past the limits, NULs, a cut last line, a compression bomb, a file that is not data at all.
/// Each must end in one clear line with exit 2 (the study file) or 3 (the data), under the memory cap of
/// <see cref="Child"/> (200 MB heap), and quickly: the time is written to the test log and bounded generously
/// (start-up of the runtime included), the 5 s being the figure the log shows.
/// </summary>
public sealed class DataFileLimitTests(ITestOutputHelper log) : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("studies-data-limits-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>A small valid CSV: three signal masses and background, every line ended.</summary>
    private static string ValidCsv()
    {
        var b = new StringBuilder("label,f0,f1,mass\n");
        var rng = new Random(7);
        for (int i = 0; i < 300; i++)
        {
            var signal = i % 2 == 0;
            b.Append(signal ? "1," : "0,").Append((rng.NextDouble() + (signal ? 1 : 0)).ToString("F4", System.Globalization.CultureInfo.InvariantCulture)).Append(',')
                .Append(rng.NextDouble().ToString("F4", System.Globalization.CultureInfo.InvariantCulture)).Append(',')
                .Append(signal ? 1 + i / 2 % 3 : 2).Append('\n');
        }
        return b.ToString();
    }

    private string Study(string dataPath, string extra = "")
    {
        var path = Path.Combine(dir, "study.yaml");
        File.WriteAllText(path, $"""
            study: limits
            data:
              source: csv
              options: {"{"}path: '{dataPath}'{extra}{"}"}
            base:
              model: {"{"}kind: dnn, hidden: [4]{"}"}
              schedule: [{"{"}loss: bce, epochs: 1{"}"}]
            """ + "\n");
        return path;
    }

    private async Task<CliResult> CheckAsync(string studyPath, int expectedCode, IReadOnlyDictionary<string, string>? environment = null)
    {
        var (result, elapsed) = await Child.RunTimedAsync(["check", studyPath], Bound, environment);
        log.WriteLine($"studies check: exit {result.ExitCode} in {elapsed.TotalSeconds:F2} s: {result.Stderr.Trim()}");
        Assert.True(result.ExitCode == expectedCode, result.ToString());
        Assert.DoesNotContain("   at ", result.Stderr);
        Assert.DoesNotContain("Exception", result.Stderr);
        Assert.All(result.StderrLines, l => Assert.True(l.Length < 400, $"a line of {l.Length} characters"));
        return result;
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private string Fifo()
    {
        var path = Path.Combine(dir, "pipe");
        using var p = Process.Start("mkfifo", [path])!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return path;
    }

    [Fact]
    public async Task A_study_path_that_is_a_device_a_fifo_or_a_folder_is_refused_with_one_line()
    {
        foreach (var (path, kind) in new[] { ("/dev/zero", "character device"), ("/dev/urandom", "character device"), (Fifo(), "FIFO"), (dir, "folder") })
        {
            var r = await CheckAsync(path, 2);
            var line = Assert.Single(r.StderrLines);
            Assert.Contains(kind, line);
        }
    }

    [Fact]
    public async Task A_data_path_that_is_a_device_or_a_fifo_is_refused_at_its_key_in_the_study_file()
    {
        foreach (var (path, kind) in new[] { ("/dev/zero", "character device"), ("/dev/urandom", "character device"), (Fifo(), "FIFO") })
        {
            var study = Study(path);
            var r = await CheckAsync(study, 2);
            var line = Assert.Single(r.StderrLines);
            Assert.StartsWith($"{study}:4:", line);
            Assert.Contains(kind, line);
        }
    }

    [Fact]
    public async Task A_huge_line_in_a_small_gzip_stops_at_the_line_limit()
    {
        var path = Path.Combine(dir, "line.csv.gz");
        using (var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest))
        {
            gz.Write("label,f0,mass\n"u8);
            var chunk = Encoding.ASCII.GetBytes(new string('7', 1 << 20));
            for (int i = 0; i < 256; i++) gz.Write(chunk); // 256 MB of one line
            gz.Write("\n"u8);
        }
        log.WriteLine($"{new FileInfo(path).Length:N0} bytes compressed");
        var line = Assert.Single((await CheckAsync(Study(path), 3)).StderrLines);
        Assert.Contains(":2: the line is longer than 1,048,576 characters", line);
    }

    [Fact]
    public async Task A_header_of_200000_columns_is_refused_quickly()
    {
        var header = string.Join(",", Enumerable.Range(0, 200_000).Select(i => $"c{i}"));
        var line = Assert.Single((await CheckAsync(Study(Write("wide.csv", header + "\n1\n")), 3)).StderrLines);
        Assert.Contains("wide.csv:1:", line);
        Assert.Contains("(the limit)", line);
        // Under the line limit but over the column limit: the column limit speaks.
        header = string.Join(",", Enumerable.Range(0, 20_000).Select(i => $"c{i}"));
        line = Assert.Single((await CheckAsync(Study(Write("wide2.csv", header + "\n1\n")), 3)).StderrLines);
        Assert.Contains("the header has 20,000 columns; at most 10,000", line);
    }

    [Fact]
    public async Task A_header_of_9000_columns_is_read_in_linear_time()
    {
        // Under both limits: the header work must not grow with the square of the columns (88 s at 200,000 before).
        var names = Enumerable.Range(0, 9_000).Select(i => $"c{i}").ToList();
        var rows = string.Join("\n", Enumerable.Range(0, 20).Select(r => string.Join(",", names.Select((_, j) => j == 0 ? $"{r % 2}" : j == 1 ? "1" : "0.5")))) + "\n";
        names[0] = "label";
        names[1] = "mass";
        var r = await CheckAsync(Study(Write("many.csv", string.Join(",", names) + "\n" + rows)), 0);
        Assert.Contains("8998 features", r.Stdout);
    }

    [Fact]
    public async Task A_nul_in_a_cell_and_a_block_of_nuls_are_refused_without_echoing_them()
    {
        var csv = ValidCsv();
        var lines = csv.Split('\n');
        lines[5] += "\0"; // "2\0": .NET's parser reads it as 2
        var line = Assert.Single((await CheckAsync(Study(Write("nul.csv", string.Join('\n', lines))), 3)).StderrLines);
        Assert.Contains("nul.csv:6: a NUL byte", line);
        Assert.DoesNotContain("\0", line);
        lines = csv.Split('\n');
        lines[9] = new string('\0', 4096);
        line = Assert.Single((await CheckAsync(Study(Write("nuls.csv", string.Join('\n', lines))), 3)).StderrLines);
        Assert.Contains("nuls.csv:10: a NUL byte at character 1", line);
        Assert.True(line.Length < 300, line);
    }

    [Fact]
    public async Task A_last_line_cut_without_a_newline_is_refused()
    {
        var csv = ValidCsv();
        // Cut mid-number: "2.000" became "2.0", which parses as the same mass.
        var cut = csv + "0,0.25,0.75,2.0";
        var line = Assert.Single((await CheckAsync(Study(Write("cut.csv", cut)), 3)).StderrLines);
        Assert.Contains("cut.csv:302: the last line has no newline", line);
    }

    [Fact]
    public async Task A_file_that_is_not_data_is_never_echoed()
    {
        var path = Write("shadow", "root:*:20228:0:99999:7:::\ndaemon:*:20228:0:99999:7:::\n");
        var r = await CheckAsync(Study(path), 3);
        var line = Assert.Single(r.StderrLines);
        Assert.Contains("not a data file of the expected format", line);
        Assert.DoesNotContain("root", r.Stderr + r.Stdout);
        Assert.DoesNotContain("20228", r.Stderr + r.Stdout);
    }

    [Fact]
    public async Task A_compression_bomb_stops_at_the_decompressed_size_limit()
    {
        var path = Path.Combine(dir, "bomb.csv.gz");
        using (var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest))
        {
            gz.Write(Encoding.ASCII.GetBytes(ValidCsv()));
            var row = Encoding.ASCII.GetBytes("0,0.5,0.5,2\n");
            var block = new byte[row.Length * 10_000];
            for (int i = 0; i < 10_000; i++) row.CopyTo(block, i * row.Length);
            for (int i = 0; i < 40; i++) gz.Write(block); // 4.8 MB of rows
        }
        var line = Assert.Single((await CheckAsync(Study(path), 3, new Dictionary<string, string> { ["STUDIES_DATA_MAX_MB"] = "2" })).StderrLines);
        Assert.Contains("expands to more than 2 MB when decompressed", line);
    }

    [Fact]
    public async Task Rows_at_masses_not_listed_are_counted_in_check()
    {
        var csv = ValidCsv().Replace(",1\n", ",1.002\n"); // every signal row of mass 1 written as 1.002
        var r = await CheckAsync(Study(Write("off.csv", csv), ", masses: [1, 2, 3]"), 3);
        // Mass 1 has no rows left: an error; and the dropped rows are said, with their count.
        Assert.Contains(r.StderrLines, l => l.Contains("no signal rows of mass 1 ") && l.Contains("50 signal rows at masses not in the option 'masses'") && l.Contains("mass 1.002"));
        r = await CheckAsync(Study(Write("off2.csv", csv), ", masses: [2, 3]"), 0);
        Assert.Contains(r.StderrLines, l => l.StartsWith("warning: ") && l.Contains("50 signal rows at masses not in the option 'masses'"));
    }

    [Fact]
    public async Task A_held_out_mass_missing_from_the_data_is_a_study_file_error_at_its_key()
    {
        var data = Write("h.csv", ValidCsv());
        var study = Path.Combine(dir, "holdout.yaml");
        File.WriteAllText(study, $"""
            study: holdout
            data:
              source: csv
              options: {"{"}path: '{data}'{"}"}
              holdout: [2.5]
            base:
              schedule: [{"{"}loss: bce, epochs: 1{"}"}]
            """ + "\n");
        var line = Assert.Single((await CheckAsync(study, 2)).StderrLines);
        Assert.StartsWith($"{study}:5:", line);
        Assert.Contains("held-out mass 2.5 is not in the data's mass grid", line);
    }

    [Fact]
    public async Task An_option_that_does_not_fit_the_data_is_a_study_file_error_at_the_options_key()
    {
        var study = Study(Write("w.csv", ValidCsv()), ", columns: {window: f1}");
        var line = Assert.Single((await CheckAsync(study, 2)).StderrLines);
        Assert.StartsWith($"{study}:4:", line);
        Assert.Contains("option 'window_width' is required with a window column", line);
    }

    [Fact]
    public async Task An_empty_npz_says_it_holds_no_arrays()
    {
        var path = Path.Combine(dir, "empty.npz");
        using (ZipFile.Open(path, ZipArchiveMode.Create)) { }
        var study = Path.Combine(dir, "npz.yaml");
        File.WriteAllText(study, $"study: npz\ndata: {{source: npz, options: {{path: '{path}'}}}}\nbase: {{schedule: [{{loss: bce, epochs: 1}}]}}\n");
        var line = Assert.Single((await CheckAsync(study, 3)).StderrLines);
        Assert.Contains("holds no arrays", line);
    }
}
