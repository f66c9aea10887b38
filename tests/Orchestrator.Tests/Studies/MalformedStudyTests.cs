using System.Text.RegularExpressions;

namespace Studies.Orchestrator.Tests.Studies;

/// <summary>
/// Each file under Malformed/ is a study with a known mistake. Its first line says where the
/// error must be reported and a fragment of the message: <c># expect: 7:5: unknown key ...</c>;
/// further <c># expect:</c> lines right below it name further errors the same load must report.
/// </summary>
public sealed partial class MalformedStudyTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Malformed");

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Folder, "*.yaml").Order(StringComparer.Ordinal)) data.Add(Path.GetFileName(file));
        return data;
    }

    [Fact]
    public void The_corpus_holds_at_least_thirty_files() => Assert.True(Files().Count >= 30, $"only {Files().Count} malformed files");

    [Theory]
    [MemberData(nameof(Files))]
    public void Reports_the_expected_error_at_the_expected_place(string name)
    {
        var path = Path.Combine(Folder, name);
        var expectations = File.ReadLines(path).TakeWhile(l => l.StartsWith("# expect:", StringComparison.Ordinal))
            .Select(l => ExpectLine().Match(l)).ToList();
        Assert.NotEmpty(expectations);
        Assert.All(expectations, m => Assert.True(m.Success, $"{name}: malformed '# expect: line:column: fragment' line"));

        var error = Assert.Throws<StudyValidationException>(() => StudyLoader.Load(path));
        var report = string.Join("\n", error.Errors);
        foreach (var expectation in expectations)
        {
            var (line, column, fragment) = (int.Parse(expectation.Groups[1].Value), int.Parse(expectation.Groups[2].Value), expectation.Groups[3].Value);
            Assert.True(error.Errors.Any(e => e.Line == line && e.Column == column && e.Message.Contains(fragment, StringComparison.Ordinal)),
                $"{name}: expected '{line}:{column}: {fragment}', got:\n{report}");
        }
        Assert.All(error.Errors, e => Assert.StartsWith(path, e.ToString(), StringComparison.Ordinal));
    }

    [GeneratedRegex(@"^# expect: (\d+):(\d+): (.+)$")]
    private static partial Regex ExpectLine();
}
