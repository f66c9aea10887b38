using Studies.Trials.Engine;

namespace Studies.Trials.Losses;

/// <summary>One physics process of the Lovász Z loss: its cross-section (fb) and whether it is signal.</summary>
public sealed record LovaszProcess(string Name, double CrossSection, bool IsSignal);

/// <summary>
/// Settings of the Lovász Z loss (methods section 3).
/// </summary>
/// <param name="Processes">Every process an event can belong to, indexed as the events' process index.</param>
/// <param name="Luminosity">L in fb^-1 (3000 for the lovasz-toy).</param>
/// <param name="Epsilon">The regulator eps under the square root; null means sum of signal cross-sections x L,
/// the default that the formula was written with (any value gives Delta(empty) = 0).</param>
public sealed record LovaszZParameters(IReadOnlyList<LovaszProcess> Processes, double Luminosity = 3000, double? Epsilon = null)
{
    public int ProcessCount => Processes.Count;

    /// <summary>eps actually used.</summary>
    public double EffectiveEpsilon => Epsilon ?? Processes.Where(p => p.IsSignal).Sum(p => p.CrossSection) * Luminosity;

    public LovaszZParameters Validate()
    {
        ArgumentNullException.ThrowIfNull(Processes);
        if (Processes.Count == 0) throw new ArgumentException("Lovász Z loss: no process given", nameof(Processes));
        for (var i = 0; i < Processes.Count; i++)
        {
            var p = Processes[i] ?? throw new ArgumentException($"Lovász Z loss: process {i} is null", nameof(Processes));
            if (!(p.CrossSection >= 0) || double.IsInfinity(p.CrossSection))
                throw new ArgumentException($"Lovász Z loss: process {i} ({p.Name}) has cross-section {p.CrossSection}; it must be finite and not negative", nameof(Processes));
        }
        if (!Processes.Any(p => p.IsSignal)) throw new ArgumentException("Lovász Z loss: no process is flagged as signal", nameof(Processes));
        if (!(Luminosity > 0) || double.IsInfinity(Luminosity))
            throw new ArgumentOutOfRangeException(nameof(Luminosity), Luminosity, "Lovász Z loss: luminosity must be positive and finite");
        if (!(EffectiveEpsilon > 0) || double.IsInfinity(EffectiveEpsilon))
            throw new ArgumentOutOfRangeException(nameof(Epsilon), EffectiveEpsilon, "Lovász Z loss: eps must be positive and finite");
        return this;
    }
}

/// <summary>
/// The Lovász Z loss of methods section 3: the Lovász extension of the per-process set function
/// <c>Delta_Z(mistakes) = sum_S σ_i L / √eps - [sum_S (1 - n_i/ν_i) σ_i L] / √(eps + sum_B (p_i/ν_i) σ_i L)</c>
/// evaluated at the hinge errors <c>e_j = max(0, 1 - F_j y'_j)</c>.
/// </summary>
/// <remarks>
/// <para>Vectorised: errors are sorted once (O(n log n)); the per-process counts of every prefix of the
/// sorted list are the cumulative sum of a [n, P] one-hot matrix, so all Delta(first k) come from
/// two [n, P] x [P] products (O(n P)), with no loop over events. The increments
/// <c>g_k = Delta(k) - Delta(k-1)</c> are computed without gradient in double precision (they are
/// differences of nearby values of order sum_S σ L / √eps) and enter as constants, so the
/// sub-gradient is <c>-y'_j g_rank(j)</c> where e_j &gt; 0, as specified.</para>
/// <para>n_i counts mistaken events of signal process i (false negatives), p_i mistaken events of
/// background process i (false positives); ν_i counts events of process i in the batch. A process
/// absent from the batch has n_i = p_i = 0 and its ratio is taken as 0.</para>
/// </remarks>
public static class LovaszZLoss
{
    /// <summary>
    /// The loss of a batch, a differentiable scalar.
    /// </summary>
    /// <param name="scores">Raw (pre-sigmoid) scores F, shape [n] or [n, 1], Float32 or Float64.</param>
    /// <param name="labels">1 signal, 0 background (any numeric or Bool type), n elements; must agree with the process flags.</param>
    /// <param name="process">Int64 process index per event, n elements, into <see cref="LovaszZParameters.Processes"/>.</param>
    public static Tensor Compute(Tensor scores, Tensor labels, Tensor process, LovaszZParameters parameters)
    {
        var p = parameters.Validate();
        var n = scores.NumEl;
        if (labels.NumEl != n) throw new ArgumentException($"Lovász Z loss: labels hold {labels.NumEl} elements but scores hold {n}", nameof(labels));
        var signedLabels = SignedLabels(labels.Reshape(-1), process, p, n, scores.DType);
        var errors = (1.0 - scores.Reshape(-1) * signedLabels).Relu();
        return Extension(errors, process, p);
    }

