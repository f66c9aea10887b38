using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Studies.Trials.Data;

namespace Studies.Trials.Tests.Data;

public sealed class LoaderTests : IDisposable
{
    private readonly string _dir = DataTestKit.TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private const string Hepmass =
        "# label, f0, f1, mass\n" +
        "1, 0.5, -1.25, 499.99997\n" +
        "0, 1.5, 2e-1, 1000\n" +
        "\n" +
        "1.0, -0.5, 3, 1000.0001\n" +
        "0, 2.5, 4, 750\n";

    [Fact]
    public void Hepmass_rows_load_with_rounded_masses_and_stored_background_masses()
    {
        var set = new HepmassSource().Load(new JsonObject { ["path"] = Write("h.csv", Hepmass) }, 0);
        Assert.Equal(4, set.Count);
        Assert.Equal(["f0", "f1"], set.FeatureNames);
        Assert.Equal([500.0, 1000.0], set.Masses);
        Assert.Equal([0.5f, -1.25f, 1.5f, 0.2f, -0.5f, 3f, 2.5f, 4f], set.Features);
        Assert.Equal([500.0, double.NaN, 1000.0, double.NaN], set.Mass);
        Assert.Equal([499.99997, 1000, 1000.0001, 750], set.StoredMass!);
        Assert.Equal([1.0, 1.0], set.GeneratedSignal);
        Assert.Equal(["signal", "background"], set.ProcessNames);
        Assert.Equal([0, 1, 0, 1], set.Process);
    }

    [Fact]
    public void Hepmass_gzip_by_extension_or_magic_loads_the_same_and_max_rows_and_masses_select()
    {
        var gz = Path.Combine(_dir, "h.csv.gz");
        var magic = Path.Combine(_dir, "h-compressed.csv");
        foreach (var path in new[] { gz, magic })
        {
            using var file = File.Create(path);
            using var zip = new GZipStream(file, CompressionLevel.Fastest);
            zip.Write(Encoding.ASCII.GetBytes(Hepmass));
        }
        var plain = new HepmassSource().Load(new JsonObject { ["path"] = Write("h.csv", Hepmass) }, 0);
        foreach (var path in new[] { gz, magic })
        {
            var set = new HepmassSource().Load(new JsonObject { ["path"] = path }, 0);
            Assert.Equal(plain.Features, set.Features);
            Assert.Equal(plain.Masses, set.Masses);
        }
        var first = new HepmassSource().Load(new JsonObject { ["path"] = gz, ["max_rows"] = 2 }, 0);
        Assert.Equal(2, first.Count);
        Assert.Equal([500.0], first.Masses);
        var only1000 = new HepmassSource().Load(new JsonObject { ["path"] = gz, ["masses"] = new JsonArray(1000.0) }, 0);
        Assert.Equal(3, only1000.Count); // the 500 GeV signal row is not a hypothesis: dropped
        Assert.Equal([1000.0], only1000.Masses);
    }

    [Fact]
    public void Csv_with_a_column_map_round_trips_weights_processes_and_windows()
    {
        var path = Write("events.csv",
            "kind,y,a,m,w,v,b,unused\n" +
            "mumu,0,1,-1,0.5,3.5,10,x\n" +
            "zp,1,2,2,0.25,4.1,20,x\n" +
            "tau,0,3,-1,2,1,30,x\n" +
            "zp,1,4,1,0.25,0.9,40,x\n");
        var options = new JsonObject
        {
            ["path"] = path,
            ["columns"] = new JsonObject
            {
                ["features"] = new JsonArray("b", "a"), ["label"] = "y", ["mass"] = "m", ["weight"] = "w", ["process"] = "kind", ["window"] = "v",
            },
            ["window_width"] = new JsonArray(0.1, 0.2),
        };
        var set = new CsvSource().Load(options, 0);
        Assert.Equal(["b", "a"], set.FeatureNames);
        Assert.Equal([10f, 1, 20, 2, 30, 3, 40, 4], set.Features);
        Assert.Equal(["zp", "mumu", "tau"], set.ProcessNames);
        Assert.Equal([1, 0, 2, 0], set.Process);
        Assert.Equal([0.5, 0.25, 2, 0.25], set.Weight);
        Assert.Equal([1.0, 2.0], set.Masses);
        Assert.Equal([3.5f, 4.1f, 1f, 0.9f], set.Window!);
        Assert.Equal([1.0, 4.0], set.Windows!.Center);
        Assert.Equal([0.1, 0.2], set.Windows.Width);
        Assert.Null(set.Luminosity); // undeclared: weights in their own units

        // A declared luminosity (fb^-1) reaches the events (the Punzi loss and the report's units use it).
        options["luminosity"] = 140;
        options["mass_unit"] = "TeV";
        Assert.Equal(140, new CsvSource().Load(options, 0).Luminosity);
        options.Remove("luminosity");
        options.Remove("mass_unit");

        options.Remove("window_width");
        var e = Assert.Throws<DataException>(() => new CsvSource().Load(options, 0));
        Assert.Contains("option 'window_width' is required", e.Message);
    }

