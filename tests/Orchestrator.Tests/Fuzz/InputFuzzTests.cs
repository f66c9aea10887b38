using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Studies.Orchestrator.Tests.Components;
using Studies.Orchestrator.Tests.EndToEnd;
using Studies.Orchestrator.Tests.Limits;
using Studies.Trials.Data;
using Studies.Trials.Specs;
using Xunit.Abstractions;

namespace Studies.Orchestrator.Tests.Fuzz;

/// <summary>
/// A fuzz harness for study and data files (README.md beside this file): structure-aware mutations of the ready
/// studies in studies/ and of the corpus in Fuzz/Corpus, from one fixed seed, bounded in count and in time. It fails on
/// a crash (any exception but the validation's own, exit 70), a hang (a case past its time limit) and the silent
/// acceptance of a file made invalid by construction: a mutation that writes a value the rules forbid (epochs -3, an
/// unknown loss) must be rejected, or else no accepted trial may carry the value (the mutation hit text no trial uses).
/// </summary>
public sealed partial class InputFuzzTests(ITestOutputHelper log) : IDisposable
{
    private const int Seed = 20261205;
    /// <summary>Cases per kind at most, and the time the in-process part may take (it stops early and reports what it ran).</summary>
    private const int MaxStudyCases = 3000, MaxDataCases = 1500;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(25);
    /// <summary>One case longer than this is a hang (the limits make every real case take milliseconds).</summary>
    private static readonly TimeSpan CaseLimit = TimeSpan.FromSeconds(5);