    /// <summary>
    /// The Lovász extension of Delta_Z at the error vector <paramref name="errors"/>: sort decreasing,
    /// <c>sum_k e_(k) (Delta(first k) - Delta(first k-1))</c>, the increments held constant.
    /// At a 0/1 vector it equals Delta_Z of the set of ones.
    /// </summary>
    public static Tensor Extension(Tensor errors, Tensor process, LovaszZParameters parameters)
    {
        var p = parameters.Validate();
        var e = errors.Reshape(-1);
        var n = e.NumEl;
        CheckProcess(process, n, p.ProcessCount);
        if (n == 0) return e.Sum();

        Tensor increments, order;
        using (Torch.NoGrad())
        {
            using var scope = TensorScope.Begin();
            order = e.Detach().Argsort(descending: true);
            var sortedProcess = process.Reshape(-1).IndexSelect(0, order);
            var oneHot = sortedProcess.Unsqueeze(1).Eq(Torch.Arange(p.ProcessCount, process.Device).Unsqueeze(0)).To(ScalarType.Float64);
            var counts = oneHot.Cumsum(0);                         // [n, P]: events of each process among the first k
            var perProcess = oneHot.Sum(0).ClampMin(1);              // ν_i (absent processes: ratio 0, not 0/0)
            var fractions = counts / perProcess.Unsqueeze(0);        // n_i/ν_i or p_i/ν_i

            var signalYield = p.Processes.Select(q => q.IsSignal ? q.CrossSection * p.Luminosity : 0).ToArray();
            var backgroundYield = p.Processes.Select(q => q.IsSignal ? 0 : q.CrossSection * p.Luminosity).ToArray();
            var eps = p.EffectiveEpsilon;
            var totalSignal = signalYield.Sum();
            var lostSignal = fractions.Matmul(Torch.Tensor(signalYield, process.Device));       // sum_S (n_i/ν_i) σ_i L
            var keptBackground = fractions.Matmul(Torch.Tensor(backgroundYield, process.Device)); // sum_B (p_i/ν_i) σ_i L
            var delta = totalSignal / Math.Sqrt(eps) - (totalSignal - lostSignal) / (keptBackground + eps).Sqrt();
            var previous = Torch.Cat([Torch.Zeros([1], ScalarType.Float64, process.Device), delta.Narrow(0, 0, n - 1)]);
            increments = scope.MoveToOuter((delta - previous).To(e.DType));
            scope.MoveToOuter(order);
        }
        return (e.IndexSelect(0, order) * increments).Sum();
    }

    private static void CheckProcess(Tensor process, long n, int processCount)
    {
        if (process.DType != ScalarType.Int64) throw new ArgumentException($"Lovász Z loss: process index must be Int64, not {process.DType}", nameof(process));
        if (process.NumEl != n) throw new ArgumentException($"Lovász Z loss: process index holds {process.NumEl} elements but the batch has {n}", nameof(process));
        if (n == 0) return;
        using var scope = TensorScope.Begin();
        var low = (long)process.Min().Item();
        var high = (long)process.Max().Item();
        if (low < 0 || high >= processCount)
            throw new ArgumentException($"Lovász Z loss: process index ranges over {low}..{high}, outside 0..{processCount - 1}", nameof(process));
    }

    /// <summary>y' = ±1 from the labels, checked against the processes' signal flags.</summary>
    private static Tensor SignedLabels(Tensor labels, Tensor process, LovaszZParameters p, long n, ScalarType dtype)
    {
        CheckProcess(process, n, p.ProcessCount);
        using (Torch.NoGrad())
        {
            using var scope = TensorScope.Begin();
            var isSignal = labels.To(ScalarType.Float64).Gt(0.5);
            var flags = Torch.Tensor(p.Processes.Select(q => q.IsSignal).ToArray(), process.Device);
            var expected = flags.IndexSelect(0, process.Reshape(-1));
            var disagreements = (long)isSignal.Ne(expected).To(ScalarType.Int64).Sum().Item();
            if (disagreements > 0)
                throw new ArgumentException($"Lovász Z loss: {disagreements} events have a label that disagrees with their process's signal flag", nameof(labels));
            return scope.MoveToOuter((isSignal.To(dtype) * 2.0 - 1.0).Detach());
        }
    }
}
