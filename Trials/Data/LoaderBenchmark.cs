using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Studies.Trials.Data;

/// <summary>Times the HEPMASS loader on a generated file of the real format (27 features, 6 decimals).</summary>
public static class LoaderBenchmark
{
    /// <summary>Writes a temporary HEPMASS-format CSV of <paramref name="rows"/> rows, loads it, reports rows/s; returns the load time in seconds.</summary>
    public static double Run(int rows, TextWriter output)
    {
        if (rows < 1) throw new ArgumentOutOfRangeException(nameof(rows), "need at least one row");
        var path = Path.Combine(Path.GetTempPath(), $"hepmass-benchmark-{Environment.ProcessId}-{Guid.NewGuid():N}.csv");
        try
        {
            var write = Stopwatch.StartNew();
            WriteHepmassLike(path, rows, seed: 1);
            output.WriteLine($"wrote {rows} rows ({new FileInfo(path).Length / 1e6:F1} MB) in {write.Elapsed.TotalSeconds:F2} s");
            var load = Stopwatch.StartNew();
            var events = new HepmassSource().Load(new JsonObject { ["path"] = path }, 0);
            double seconds = load.Elapsed.TotalSeconds;
            output.WriteLine($"loaded {events.Count} events, {events.Masses.Length} masses, {events.FeatureCount} features: {rows / seconds:F0} rows/s");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"hepmass load: {rows} rows in {seconds:F2} s"));
            return seconds;
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A HEPMASS-shaped file: half signal at 500..1500 GeV (500 stored as 499.99997, as in the real files), background with random masses.</summary>
    public static void WriteHepmassLike(string path, int rows, ulong seed)
    {
        double[] masses = [499.99997, 750, 1000, 1250, 1500];
        var rng = new Rng(seed, Rng.Label("hepmass-benchmark"));
        using var writer = new StreamWriter(path, append: false, System.Text.Encoding.ASCII, bufferSize: 1 << 16);
        writer.Write("# label");
        for (int j = 0; j < 27; j++) writer.Write($", f{j}");
        writer.WriteLine(", mass");
        Span<char> cell = stackalloc char[32];
        for (int r = 0; r < rows; r++)
        {
            bool signal = r % 2 == 0;
            writer.Write(signal ? "1.000000" : "0.000000");
            for (int j = 0; j < 27; j++)
            {
                writer.Write(',');
                rng.Normal().TryFormat(cell, out int written, "F6", CultureInfo.InvariantCulture);
                writer.Write(cell[..written]);
            }
            writer.Write(',');
            var mass = masses[rng.Next(masses.Length)];
            mass.TryFormat(cell, out int n, "R", CultureInfo.InvariantCulture);
            writer.Write(cell[..n]);
            writer.WriteLine();
        }
    }
}
