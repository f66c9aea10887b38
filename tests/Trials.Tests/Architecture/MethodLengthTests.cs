using System.Runtime.CompilerServices;

namespace Studies.Trials.Tests.Architecture;

/// <summary>
/// No production method over 100 lines, none over 80 in <c>Trials/Training</c> (issue 22) nor in
/// <c>Trials/Runs</c> (the trial runner, which was part of Training until the namespace cycle was broken);
/// the benchmarks (<c>Orchestrator/Bench</c>, <c>*Benchmark.cs</c>) are exempt. The scanner is checked
/// on a sample whose lengths are counted by hand.
/// </summary>
public sealed class MethodLengthTests
{
    /// <summary>The folders of the training loop and the runner around it, held to 80 lines a method.</summary>
    private static readonly string[] TrainingFolders = ["Trials/Training/", "Trials/Runs/"];

    private const string Sample = """
        namespace N;

        /* a comment with { braces */
        public sealed record R(int A) : I
        {
            private readonly string _s = "}{";

            public R(int a, string b) : this(a)
            {
                var t = $"x{(a > 0 ? "}" : "{")}y{{";
                var u = @"c:\{";
            }

            // void NotAMethod() {
            [Fact]
            public static IEnumerable<T> Generic<T>(T x) where T : class
            {
                if (x is null)
                {
                    yield break;
                }
                foreach (var y in new[] { x }) { yield return y; }
                void Local(int k)
                {
                    var c = '{';
                }
                var f = xs.Select((p, i) =>
                {
                    return p;
                });
                var o = new Options(1) { A = 2 };
            }

            public int Expression(int a) =>
                a switch
                {
                    1 => 2,
                    _ => 3,
                };

            int I.Explicit() { return 1; }

            public int Property { get { return 1; } }

            public static R operator +(R a, R b) => a;

            private const string Raw = \"\"\"
                void Fake() {
                \"\"\";
        }
        """;

    [Fact]
    public void The_scanner_measures_methods_and_nothing_else_on_a_sample_counted_by_hand()
    {
        var methods = MethodScanner.Scan(Sample.Replace("\\\"", "\"", StringComparison.Ordinal)).Select(m => (m.Name, m.Lines)).ToList();
        Assert.Equal(
            [("R", 4), ("Generic", 16), ("Local", 3), ("Expression", 6), ("Explicit", 1), ("operator +", 1)],
            methods);
    }

    [Fact]
    public void No_production_method_is_over_100_lines_and_none_in_trials_training_over_80()
    {
        var root = RepositoryRoot();
        var tooLong = new List<string>();
        foreach (var folder in new[] { "Trials", "Orchestrator", "Reports" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(root, file).Replace('\\', '/');
                if (relative.Contains("/obj/", StringComparison.Ordinal) || relative.Contains("/bin/", StringComparison.Ordinal)) continue;
                if (relative.StartsWith("Orchestrator/Bench/", StringComparison.Ordinal) || relative.EndsWith("Benchmark.cs", StringComparison.Ordinal)) continue;
                var limit = TrainingFolders.Any(f => relative.StartsWith(f, StringComparison.Ordinal)) ? 80 : 100;
                foreach (var method in MethodScanner.Scan(File.ReadAllText(file)).Where(m => m.Lines > limit))
                    tooLong.Add($"{relative}:{method.Line} {method.Name}: {method.Lines} lines (limit {limit})");
            }
        }
        Assert.True(tooLong.Count == 0, string.Join("\n", tooLong));
    }

    private static string RepositoryRoot([CallerFilePath] string source = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", "..", ".."));
}
