using Studies.Orchestrator.Studies;

namespace Studies.Orchestrator.Tests.Studies;

/// <summary>The dry run names the held-out masses of every value of a holdout axis, not one count for all.</summary>
public sealed class DryRunHoldoutTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dryrun-holdout-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_holdout_axis_lists_its_held_out_masses_per_value()
    {
        var path = Path.Combine(_dir, "holdouts.yaml");
        File.WriteAllText(path, """
            study: holdouts
            data:
              source: gaussian-toy
              options: {masses: [500, 750, 1000, 1250, 1500], events_per_mass: 1000}
            base:
              model: {kind: pnn, hidden: [4]}
              schedule:
                - {loss: bce, epochs: 1}
            matrix:
              data.holdout: [every-second, [1000], none]
              model.kind: [pnn]
              seed: [1, 2]
            report: {compare: [model.kind]}
            """);
        var (_, _, lines) = DryRunFairnessTests.Render(path);
        var output = string.Join('\n', lines);

        Assert.Contains("data: gaussian-toy, 5 masses, held-out set varies between trials (below), split 0.6/0.2/0.2", lines);
        int header = lines.IndexOf("held-out masses per data.holdout value:");
        Assert.True(header >= 0, output);
        Assert.Matches(@"^  every-second\s+750, 1250 \(2 trials\)$", lines[header + 1]);
        Assert.Matches(@"^  \[1000\]\s+1000 \(2 trials\)$", lines[header + 2]);
        Assert.Matches(@"^  none\s+none \(2 trials\)$", lines[header + 3]);
    }
}
