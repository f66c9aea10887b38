using System.IO.Compression;
using System.Text;

namespace Studies.Orchestrator.Tests.EndToEnd;

/// <summary>
/// Bad data files are reported at validation, through the real <c>studies</c> program: <c>check</c>,
/// <c>run --dry-run</c>, <c>run</c> and <c>submit</c> all load each data source once, print every
/// problem with file, row and column, and exit 3 before any trial starts or anything is recorded.
/// </summary>
public sealed class CheckCommandTests : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private readonly StudiesHome home = new();
    private readonly string dataDir = Directory.CreateTempSubdirectory("studies-check-").FullName;

    public void Dispose()
    {
        home.Dispose();
        Directory.Delete(dataDir, recursive: true);
    }

    /// <summary>600 rows of HEPMASS format (signal at 500 and 1000 GeV); line 1 is the header.</summary>
    private static List<string> Rows()
    {
        var lines = new List<string> { "# label, f0, f1, mass" };
        var random = new Random(3);
        for (int r = 0; r < 600; r++)
        {
            int label = r % 2;
            lines.Add($"{label}, {random.NextDouble() + label:F4}, {random.NextDouble():F4}, {(label == 1 ? (r % 4 == 1 ? 500 : 1000) : 400 + random.Next(700))}");
        }
        return lines;
    }

    private static byte[] Text(IEnumerable<string> lines) => Encoding.ASCII.GetBytes(string.Join('\n', lines) + "\n");

    private static byte[] Gzip(byte[] bytes)
    {
        using var buffer = new MemoryStream();
        using (var zip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true)) zip.Write(bytes);
        return buffer.ToArray();
    }

    /// <summary>A study over <paramref name="dataFile"/> (written with <paramref name="bytes"/>); returns the study file's path.</summary>
    private string StudyOver(string dataFile, byte[] bytes)
    {
        File.WriteAllBytes(Path.Combine(dataDir, dataFile), bytes);
        var study = Path.Combine(dataDir, "study.yaml");
        File.WriteAllText(study, $$"""
            study: check-{{Path.GetFileNameWithoutExtension(dataFile).Replace('.', '-')}}
            data:
              source: hepmass
              options: {path: {{dataFile}}}
              holdout: none
            base:
              model: {kind: dnn, hidden: [4], activation: tanh}
              schedule:
                - {loss: bce, epochs: 1, optimizer: adam, lr: 1.0e-3, batch: 128}
            matrix:
              seed: [1, 2]
            """);
        return study;
    }

    public static TheoryData<string, string> BadFiles() => new()
    {
        { "truncated.csv.gz", "the compressed data are damaged or cut short after line" },
        { "plain.csv.gz", "named .gz but not gzip-compressed" },
        { "nan.csv", ":13: column 'f1': feature value NaN is not a finite number" },
        { "huge.csv", ":21: column 'f0': feature value Infinity is not a finite number (infinite, or beyond the 32-bit float range" },
        { "signal-only.csv", "no background rows (column 'label' is never 0)" },
    };

    private byte[] Bytes(string file)
    {
        var rows = Rows();
        switch (file)
        {
            case "truncated.csv.gz":
                var gz = Gzip(Text(rows));
                return gz[..(gz.Length / 2)];
            case "plain.csv.gz":
                return Text(rows);
            case "nan.csv":
                rows[12] = "0, 0.5, nan, 700";
                return Text(rows);
            case "huge.csv":
                rows[20] = "0, 1e300, 0.5, 700";
                return Text(rows);
            default:
                return Text(rows.Where((l, r) => r == 0 || l.StartsWith('1')));
        }
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task Every_command_that_validates_reports_a_bad_data_file_with_its_position_and_exits_3_before_any_trial(string file, string message)
    {
        var study = StudyOver(file, Bytes(file));
        var path = Path.Combine(dataDir, file);
        foreach (var args in new[] { new[] { "check", study }, ["run", study, "--dry-run"], ["run", study], ["submit", study] })
        {
            var result = await home.RunAsync(CommandTimeout, args);
            Assert.True(result.ExitCode == 3, $"`{string.Join(' ', args)}`: {result}");
            // One line for the one problem, and the data source was loaded once, not once per trial (two seeds).
            var line = Assert.Single(result.StderrLines);
            Assert.StartsWith(path, line);
            Assert.Contains(message, line);
        }
        Assert.False(File.Exists(home.Database), "a study with bad data must not be recorded");
        Assert.False(Directory.Exists(Path.Combine(home.Root, "queue")) && Directory.EnumerateFiles(Path.Combine(home.Root, "queue")).Any(), "a study with bad data must not be queued");
    }

    [Fact]
    public async Task Check_of_good_data_summarises_each_source_and_warns_of_a_mass_without_signal_in_a_split()
    {
        var rows = Rows();
        rows.Add("1, 0.5, 0.5, 2000"); // one signal event at 2000 GeV: it lands in one split only
        var study = StudyOver("sparse.csv", Text(rows));
        var result = await home.RunAsync(CommandTimeout, "check", study);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"data: {Path.Combine(dataDir, "sparse.csv")}: 601 events (301 signal at 3 masses, 300 background), 2 features", result.Stdout);
        Assert.Equal("ok: the study and its data are ready to run", result.StdoutLines[^1]);
        Assert.NotEmpty(result.StderrLines);
        Assert.All(result.StderrLines, l => Assert.Matches(@"^warning: .*sparse\.csv: no signal \(with weight > 0\) at mass 2000 in the (train|validation|test) split", l));
    }
}