    private readonly string dir = Directory.CreateTempSubdirectory("studies-fuzz-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static readonly string Root = ComponentRegistryTests.RepositoryRoot();
    private static readonly string Corpus = Path.Combine(Root, "tests", "Orchestrator.Tests", "Fuzz", "Corpus");

    // ---- study files --------------------------------------------------------------------------------------------

    /// <summary>A mutation of a study's text: null when it does not apply to this text; <c>Violated</c> null for noise (any outcome but a crash or hang is fine).</summary>
    private sealed record StudyMutation(string Name, Func<string, Random, string?> Apply, Func<IReadOnlyList<PlannedTrial>, bool>? Violated);

    private static string? ReplaceScalars(string text, string key, string value)
    {
        // Every plain scalar value of the key, block or flow style: `epochs: 100`, `{loss: bce, epochs: 3}`.
        var pattern = new Regex($@"(?<=(^|[\s{{,])){Regex.Escape(key)}:[ \t]*(?<v>[^\s,{{}}\[\]#&*][^,{{}}\[\]#\n]*?)(?=[ \t]*([,}}\n]|#|$))", RegexOptions.Multiline);
        var changed = false;
        var result = pattern.Replace(text, m =>
        {
            changed = true;
            var v = m.Groups["v"];
            return m.Value[..(v.Index - m.Index)] + value;
        });
        return changed ? result : null;
    }

    private static IEnumerable<PhaseSpec> Phases(IReadOnlyList<PlannedTrial> trials) => trials.SelectMany(t => t.Spec.Schedule);

    private static readonly string[] Junk = [":", "{", "}", "[", "]", "&", "*", "!", "|", ">", "-", "#", "'", "\"", "\t", ",", "%", "@", "`", "?", "<<: ", "\\", "\uFEFF", "é"];
    private static readonly string[] Odd = ["-1", "0", "1e400", "-1e400", "99999999999999999999", ".nan", ".inf", "abc", "[]", "{}", "''", "~", "0x10", "1_000", "2.5e-324"];

    private static readonly StudyMutation[] StudyMutations =
    [
        // Invalid by construction: each writes a value the study rules forbid into every place the key is written.
        new("epochs -3", (t, _) => ReplaceScalars(t, "epochs", "-3"), ts => Phases(ts).Any(p => p.Epochs <= 0)),
        new("epochs 1e400", (t, _) => ReplaceScalars(t, "epochs", "1e400"), ts => Phases(ts).Any(p => p.Epochs <= 0)),
        new("lr 0", (t, _) => ReplaceScalars(t, "lr", "0"), ts => Phases(ts).Any(p => !(p.LearningRate > 0))),
        new("lr .nan", (t, _) => ReplaceScalars(t, "lr", ".nan"), ts => Phases(ts).Any(p => !(p.LearningRate > 0))),
        new("lr -1", (t, _) => ReplaceScalars(t, "lr", "-1"), ts => Phases(ts).Any(p => !(p.LearningRate > 0))),
        new("unknown loss", (t, _) => ReplaceScalars(t, "loss", "bcezz"), ts => Phases(ts).Any(p => p.Loss == "bcezz")),
        new("unknown model kind", (t, _) => ReplaceScalars(t, "kind", "mlpzz"), ts => ts.Any(x => x.Spec.Model.Kind == "mlpzz")),
        new("unknown activation", (t, _) => ReplaceScalars(t, "activation", "swishy"), ts => ts.Any(x => x.Spec.Model.Activation == "swishy")),
        new("unknown optimizer", (t, _) => ReplaceScalars(t, "optimizer", "adamzz"), ts => Phases(ts).Any(p => p.Optimizer == "adamzz")),
        new("dropout 1.5", (t, _) => ReplaceScalars(t, "dropout", "1.5"), ts => ts.Any(x => !(x.Spec.Model.Dropout < 1))),
        new("batch -5", (t, _) => ReplaceScalars(t, "batch", "-5"), ts => Phases(ts).Any(p => p.Batch is <= 0)),
        new("no study name", (t, _) => Regex.IsMatch(t, "^study:.*$", RegexOptions.Multiline) ? Regex.Replace(t, "^study:.*$", "", RegexOptions.Multiline) : null, _ => true),
        new("study name twice", (t, _) => Regex.Match(t, "^study:.*$", RegexOptions.Multiline) is { Success: true } m ? t.Insert(m.Index, m.Value + "\n") : null, _ => true),
        new("unknown top-level key", (t, _) => t.TrimEnd() + "\nbogus_key: 1\n", _ => true),
        new("split that does not add up", (t, _) => Regex.IsMatch(t, "^data:[ \t]*$", RegexOptions.Multiline) && !t.Contains("split:", StringComparison.Ordinal)
            ? Regex.Replace(t, "^data:[ \t]*$", "data:\n  split: {train: 0.7, validation: 0.2, test: 0.2}", RegexOptions.Multiline) : null, _ => true),
        // Noise: anything may come of these but a crash or a hang.
        new("delete a character", (t, r) => t.Length == 0 ? null : t.Remove(r.Next(t.Length), 1), null),
        new("insert a YAML character", (t, r) => t.Insert(r.Next(t.Length + 1), Junk[r.Next(Junk.Length)]), null),
        new("insert a NUL or control byte", (t, r) => t.Insert(r.Next(t.Length + 1), ((char)r.Next(0, 32)).ToString()), null),
        new("truncate", (t, r) => t[..r.Next(t.Length + 1)], null),
        new("duplicate a line", (t, r) => { var l = t.Split('\n').ToList(); var i = r.Next(l.Count); l.Insert(i, l[i]); return string.Join('\n', l); }, null),
        new("swap two lines", (t, r) => { var l = t.Split('\n'); int i = r.Next(l.Length), j = r.Next(l.Length); (l[i], l[j]) = (l[j], l[i]); return string.Join('\n', l); }, null),
        new("re-indent a line", (t, r) => { var l = t.Split('\n'); var i = r.Next(l.Length); l[i] = new string(' ', r.Next(0, 6)) + l[i].TrimStart(); return string.Join('\n', l); }, null),
        new("replace a number", (t, r) => Numbers().Matches(t) is { Count: > 0 } ms && ms[r.Next(ms.Count)] is var m ? t[..m.Index] + Odd[r.Next(Odd.Length)] + t[(m.Index + m.Length)..] : null, null),
        new("flip a byte", (t, r) => { if (t.Length == 0) return null; var b = Encoding.UTF8.GetBytes(t); b[r.Next(b.Length)] ^= (byte)(1 << r.Next(8)); return Encoding.UTF8.GetString(b); }, null),
    ];

    [GeneratedRegex(@"(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?(?![\w.])")]
    private static partial Regex Numbers();

    /// <summary>The seeds: every ready study that loads here (those needing data files not shipped are left out) and the corpus studies.</summary>
    private static List<(string Name, string Text, string Directory)> StudySeeds()
    {
        var seeds = new List<(string, string, string)>();
        foreach (var folder in new[] { Path.Combine(Root, "studies"), Corpus, Path.Combine(Root, "tests", "Orchestrator.Tests", "Valid") })
        foreach (var file in Directory.GetFiles(folder, "*.yaml").Order(StringComparer.Ordinal))
        {
            var text = File.ReadAllText(file);
            try
            {
                StudyExpander.Expand(StudyLoader.Parse(text, Path.GetFileName(file), folder));
                seeds.Add((Path.GetFileName(file), text, folder));
            }
            catch (StudyValidationException) when (folder == Path.Combine(Root, "studies"))
            {
                // A ready study reading the user's own files (affine-hepmass.yaml).
            }
        }
        return seeds;
    }

    /// <summary>Runs one case on a thread of its own, so that a hang is reported instead of stalling the suite.</summary>
    private static (T? Result, Exception? Error, TimeSpan Elapsed, bool Hung) Timed<T>(Func<T> work)
    {
        var clock = Stopwatch.StartNew();
        var task = Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            if (!task.Wait(CaseLimit)) return (default, null, clock.Elapsed, true);
            return (task.Result, null, clock.Elapsed, false);
        }
        catch (AggregateException e)
        {
            return (default, e.InnerException, clock.Elapsed, false);
        }
    }

