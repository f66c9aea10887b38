namespace Studies.Trials.Data;

/// <summary>
/// Events as parallel arrays (methods.md section 1): one row per event, features row-major.
/// Struct-of-arrays keeps millions of events in a handful of allocations and lets the model layer
/// copy whole columns into tensors. Arrays are exposed directly (not copied) because the model
/// layer writes background masses into <see cref="Mass"/>; treat everything else as read-only.
/// </summary>
public sealed class EventSet
{
    /// <summary>Number of events.</summary>
    public required int Count { get; init; }

    /// <summary>Rows of the file left out on purpose, one line per kind with its count (e.g. signal at masses not listed): <c>studies check</c> prints them.</summary>
    public IReadOnlyList<string> Dropped { get; init; } = [];

    public int FeatureCount => FeatureNames.Count;

    public required IReadOnlyList<string> FeatureNames { get; init; }

    /// <summary>Row-major <c>Count x FeatureCount</c>.</summary>
    public required float[] Features { get; init; }

    /// <summary>1 signal, 0 background.</summary>
    public required byte[] Label { get; init; }

    /// <summary>Signal: the generated mass (exactly a value of <see cref="Masses"/>). Background: NaN until the model layer assigns one.</summary>
    public required double[] Mass { get; init; }

    /// <summary>Index into <see cref="Masses"/> of a signal event's generated mass; -1 for background.</summary>
    public required int[] MassIndex { get; init; }

    /// <summary>Index into <see cref="ProcessNames"/>; process 0 is <c>signal</c> (see <see cref="SignalProcess"/>).</summary>
    public required int[] Process { get; init; }

    /// <summary>Process names; the processes holding signal events come first, so process 0 is signal.</summary>
    public required IReadOnlyList<string> ProcessNames { get; init; }

    /// <summary>Expected events per stored event (cross-section x luminosity / N_generated), or 1.</summary>
    public required double[] Weight { get; init; }

    /// <summary>The window variable v (e.g. recoil mass squared), or null when the data have none.</summary>
    public float[]? Window { get; init; }

    /// <summary>How per-mass windows are cut on <see cref="Window"/>; null exactly when <see cref="Window"/> is.</summary>
    public WindowModel? Windows { get; init; }

    /// <summary>The mass hypotheses, sorted ascending.</summary>
    public required double[] Masses { get; init; }

    /// <summary>Per mass (parallel to <see cref="Masses"/>): the number of generated signal events, the N_gen of the Punzi efficiency.</summary>
    public required double[] GeneratedSignal { get; init; }

    /// <summary>Cross-section per process name (fb), when the source knows them; signal included when known.</summary>
    public IReadOnlyDictionary<string, double>? CrossSections { get; init; }

    /// <summary>Integrated luminosity (fb^-1) the weights are normalised to, when they are yields.</summary>
    public double? Luminosity { get; init; }

    /// <summary>
    /// The mass column exactly as a file stored it (HEPMASS background rows carry a random mass),
    /// or null for generated data. Kept apart from <see cref="Mass"/> because section 4 leaves
    /// background masses to the model layer, which may or may not reuse these.
    /// </summary>
    public double[]? StoredMass { get; init; }

    /// <summary>Process id of signal events (always 0 by the ordering rule of <see cref="ProcessNames"/>).</summary>
    public const int SignalProcess = 0;

    public ReadOnlySpan<float> Row(int i) => Features.AsSpan(i * FeatureCount, FeatureCount);

    public int SignalCount => Label.Count(l => l == 1);

    /// <summary>Index of <paramref name="mass"/> in <see cref="Masses"/>, matched within <see cref="MassGrid.Tolerance"/>; -1 when absent.</summary>
    public int IndexOfMass(double mass) => MassGrid.IndexOf(Masses, mass);

