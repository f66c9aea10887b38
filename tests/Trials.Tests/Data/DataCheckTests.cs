using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Studies.Trials.Data;
using Studies.Trials.Specs;

namespace Studies.Trials.Tests.Data;

/// <summary>
/// Bad data files are refused with file, row and column by every loader (the checks run on the
/// loaded table), never read silently in part or turned into NaN metrics later.
/// </summary>
public sealed class DataCheckTests : IDisposable
{
    private readonly string _dir = DataTestKit.TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>300 rows: label alternating, signal at masses 500 and 1000, a weight column; line 1 is the header.</summary>
    private static List<string> Rows()
    {
        var lines = new List<string> { "label,f0,f1,mass,w" };
        var random = new Random(5);
        for (int r = 0; r < 300; r++)
        {
            int label = r % 2;
            double mass = label == 1 ? (r % 4 == 1 ? 500 : 1000) : 300 + random.Next(900);
            lines.Add($"{label},{random.NextDouble():F4},{random.NextDouble():F4},{mass},{0.5 + random.NextDouble():F3}");
        }
        return lines;
    }

    private string Write(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, string.Join('\n', lines) + "\n");
        return path;
    }

    private static JsonObject Csv(string path) => new()
    {
        ["path"] = path,
        ["columns"] = new JsonObject { ["weight"] = "w" },
    };

    private static DataException LoadFails(JsonObject options) =>
        Assert.Throws<DataException>(() => new CsvSource().Load(options, 0));

    [Fact]
    public void A_truncated_gzip_file_is_an_error_naming_the_file_not_a_shorter_data_set()
    {
        var text = Encoding.ASCII.GetBytes(string.Join('\n', Rows()) + "\n");
        var path = Path.Combine(_dir, "cut.csv.gz");
        using (var buffer = new MemoryStream())
        {
            using (var zip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true)) zip.Write(text);
            File.WriteAllBytes(path, buffer.ToArray()[..(int)(buffer.Length * 2 / 3)]);
        }
        var e = LoadFails(Csv(path));
        Assert.StartsWith($"{path}: the compressed data are damaged or cut short after line ", e.Message);
    }

    [Fact]
    public void A_gzip_file_cut_inside_its_trailer_is_an_error_too()
    {
        var path = Path.Combine(_dir, "trailer.csv.gz");
        using (var buffer = new MemoryStream())
        {
            using (var zip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true)) zip.Write(Encoding.ASCII.GetBytes(string.Join('\n', Rows()) + "\n"));
            File.WriteAllBytes(path, buffer.ToArray()[..^4]);
        }
        Assert.Contains("cut short", LoadFails(Csv(path)).Message);
    }

    [Fact]
    public void A_plain_file_named_gz_is_an_error_naming_the_file()
    {
        var path = Write("plain.csv.gz", Rows());
        Assert.Equal($"{path}: named .gz but not gzip-compressed (it does not start with the gzip bytes 1f 8b); rename it without .gz or compress it with gzip",
            LoadFails(Csv(path)).Message);
    }

    [Theory]
    [InlineData("nan", "feature value NaN is not a finite number")]
    [InlineData("NaN", "feature value NaN is not a finite number")]
    [InlineData("Infinity", "feature value Infinity is not a finite number")]
    [InlineData("-Infinity", "feature value -Infinity is not a finite number")]
    [InlineData("1e300", "feature value Infinity is not a finite number (infinite, or beyond the 32-bit float range")]
    public void A_non_finite_feature_names_file_line_and_column(string value, string message)
    {
        var lines = Rows();
        lines[41] = $"0,0.5,{value},700,1";
        var path = Write("bad.csv", lines);
        var e = LoadFails(Csv(path));
        Assert.StartsWith($"{path}:42: column 'f1': {message}", e.Message);
    }

    [Fact]
    public void Many_bad_values_give_one_line_per_column_and_kind_with_the_first_row_and_the_count()
    {
        var lines = Rows();
        foreach (var r in new[] { 10, 20, 30 }) lines[r] = "0,nan,0.5,700,1";
        lines[50] = "0,1e39,0.5,700,1";
        var path = Write("many.csv", lines);
        var e = LoadFails(Csv(path));
        Assert.Equal(
            [
                $"{path}:11: column 'f0': feature value NaN is not a finite number (3 rows like it; this is the first)",
                $"{path}:51: column 'f0': feature value Infinity is not a finite number (infinite, or beyond the 32-bit float range of about ±3.4e38)",
            ], e.Problems);
    }

    /// <summary>Negative weights (NLO Monte Carlo) load as they are (issue 20; before, they were refused).</summary>
    [Fact]
    public void Negative_weights_are_accepted_as_written()
    {
        var lines = Rows();
        lines[7] = "0,0.1,0.2,800,-0.125";
        lines[9] = "0,0.1,0.2,800,-3";
        var path = Write("negative.csv", lines);
        var events = new CsvSource().Load(Csv(path), 0);
        Assert.Equal(-0.125, events.Weight[6]);
        Assert.Equal(-3, events.Weight[8]);
    }

    /// <summary>A mass window whose net background weight is <= 0 in validation or test is a warning naming the mass and split.</summary>
    [Fact]
    public void A_window_whose_negative_weights_outweigh_the_rest_is_a_warning()
    {
        var lines = new List<string> { "x,label,mass,v,w" };
        for (var r = 0; r < 400; r++)
        {
            var signal = r % 4 == 0;
            var m = r % 8 == 0 ? 10 : 20;
            // Background near 20 weighs -1: the window of 20 has net background -1 x its events there.
            var v = signal ? m : r % 3 == 0 ? 20 : 10 + 0.5 * (r % 3);
            var w = signal ? 1 : v == 20 ? -1 : 1;
            lines.Add($"{(r % 7) / 7.0},{(signal ? 1 : 0)},{(signal ? m : "")},{v},{w}");
        }
        var path = Write("window.csv", lines);
        var spec = new DataSpec
        {
            Source = "csv",
            Options = new JsonObject { ["path"] = path, ["columns"] = new JsonObject { ["weight"] = "w", ["window"] = "v", ["features"] = new JsonArray("x") }, ["window_width"] = 1, ["window_center"] = "mass" },
        };
        var (events, loadProblems) = DataChecks.Load(spec, 1);
        Assert.Empty(loadProblems);
        var problems = DataChecks.Split(events!, spec, 1);
        Assert.All(problems, p => Assert.Equal(DataSeverity.Warning, p.Severity));
        Assert.Contains(problems, p => p.Message.Contains("the background in the window of mass 20 has net weight -") && p.Message.Contains("in the validation split"));
        Assert.Contains(problems, p => p.Message.Contains("the background in the window of mass 20 has net weight -") && p.Message.Contains("in the test split"));
        Assert.DoesNotContain(problems, p => p.Message.Contains("window of mass 10 "));
    }

    [Fact]
    public void All_zero_weights_and_a_class_without_weight_are_errors()
    {
        var zero = Rows().Select((l, r) => r == 0 ? l : l[..(l.LastIndexOf(',') + 1)] + "0").ToList();
        var path = Write("zero.csv", zero);
        Assert.Equal($"{path}: column 'w': every weight is 0 or unusable", LoadFails(Csv(path)).Message);

        var noSignalWeight = Rows().Select((l, r) => r > 0 && l[0] == '1' ? l[..(l.LastIndexOf(',') + 1)] + "0" : l).ToList();
        path = Write("signal-zero.csv", noSignalWeight);
        Assert.Equal($"{path}: column 'w': the signal rows' weights are all 0 or unusable", LoadFails(Csv(path)).Message);
    }

    [Fact]
    public void A_file_without_background_rows_is_an_error()
    {
        var path = Write("signal-only.csv", Rows().Where((l, r) => r == 0 || l[0] == '1'));
        Assert.Equal($"{path}: no background rows (column 'label' is never 0): the metrics compare signal with background", LoadFails(Csv(path)).Message);
    }

    [Fact]
    public void A_mass_without_signal_in_a_split_is_a_warning_and_a_split_without_background_to_train_on_an_error()
    {
        // One signal event at mass 2000: after a 60/20/20 split it is in one split only.
        var lines = Rows();
        lines.Add("1,0.5,0.5,2000,1");
        var spec = new DataSpec { Source = "csv", Options = Csv(Write("sparse.csv", lines)) };
        var (events, loadProblems) = DataChecks.Load(spec, 1);
        Assert.Empty(loadProblems);
        var problems = DataChecks.Split(events!, spec, 1);
        Assert.All(problems, p => Assert.Equal(DataSeverity.Warning, p.Severity));
        Assert.Equal(2, problems.Count);
        Assert.All(problems, p => Assert.Matches(@"sparse\.csv: no signal \(with weight > 0\) at mass 2000 in the (train|validation|test) split", p.Message));

        var splits = Splitter.Split(events!, spec.Split, spec.Holdout, 1);
        var withoutBackground = new DataSplits
        {
            Events = splits.Events, Train = splits.Train.Where(i => events!.Label[i] == 1).ToArray(), Validation = splits.Validation, Test = splits.Test,
            TrainedMasses = splits.TrainedMasses, HeldoutMasses = splits.HeldoutMasses, SplitWeight = splits.SplitWeight,
        };
        var error = Assert.Single(DataChecks.Splits(withoutBackground, "x.csv", spec.Split), p => p.Severity == DataSeverity.Error);
        Assert.Equal("x.csv: no background (net weight 0 <= 0) in the train split: there is nothing to train against", error.Message);
    }

    [Fact]
    public void The_trial_runner_keeps_the_checks_as_a_last_guard()
    {
        var lines = Rows();
        lines[3] = "0,nan,0.2,800,1";
        var path = Write("guard.csv", lines);
        var e = Assert.Throws<DataException>(() => new TrialDataProvider().Load(new DataSpec { Source = "csv", Options = Csv(path) }, 1));
        Assert.StartsWith($"{path}:4: column 'f0': feature value NaN", e.Message);
    }

    [Fact]
    public void Npz_values_get_the_same_checks_with_row_numbers()
    {
        var path = Path.Combine(_dir, "bad.npz");
        var f0 = Enumerable.Range(0, 10).Select(i => i == 6 ? double.NaN : i * 0.1).ToArray();
        WriteNpz(path, ("label", Npy("<f8", [1, 0, 1, 0, 1, 0, 1, 0, 1, 0])), ("f0", Npy("<f8", f0)), ("mass", Npy("<f8", [5, 1, 5, 2, 5, 3, 5, 4, 5, 5])));
        var e = Assert.Throws<DataException>(() => new NpzSource().Load(new JsonObject { ["path"] = path }, 0));
        Assert.Equal($"{path}: row 7: column 'f0': feature value NaN is not a finite number", e.Message);
    }

    [Theory]
    [InlineData(60_000, "the .npy header is cut short or damaged: it claims 60000 bytes")]
    [InlineData(-1, "malformed .npy header (shape 'x')")]
    [InlineData(-2, "malformed .npy header (no 'descr')")]
    public void A_bad_npy_header_gives_a_clear_message(int headerLength, string message)
    {
        var path = Path.Combine(_dir, "header.npz");
        var good = Npy("<f8", [1, 0]);
        byte[] label = headerLength switch
        {
            -1 => NpyWithHeader("{'descr': '<f8', 'fortran_order': False, 'shape': (x,), }", new byte[16]),
            -2 => NpyWithHeader("{'fortran_order': False, 'shape': (2,), }", new byte[16]),
            _ => [.. good[..8], (byte)(headerLength & 0xff), (byte)(headerLength >> 8), .. good[10..]],
        };
        WriteNpz(path, ("label", label), ("f0", good), ("mass", good));
        var e = Assert.Throws<DataException>(() => new NpzSource().Load(new JsonObject { ["path"] = path }, 0));
        Assert.StartsWith($"{path}: array 'label': {message}", e.Message);
    }

    [Fact]
    public void A_truncated_npz_is_an_error_naming_the_file()
    {
        var path = Path.Combine(_dir, "cut.npz");
        WriteNpz(path, ("label", Npy("<f8", [1, 0])), ("f0", Npy("<f8", [1, 2])), ("mass", Npy("<f8", [1, 1])));
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..100]);
        var e = Assert.Throws<DataException>(() => new NpzSource().Load(new JsonObject { ["path"] = path }, 0));
        Assert.StartsWith($"{path}: not a readable .npz file (a zip archive cut short or damaged", e.Message);
    }

    private static byte[] Npy(string descr, double[] values) =>
        NpyWithHeader($"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({values.Length},), }}", values.SelectMany(BitConverter.GetBytes).ToArray());

    private static byte[] NpyWithHeader(string header, byte[] data)
    {
        var padded = header.PadRight(((header.Length + 11) / 64 + 1) * 64 - 11) + "\n";
        return [0x93, .. "NUMPY"u8.ToArray(), 1, 0, (byte)(padded.Length & 0xff), (byte)(padded.Length >> 8), .. Encoding.Latin1.GetBytes(padded), .. data];
    }

    private static void WriteNpz(string path, params (string Name, byte[] Bytes)[] arrays)
    {
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, bytes) in arrays)
        {
            using var entry = zip.CreateEntry(name + ".npy", CompressionLevel.NoCompression).Open();
            entry.Write(bytes);
        }
    }
}
