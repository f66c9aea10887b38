namespace Studies.Trials.Data;

/// <summary>
/// A loaded data set as the trainer sees it: events in flat arrays (copied once to tensors), the
/// three splits as event indices, and the mass hypotheses split into trained and held-out.
/// </summary>
public sealed class TrialData
{
    public required int Count { get; init; }
    public required int FeatureCount { get; init; }
    /// <summary>Row-major [Count, FeatureCount].</summary>
    public required float[] Features { get; init; }
    public required bool[] IsSignal { get; init; }
    /// <summary>Generated mass of signal events; NaN for background (assigned by the trainer).</summary>
    public required double[] Mass { get; init; }
    public required int[] Process { get; init; }
    public required string[] ProcessNames { get; init; }
    /// <summary>Expected events per event for the full luminosity (already normalised for the split it sits in).</summary>
    public required double[] Weight { get; init; }
    /// <summary>The mass column as the file stored it (NaN where a background row has none); null for generated data. Read by <c>background_mass: stored</c>.</summary>
    public double[]? StoredMass { get; init; }
    /// <summary>The window variable (e.g. recoil mass squared), when the data set has one.</summary>
    public float[]? Window { get; init; }
    /// <summary>Per-process cross-sections in fb (for the Lovász loss); empty when the data set has none.</summary>
    public IReadOnlyDictionary<string, double> CrossSections { get; init; } = new Dictionary<string, double>();
    public double Luminosity { get; init; } = 1;
    /// <summary>
    /// Expected signal events at efficiency 1 (sigma_signal x L), turning an absolute efficiency eps
    /// into a yield for the significance metrics; for unweighted toys the generated events per mass.
    /// </summary>
    public double SignalYieldPerEfficiency { get; init; } = 1;

    public required long[] Train { get; init; }
    public required long[] Validation { get; init; }
    public required long[] Test { get; init; }

    public required double[] TrainedMasses { get; init; }
    public required double[] HeldoutMasses { get; init; }
    /// <summary>Generated signal events per mass (Punzi efficiency denominator), by mass.</summary>
    public required IReadOnlyDictionary<double, double> GeneratedPerMass { get; init; }
    /// <summary>The per-mass windows on <see cref="Window"/> (<see cref="Data.MassWindows"/>); null without a window variable.</summary>
    public Data.MassWindows? Windows { get; init; }
    /// <summary>Scores monotonic in the true likelihood ratio at mass m, when the densities are known.</summary>
    public Func<ReadOnlyMemory<long>, double, double[]>? OptimalScores { get; init; }

    /// <summary>The same data set with other feature values (e.g. standardised); everything else shared.</summary>
    public TrialData WithFeatures(float[] features)
    {
        if (features.Length != Features.Length) throw new ArgumentException($"expected {Features.Length} feature values, got {features.Length}");
        return new TrialData
        {
            Count = Count, FeatureCount = FeatureCount, Features = features, IsSignal = IsSignal, Mass = Mass, Process = Process,
            ProcessNames = ProcessNames, Weight = Weight, StoredMass = StoredMass, Window = Window, CrossSections = CrossSections, Luminosity = Luminosity,
            SignalYieldPerEfficiency = SignalYieldPerEfficiency, Train = Train, Validation = Validation, Test = Test,
            TrainedMasses = TrainedMasses, HeldoutMasses = HeldoutMasses, GeneratedPerMass = GeneratedPerMass, Windows = Windows,
            OptimalScores = OptimalScores,
        };
    }

    public IEnumerable<double> AllMasses => TrainedMasses.Concat(HeldoutMasses).OrderBy(m => m);

    /// <summary>Whether event i is signal of a held-out mass: such events never enter training or model selection.</summary>
    public bool IsHeldoutSignal(long i) => IsSignal[i] && HeldoutMasses.Any(m => SameMass(m, Mass[i]));

    /// <summary>Whether two masses are one hypothesis: the data layer's rule (<see cref="Data.MassGrid.Same"/>).</summary>
    public static bool SameMass(double a, double b) => Data.MassGrid.Same(a, b);

    private (double[] Grid, int[] Counts)? signalPerMass;

    /// <summary>Signal events of mass <paramref name="mass"/> in the whole data set, all splits (counted once, on first use).</summary>
    public int SignalCount(double mass)
    {
        if (signalPerMass is null)
        {
            var grid = AllMasses.ToArray();
            var counts = new int[grid.Length];
            for (var i = 0; i < Count; i++)
            {
                if (IsSignal[i] && Data.MassGrid.IndexOf(grid, Mass[i]) is var k and >= 0) counts[k]++;
            }
            signalPerMass = (grid, counts);
        }
        var (g, c) = signalPerMass.Value;
        var at = Data.MassGrid.IndexOf(g, mass);
        return at < 0 ? 0 : c[at];
    }

    /// <summary>N_gen of a mass (the Punzi efficiency denominator): as the data set states it, else the signal events it holds.</summary>
    public double GeneratedSignal(double mass) =>
        GeneratedPerMass.TryGetValue(mass, out var generated) && generated > 0 ? generated : Math.Max(1, SignalCount(mass));
}

/// <summary>Loads the data a spec names, reproducibly from the seed.</summary>
public interface ITrialDataProvider
{
    TrialData Load(Specs.DataSpec spec, ulong seed);
}