    /// <summary>The events at <paramref name="indices"/> (in that order), with every per-event array copied.</summary>
    /// <param name="generatedSignal">N_gen per mass for the subset; default: unchanged.</param>
    /// <param name="weightScale">Optional per-event factor applied to the copied weights.</param>
    public EventSet Subset(ReadOnlySpan<int> indices, double[]? generatedSignal = null, Func<int, double>? weightScale = null)
    {
        int n = indices.Length, d = FeatureCount;
        var features = new float[(long)n * d];
        var label = new byte[n];
        var mass = new double[n];
        var massIndex = new int[n];
        var process = new int[n];
        var weight = new double[n];
        var window = Window is null ? null : new float[n];
        var stored = StoredMass is null ? null : new double[n];
        for (int k = 0; k < n; k++)
        {
            int i = indices[k];
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"event index {i} is outside 0..{Count - 1}");
            Features.AsSpan(i * d, d).CopyTo(features.AsSpan(k * d, d));
            label[k] = Label[i];
            mass[k] = Mass[i];
            massIndex[k] = MassIndex[i];
            process[k] = Process[i];
            weight[k] = weightScale is null ? Weight[i] : Weight[i] * weightScale(i);
            if (window is not null) window[k] = Window![i];
            if (stored is not null) stored[k] = StoredMass![i];
        }
        var subset = new EventSet
        {
            Count = n, FeatureNames = FeatureNames, Features = features, Label = label, Mass = mass,
            MassIndex = massIndex, Process = process, ProcessNames = ProcessNames, Weight = weight,
            Window = window, Windows = Windows, Masses = Masses,
            GeneratedSignal = generatedSignal ?? (double[])GeneratedSignal.Clone(), StoredMass = stored,
            CrossSections = CrossSections, Luminosity = Luminosity,
        };
        subset.Validate();
        return subset;
    }

    /// <summary>Indices of the events for which <paramref name="keep"/> holds, ascending.</summary>
    public int[] Where(Func<int, bool> keep)
    {
        var list = new List<int>();
        for (int i = 0; i < Count; i++) if (keep(i)) list.Add(i);
        return [.. list];
    }

    /// <summary>Total weight of each process (the expected yield when weights are per-luminosity).</summary>
    public double[] YieldPerProcess()
    {
        var yields = new double[ProcessNames.Count];
        for (int i = 0; i < Count; i++) yields[Process[i]] += Weight[i];
        return yields;
    }

    /// <summary>Checks that every array has the length <see cref="Count"/> implies; sources call it on what they build.</summary>
    public void Validate()
    {
        void Expect(string name, long actual, long expected)
        {
            if (actual != expected) throw new InvalidOperationException($"EventSet.{name} has length {actual}, expected {expected}");
        }
        Expect(nameof(Features), Features.LongLength, (long)Count * FeatureCount);
        Expect(nameof(Label), Label.Length, Count);
        Expect(nameof(Mass), Mass.Length, Count);
        Expect(nameof(MassIndex), MassIndex.Length, Count);
        Expect(nameof(Process), Process.Length, Count);
        Expect(nameof(Weight), Weight.Length, Count);
        if (Window is not null) Expect(nameof(Window), Window.Length, Count);
        if (StoredMass is not null) Expect(nameof(StoredMass), StoredMass.Length, Count);
        Expect(nameof(GeneratedSignal), GeneratedSignal.Length, Masses.Length);
        if ((Window is null) != (Windows is null))
            throw new InvalidOperationException("EventSet.Window and EventSet.Windows must be given together");
        if (Windows is not null)
        {
            Expect("Windows.Center", Windows.Center.Length, Masses.Length);
            Expect("Windows.Width", Windows.Width.Length, Masses.Length);
        }
        for (int k = 1; k < Masses.Length; k++)
            if (!(Masses[k] > Masses[k - 1])) throw new InvalidOperationException("EventSet.Masses must be strictly ascending");
        if (ProcessNames.Count == 0) throw new InvalidOperationException("EventSet.ProcessNames is empty");
    }
}

/// <summary>
/// Per-mass signal windows on the window variable, stored per mass of the grid: window i holds the
/// events with <c>|v - Center[i]| &lt; nSigma * Width[i]</c> (<see cref="MassWindows"/>, the one
/// place that test is made). For the recoil toy Center is m^2 and Width the resolution width(m);
/// n_sigma belongs to the loss and the metrics, not the data.
/// </summary>
public sealed record WindowModel(string Variable, double[] Center, double[] Width);
