namespace Studies.Trials.Data;

/// <summary>Draws one signal event at a mass hypothesis into its feature row.</summary>
public delegate void SignalDraw(ref Rng rng, double mass, Span<float> features);

/// <summary>Draws one background event into its feature row.</summary>
public delegate void BackgroundDraw(ref Rng rng, Span<float> features);

/// <summary>
/// The layout shared by the toys with one signal resonance per mass over one background process (gaussian-toy,
/// hepmass-toy): <c>perMass</c> unit-weight signal events at each mass, each mass from its own generator stream, then
/// <c>background</c> unit-weight background events (no mass) from one stream. Only the draws differ between toys.
/// </summary>
public static class ResonanceToy
{
    /// <param name="name">The toy's name; the generator streams are labelled <c>NAME/signal</c> and <c>NAME/background</c>.</param>
    public static EventSet Generate(string name, IReadOnlyList<string> featureNames, double[] masses, int perMass, int background,
        ulong seed, SignalDraw signal, BackgroundDraw drawBackground)
    {
        int d = featureNames.Count, n = perMass * masses.Length + background;
        var features = new float[n * d];
        var label = new byte[n];
        var mass = new double[n];
        var massIndex = new int[n];
        var process = new int[n];
        int i = 0;
        for (int k = 0; k < masses.Length; k++)
        {
            var rng = new Rng(seed, Rng.Label(name + "/signal"), (ulong)k);
            for (int e = 0; e < perMass; e++, i++)
            {
                signal(ref rng, masses[k], features.AsSpan(i * d, d));
                label[i] = 1; mass[i] = masses[k]; massIndex[i] = k; process[i] = 0;
            }
        }
        var bkg = new Rng(seed, Rng.Label(name + "/background"));
        for (int e = 0; e < background; e++, i++)
        {
            drawBackground(ref bkg, features.AsSpan(i * d, d));
            mass[i] = double.NaN; massIndex[i] = -1; process[i] = 1;
        }
        var set = new EventSet
        {
            Count = n, FeatureNames = featureNames, Features = features, Label = label, Mass = mass, MassIndex = massIndex,
            Process = process, ProcessNames = ["signal", "background"], Weight = Enumerable.Repeat(1.0, n).ToArray(),
            Masses = masses, GeneratedSignal = Enumerable.Repeat((double)perMass, masses.Length).ToArray(),
        };
        set.Validate();
        return set;
    }
}
