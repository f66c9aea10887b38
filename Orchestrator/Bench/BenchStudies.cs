namespace Studies.Orchestrator.Bench;

/// <summary>Study pieces the benchmarks share.</summary>
internal static class BenchStudies
{
    /// <summary>The quickstart's data section: benchmarks train on what a new user runs first.</summary>
    public const string QuickstartData = """
        data:
          source: recoil-toy
          options:
            masses: {from: 0.5, to: 8.5, step: 1}
            signal_per_mass: 4000
            background_events: 40000
          holdout: every-second
          split: {train: 0.4, validation: 0.2, test: 0.4}
        """;
}