    [Fact]
    public void Npz_with_a_column_map_round_trips()
    {
        var path = Path.Combine(_dir, "events.npz");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            AddNpy(zip, "label", "|u1", 4, [1, 0, 1, 0]);
            AddNpy(zip, "mass", "<f8", 4, Doubles(500, -1, 750, -1));
            AddNpy(zip, "x1", "<f4", 4, Floats(0.5f, 1.5f, 2.5f, 3.5f));
            AddNpy(zip, "x2", "<i8", 4, Longs(7, 8, 9, 10));
            AddNpy(zip, "weight", "<f8", 4, Doubles(1, 2, 3, 4));
            AddNpy(zip, "proc", "<U4", 4, Utf32(4, "sig", "bkg", "sig", "ttau"));
        }
        var set = new NpzSource().Load(new JsonObject
        {
            ["path"] = path,
            ["columns"] = new JsonObject { ["features"] = new JsonArray("x1", "x2"), ["weight"] = "weight", ["process"] = "proc" },
        }, 0);
        Assert.Equal([0.5f, 7, 1.5f, 8, 2.5f, 9, 3.5f, 10], set.Features);
        Assert.Equal([500.0, 750.0], set.Masses);
        Assert.Equal([1.0, 2, 3, 4], set.Weight);
        Assert.Equal(["sig", "bkg", "ttau"], set.ProcessNames);
        Assert.Equal([0, 1, 0, 2], set.Process);

        var e = Assert.Throws<DataException>(() => new NpzSource().Load(new JsonObject
        {
            ["path"] = path, ["columns"] = new JsonObject { ["features"] = new JsonArray("x1", "x3") },
        }, 0));
        Assert.Contains("feature column 'x3' not found", e.Message);
        Assert.Contains("label, mass, x1, x2, weight, proc", e.Message);
        e = Assert.Throws<DataException>(() => new NpzSource().Load(new JsonObject
        {
            ["path"] = path, ["columns"] = new JsonObject { ["features"] = new JsonArray("x1", "mass") },
        }, 0));
        Assert.Contains("column 'mass' is mapped both as a feature and as the mass", e.Message);
    }

    [Fact]
    public void Missing_file_is_reported_with_its_path()
    {
        var path = Path.Combine(_dir, "nope.csv");
        foreach (var source in new IDataSource[] { new HepmassSource(), new CsvSource(), new NpzSource() })
        {
            var e = Assert.Throws<DataException>(() => source.Load(new JsonObject { ["path"] = path }, 0));
            Assert.Equal($"data file not found: {path}", e.Message);
        }
    }

    [Fact]
    public void A_missing_column_names_it_and_lists_the_header()
    {
        var path = Write("h.csv", "# label, f0, m\n1, 2, 3\n");
        var e = Assert.Throws<DataException>(() => new HepmassSource().Load(new JsonObject { ["path"] = path }, 0));
        Assert.Equal($"{path}: mass column 'mass' not found; the file has: label, f0, m", e.Message);
    }

    [Fact]
    public void A_non_numeric_cell_names_file_line_and_column()
    {
        var path = Write("h.csv", Hepmass.Replace("3, 1000.0001", "abc, 1000.0001"));
        var e = Assert.Throws<DataException>(() => new HepmassSource().Load(new JsonObject { ["path"] = path }, 0));
        Assert.Equal($"{path}:5: column 'f1': 'abc' is not a number", e.Message);
    }

    [Fact]
    public void Bad_rows_and_labels_are_located()
    {
        var path = Write("h.csv", "# label, f0, mass\n1, 2, 3\n0, 2\n");
        var e = Assert.Throws<DataException>(() => new HepmassSource().Load(new JsonObject { ["path"] = path }, 0));
        Assert.Equal($"{path}:3: 2 columns, the header has 3", e.Message);
        path = Write("l.csv", "# label, f0, mass\n1, 2, 3\n2, 2, 3\n");
        e = Assert.Throws<DataException>(() => new HepmassSource().Load(new JsonObject { ["path"] = path }, 0));
        Assert.Equal($"{path}:3: column 'label': '2' is not a label (0 or 1)", e.Message);
    }

    [Fact]
    public void Benchmark_reports_its_rows_and_time_on_the_last_line()
    {
        var output = new StringWriter();
        double seconds = LoaderBenchmark.Run(3000, output);
        var last = output.ToString().TrimEnd().Split('\n')[^1];
        Assert.StartsWith("hepmass load: 3000 rows in ", last);
        Assert.EndsWith(" s", last);
        Assert.True(seconds > 0);
    }

    private static void AddNpy(ZipArchive zip, string name, string descr, int length, byte[] data)
    {
        var header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({length},), }}";
        header = header.PadRight(((10 + header.Length + 1 + 63) / 64) * 64 - 10 - 1) + "\n";
        using var stream = zip.CreateEntry(name + ".npy").Open();
        stream.Write([0x93, .. "NUMPY"u8, 1, 0, (byte)header.Length, (byte)(header.Length >> 8)]);
        stream.Write(Encoding.ASCII.GetBytes(header));
        stream.Write(data);
    }

    private static byte[] Doubles(params double[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();
    private static byte[] Floats(params float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();
    private static byte[] Longs(params long[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();
    private static byte[] Utf32(int width, params string[] v) => v.SelectMany(s => Encoding.UTF32.GetBytes(s.PadRight(width, '\0'))).ToArray();
}
