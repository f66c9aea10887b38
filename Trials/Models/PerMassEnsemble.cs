using Studies.Trials.Engine;

namespace Studies.Trials.Models;

/// <summary>
/// One plain network per trained mass (the baseline parametric nets replace). An event is scored
/// by the net of the trained mass nearest to the mass it is evaluated at, so training routes each
/// event to one net and a held-out mass borrows its nearest neighbour's net.
/// </summary>
public sealed class PerMassEnsemble : ClassifierModel
{
    private readonly double[] scaledMasses;
    private readonly List<ConditionedMlp> nets = new();

    public PerMassEnsemble(IReadOnlyList<double> trainedScaledMasses, Func<int, ConditionedMlp> createNet)
    {
        if (trainedScaledMasses.Count == 0) throw new ArgumentException("a per-mass model needs at least one trained mass");
        scaledMasses = trainedScaledMasses.ToArray();
        for (var i = 0; i < scaledMasses.Length; i++) nets.Add(RegisterModule($"net{i}", createNet(i)));
    }

    public override bool UsesMass => true;

    public int NetCount => nets.Count;

    /// <summary>Index of the nearest trained mass (ties go to the lower mass).</summary>
    public int NearestNet(double scaledMass) => Nearest(scaledMasses, scaledMass);

    /// <summary>Index of the mass of <paramref name="masses"/> nearest to <paramref name="mass"/> (ties go to the first); the routing rule of every per-mass model.</summary>
    public static int Nearest(IReadOnlyList<double> masses, double mass)
    {
        var best = 0;
        for (var i = 1; i < masses.Count; i++)
        {
            if (Math.Abs(masses[i] - mass) < Math.Abs(masses[best] - mass)) best = i;
        }
        return best;
    }

    public override Tensor Logits(Tensor features, Tensor? scaledMass)
    {
        if (scaledMass is null) throw new ArgumentException("a per-mass model needs the mass of every event");
        var masses = scaledMass.Reshape(-1).To(ScalarType.Float64).ToArray<double>();
        var groups = new List<long>[nets.Count];
        for (var i = 0; i < groups.Length; i++) groups[i] = new List<long>();
        // Consecutive events usually share a mass; cache the last lookup.
        var lastMass = double.NaN;
        var lastNet = 0;
        for (var j = 0; j < masses.Length; j++)
        {
            if (masses[j] != lastMass)
            {
                lastMass = masses[j];
                lastNet = NearestNet(lastMass);
            }
            groups[lastNet].Add(j);
        }
        var result = Torch.Zeros([masses.Length, 1], features.DType, features.Device);
        for (var i = 0; i < nets.Count; i++)
        {
            if (groups[i].Count == 0) continue;
            var index = Torch.Tensor(groups[i].ToArray(), device: features.Device);
            var scores = nets[i].Logits(features.IndexSelect(0, index), null);
            result = result.IndexAdd(0, index, scores);
        }
        return result;
    }
}