    private static string Shorten(string text) => text.Length <= 1500 ? text : text[..1500] + "...";

    [Fact]
    public void Mutated_study_and_data_files_never_crash_hang_or_pass_when_invalid()
    {
        var clock = Stopwatch.StartNew();
        var random = new Random(Seed);
        var failures = new List<string>();
        var seeds = StudySeeds();
        Assert.True(seeds.Count >= 8, $"only {seeds.Count} study seeds load");
        Assert.Contains(seeds, s => s.Name == "csv-study.yaml"); // the corpus stays valid

        int studyCases = 0, mustReject = 0, rejected = 0, accepted = 0, notApplicable = 0;
        var slowest = TimeSpan.Zero;
        while (studyCases < MaxStudyCases && clock.Elapsed < Budget && failures.Count < 10)
        {
            var (name, text, folder) = seeds[random.Next(seeds.Count)];
            var mutation = StudyMutations[random.Next(StudyMutations.Length)];
            var mutant = mutation.Apply(text, random);
            if (mutant is null || mutant == text) { notApplicable++; continue; }
            studyCases++;
            var (trials, error, elapsed, hung) = Timed(() => StudyExpander.Expand(StudyLoader.Parse(mutant, "mutant.yaml", folder)));
            slowest = elapsed > slowest ? elapsed : slowest;
            var context = $"'{mutation.Name}' of {name}:\n{Shorten(mutant)}";
            if (hung) failures.Add($"hang (> {CaseLimit.TotalSeconds} s): {context}");
            else if (error is StudyValidationException v)
            {
                rejected++;
                if (v.Errors.Count == 0 || v.Errors.Any(e => e.ToString().Contains('\n') || !e.ToString().StartsWith("mutant.yaml:", StringComparison.Ordinal)))
                    failures.Add($"an error that is not one positioned line ({string.Join(" | ", v.Errors)}): {context}");
            }
            else if (error is not null) failures.Add($"crash: {error.GetType().Name}: {error.Message}: {context}");
            else
            {
                accepted++;
                // Every accepted trial gets an id and canonical JSON, as `run` would record it.
                foreach (var t in trials!) _ = SpecJson.Serialize(t.Spec);
                if (mutation.Violated is { } violated && violated(trials))
                    failures.Add($"accepted although invalid by construction: {context}");
            }
            if (mutation.Violated is not null) mustReject++;
        }

        var dataResult = FuzzData(random, clock, failures);
        log.WriteLine($"fuzz (seed {Seed}): {studyCases} study cases ({mustReject} invalid by construction; {rejected} rejected, {accepted} accepted; " +
            $"{notApplicable} mutations did not apply), slowest {slowest.TotalMilliseconds:F0} ms; {dataResult}; {clock.Elapsed.TotalSeconds:F1} s in all");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures.Take(5)));
        // Bounded by time on a loaded machine, yet enough cases to mean something.
        Assert.True(studyCases >= 300, $"only {studyCases} study cases in {Budget.TotalSeconds} s");
    }

    // ---- data files ---------------------------------------------------------------------------------------------

    /// <summary>A data file (lines of a CSV) and the options that read it.</summary>
    private sealed record DataSeed(string Name, string[] Lines, JsonObject Options);

    private sealed record DataMutation(string Name, Func<string[], Random, byte[]?> Apply, bool Invalid, string Extension = ".csv");

    private static byte[] Text(IEnumerable<string> lines) => Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");

    /// <summary>A data row (not the header) and one of its numeric cells other than the mass (which background rows may leave empty).</summary>
    private static (int Row, int Cell) AnyCell(string[] lines, Random r, int massColumn)
    {
        var row = 1 + r.Next(lines.Length - 1);
        int cells = lines[row].Split(',').Length, cell;
        do cell = r.Next(cells); while (cell == massColumn);
        return (row, cell);
    }

    private static string[] WithCell(string[] lines, int row, int cell, Func<string, string> change)
    {
        var copy = (string[])lines.Clone();
        var cells = copy[row].Split(',');
        cells[cell] = change(cells[cell]);
        copy[row] = string.Join(',', cells);
        return copy;
    }

    private static int MassColumn(string[] lines) => Array.FindIndex(lines[0].TrimStart('#').Split(',').Select(c => c.Trim()).ToArray(), c => c == "mass");

    private static readonly DataMutation[] DataMutations =
    [
        // Invalid by construction: the check must report an error.
        new("a cell that is not a number", (l, r) => { var (row, cell) = AnyCell(l, r, MassColumn(l)); return Text(WithCell(l, row, cell, _ => "abc")); }, true),
        new("a NUL after a number", (l, r) => { var (row, cell) = AnyCell(l, r, MassColumn(l)); return Text(WithCell(l, row, cell, c => c + "\0")); }, true),
        new("a NaN feature", (l, r) => { var (row, cell) = AnyCell(l, r, MassColumn(l)); return cell == 0 ? null : Text(WithCell(l, row, cell, _ => "nan")); }, true),
        new("an infinite feature", (l, r) => { var (row, cell) = AnyCell(l, r, MassColumn(l)); return cell == 0 ? null : Text(WithCell(l, row, cell, _ => "1e400")); }, true),
        new("a label of 2", (l, r) => Text(WithCell(l, 1 + r.Next(l.Length - 1), 0, _ => "2")), true),
        new("a row short of a cell", (l, r) => { var copy = (string[])l.Clone(); var row = 1 + r.Next(l.Length - 1); copy[row] = copy[row][..copy[row].LastIndexOf(',')]; return Text(copy); }, true),
        new("a row with an extra cell", (l, r) => { var copy = (string[])l.Clone(); copy[1 + r.Next(l.Length - 1)] += ",1"; return Text(copy); }, true),
        new("a header column twice", (l, _) => { var copy = (string[])l.Clone(); copy[0] += "," + copy[0].TrimStart('#').Split(',')[1].Trim(); return Text(copy.Select((x, i) => i == 0 ? x : x + ",0")); }, true),
        new("no label column", (l, _) => { var copy = (string[])l.Clone(); copy[0] = copy[0].Replace("label", "lable", StringComparison.Ordinal); return Text(copy); }, true),
        new("the last line cut mid-number, no newline", (l, r) => Encoding.UTF8.GetBytes(string.Join('\n', l) + "\n" + l[^1][..Math.Max(1, l[^1].Length - 1)].TrimEnd(',') + "." + r.Next(10)), true),
        new("an empty file", (_, _) => [], true),
        new("only a header", (l, _) => Text(l.Take(1)), true),
        new("no background rows", (l, _) => Text(l.Where((x, i) => i == 0 || !x.TrimStart().StartsWith('0'))), true),
        // Negative weights are valid (NLO samples carry them); a weight that is no number is not.
        new("a weight that is no number", (l, r) => l[0].Contains(" w", StringComparison.Ordinal) ? Text(WithCell(l, 1 + r.Next(l.Length - 1), l[0].Split(',').Length - 1, _ => " w8")) : null, true),
        new("gzip cut short", (l, r) => { var gz = Gzip(Text(l)); return gz[..(gz.Length / 2 + r.Next(gz.Length / 4))]; }, true, ".csv.gz"),
        new("a line past the length limit", (l, _) => Text([l[0], .. l.Skip(1), new string('1', DataLimits.MaxLineChars + 10)]), true),
        // Noise: valid or not, never a crash or a hang.
        new("flip a byte", (l, r) => { var b = Text(l); b[r.Next(b.Length)] ^= (byte)(1 << r.Next(8)); return b; }, false),
        new("delete a row", (l, r) => Text(l.Where((_, i) => i != 1 + r.Next(l.Length - 1))), false),
        new("CRLF line ends", (l, _) => Encoding.UTF8.GetBytes(string.Join("\r\n", l) + "\r\n"), false),
        new("spaces around cells", (l, _) => Text(l.Select(x => string.Join(" , ", x.Split(',')))), false),
        new("insert a random byte", (l, r) => { var b = Text(l).ToList(); b.Insert(r.Next(b.Count), (byte)r.Next(256)); return [.. b]; }, false),
        new("truncate anywhere", (l, r) => { var b = Text(l); return b[..r.Next(b.Length)]; }, false),
        new("gzip, then flip a byte", (l, r) => { var gz = Gzip(Text(l)); gz[10 + r.Next(gz.Length - 10)] ^= (byte)(1 << r.Next(8)); return gz; }, false, ".csv.gz"),
    ];

    private static byte[] Gzip(byte[] bytes)
    {
        using var buffer = new MemoryStream();
        using (var gz = new GZipStream(buffer, CompressionLevel.Fastest)) gz.Write(bytes);
        return buffer.ToArray();
    }

    private static List<DataSeed> DataSeeds() =>
    [
        new("events.csv", File.ReadAllLines(Path.Combine(Corpus, "events.csv")), new JsonObject { ["masses"] = new JsonArray(500, 1000, 1500) }),
        new("weighted.csv", File.ReadAllLines(Path.Combine(Corpus, "weighted.csv")), new JsonObject { ["columns"] = new JsonObject { ["weight"] = "w" } }),
        new("hepmass-tiny.csv", File.ReadAllLines(Path.Combine(Root, "tests", "Orchestrator.Tests", "Valid", "data", "hepmass-tiny.csv")), new JsonObject()),
    ];

    private string FuzzData(Random random, Stopwatch clock, List<string> failures)
    {
        var seeds = DataSeeds();
        foreach (var seed in seeds)
        {
            var (events, problems) = DataChecks.Load(Spec(Write(seed.Name, Text(seed.Lines)), seed), 1);
            Assert.True(events is not null && problems.Count == 0, $"corpus file {seed.Name} does not load cleanly: {string.Join("; ", problems)}");
        }
        int cases = 0, invalid = 0, rejected = 0;
        var slowest = TimeSpan.Zero;
        var dataBudget = clock.Elapsed + Budget;
        while (cases < MaxDataCases && clock.Elapsed < dataBudget && failures.Count < 10)
        {
            var seed = seeds[random.Next(seeds.Count)];
            var mutation = DataMutations[random.Next(DataMutations.Length)];
            var bytes = mutation.Apply(seed.Lines, random);
            if (bytes is null) continue;
            cases++;
            var path = Write($"case-{cases % 8}{mutation.Extension}", bytes);
            var spec = Spec(path, seed);
            var (result, error, elapsed, hung) = Timed(() => DataChecks.Load(spec, 1));
            slowest = elapsed > slowest ? elapsed : slowest;
            var context = $"'{mutation.Name}' of {seed.Name} (kept as {Keep(bytes, mutation, cases)})";
            if (hung) { failures.Add($"hang (> {CaseLimit.TotalSeconds} s): {context}"); continue; }
            if (error is not null) { failures.Add($"crash: {error.GetType().Name}: {error.Message}: {context}"); continue; }
            var errors = result.Problems.Where(p => p.Severity == DataSeverity.Error).ToList();
            if (result.Events is null || errors.Count > 0) rejected++;
            foreach (var p in result.Problems)
                if (p.Message.Contains('\n') || p.Message.Contains('\0') || p.Message.Length > 600)
                    failures.Add($"a message that is not one short line ({p.Message.Length} characters): {context}");
            if (mutation.Invalid)
            {
                invalid++;
                if (result.Events is not null && errors.Count == 0) failures.Add($"accepted although invalid by construction: {context}");
            }
        }
        return $"{cases} data cases ({invalid} invalid by construction; {rejected} rejected), slowest {slowest.TotalMilliseconds:F0} ms";
    }

    private static DataSpec Spec(string path, DataSeed seed)
    {
        var options = (JsonObject)seed.Options.DeepClone();
        options["path"] = path;
        return new DataSpec { Source = seed.Name.StartsWith("hepmass", StringComparison.Ordinal) ? "hepmass" : "csv", Options = options };
    }

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>A failing case is copied out of the temporary folder, so it can be added to the corpus.</summary>
    private static string Keep(byte[] bytes, DataMutation mutation, int n)
    {
        var path = Path.Combine(Path.GetTempPath(), $"studies-fuzz-case-{Seed}-{n}{mutation.Extension}");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // ---- through the program ------------------------------------------------------------------------------------

    /// <summary>A few mutants through the real `studies check` under the memory cap: exit 0, 2 or 3, never 70, no stack trace.</summary>
    [Fact]
    public async Task A_sample_of_mutants_through_studies_check_never_ends_in_an_internal_error()
    {
        var random = new Random(Seed + 1);
        var corpusStudy = File.ReadAllText(Path.Combine(Corpus, "csv-study.yaml"));
        File.Copy(Path.Combine(Corpus, "events.csv"), Path.Combine(dir, "events.csv"));
        var codes = new List<int>();
        for (var i = 0; i < 6; i++)
        {
            var mutation = StudyMutations[(i * 5 + random.Next(5)) % StudyMutations.Length];
            var mutated = mutation.Apply(corpusStudy, random);
            var text = mutated ?? corpusStudy;
            var path = Path.Combine(dir, $"p{i}.yaml");
            File.WriteAllText(path, text);
            var (result, elapsed) = await Child.RunTimedAsync(["check", path], TimeSpan.FromSeconds(60));
            log.WriteLine($"'{mutation.Name}': exit {result.ExitCode} in {elapsed.TotalSeconds:F1} s");
            Assert.True(result.ExitCode is 0 or 2 or 3, $"'{mutation.Name}': {result}");
            Assert.DoesNotContain("   at ", result.Stderr);
            if (mutated is not null && mutation.Violated is not null) Assert.True(result.ExitCode != 0, $"'{mutation.Name}' accepted: {result}");
            codes.Add(result.ExitCode);
        }
        // And a data mutant or two: a NUL in a cell, a gzip cut short.
        foreach (var (name, bytes) in new[] { ("events.csv", Text(File.ReadAllLines(Path.Combine(Corpus, "events.csv")).Select((l, i) => i == 7 ? l + "\0" : l))),
                     ("events.csv.gz", Gzip(File.ReadAllBytes(Path.Combine(Corpus, "events.csv")))[..200]) })
        {
            File.WriteAllBytes(Path.Combine(dir, name), bytes);
            var path = Path.Combine(dir, $"data-{name}.yaml");
            File.WriteAllText(path, corpusStudy.Replace("path: events.csv", $"path: {name}", StringComparison.Ordinal));
            var (result, _) = await Child.RunTimedAsync(["check", path], TimeSpan.FromSeconds(60));
            Assert.True(result.ExitCode == 3, result.ToString());
            Assert.Single(result.StderrLines);
        }
        Assert.Contains(2, codes);
    }
}
