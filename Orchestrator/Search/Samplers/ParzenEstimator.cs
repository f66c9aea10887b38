using MathNet.Numerics;

namespace Studies.Orchestrator.Search.Samplers;

/// <summary>
/// A weighted mixture of one kernel per observation plus a wide prior kernel, over one or several
/// dimensions (the "l(x)" or "g(x)" of TPE). Numbers are modelled on their search scale (log for a
/// log dimension), ints on their rounding cells, choices by a categorical kernel. The bandwidths,
/// weights, prior and clipping follow Optuna 3.1's `_ParzenEstimator` (the version Debian ships and
/// the benchmark compares against): neighbour distances for one dimension, Scott-like
/// 0.2 n^(-1/(d+4)) (high - low) for several, the prior N((low+high)/2, high-low) with weight 1,
/// sigmas clipped to [(high-low)/min(100, n+2), high-low], and observation weights that ramp down
/// for the oldest trials beyond the newest 25.
/// </summary>
internal sealed class ParzenEstimator
{
    private const double PriorWeight = 1.0;
    private readonly double[] logWeights;
    private readonly IReadOnlyList<IKernels> kernels;
    private readonly IReadOnlyList<SearchDimension> dimensions;

    /// <param name="observations">Points in trial-number order (oldest first); each holds every dimension.</param>
    public ParzenEstimator(IReadOnlyList<SearchDimension> dimensions, IReadOnlyList<IReadOnlyDictionary<string, double>> observations, bool multivariate)
    {
        this.dimensions = dimensions;
        var n = observations.Count;
        var weights = ObservationWeights(n).Append(PriorWeight).ToArray();
        var total = weights.Sum();
        logWeights = weights.Select(w => Math.Log(w / total)).ToArray();
        kernels = dimensions.Select(d => d.Kind == DimensionKind.Categorical
            ? (IKernels)new CategoricalKernels(d, observations.Select(o => (int)o[d.Name]).ToArray())
            : new NumericKernels(d, observations.Select(o => o[d.Name]).ToArray(), multivariate ? dimensions.Count : 0)).ToList();
    }

    /// <summary>Optuna's default_weights: equal for up to 25, else a ramp from 1/n for the oldest with the newest 25 at 1.</summary>
    public static double[] ObservationWeights(int n)
    {
        if (n < 25) return Enumerable.Repeat(1.0, n).ToArray();
        var ramp = n - 25;
        var w = new double[n];
        for (var i = 0; i < ramp; i++) w[i] = ramp == 1 ? 1.0 / n : 1.0 / n + i * (1.0 - 1.0 / n) / (ramp - 1);
        for (var i = ramp; i < n; i++) w[i] = 1;
        return w;
    }

    public IReadOnlyDictionary<string, double> Sample(Random random)
    {
        var component = Component(random);
        var point = new Dictionary<string, double>(dimensions.Count);
        for (var d = 0; d < dimensions.Count; d++) point[dimensions[d].Name] = kernels[d].Sample(component, random);
        return point;
    }

    /// <summary>log of the mixture's density (mass, for ints and choices) at <paramref name="point"/>.</summary>
    public double LogDensity(IReadOnlyDictionary<string, double> point)
    {
        var terms = new double[logWeights.Length];
        for (var i = 0; i < terms.Length; i++)
        {
            var t = logWeights[i];
            for (var d = 0; d < dimensions.Count; d++) t += kernels[d].LogDensity(i, point[dimensions[d].Name]);
            terms[i] = t;
        }
        var max = terms.Max();
        if (double.IsNegativeInfinity(max)) return max;
        return max + Math.Log(terms.Sum(t => Math.Exp(t - max)));
    }

    private int Component(Random random)
    {
        var u = random.NextDouble();
        var cumulative = 0.0;
        for (var i = 0; i < logWeights.Length; i++)
        {
            cumulative += Math.Exp(logWeights[i]);
            if (u < cumulative) return i;
        }
        return logWeights.Length - 1;
    }

    private interface IKernels
    {
        double Sample(int component, Random random);

        double LogDensity(int component, double value);
    }

    /// <summary>Truncated normals on the search scale; the last component is the prior.</summary>
    private sealed class NumericKernels : IKernels
    {
        private readonly SearchDimension dimension;
        private readonly double low;
        private readonly double high;
        private readonly double[] mu;
        private readonly double[] sigma;
        private readonly double[] logMass;

        /// <param name="jointDimensions">0 for one dimension alone (neighbour bandwidths), else the number of jointly modelled dimensions.</param>
        public NumericKernels(SearchDimension dimension, double[] values, int jointDimensions)
        {
            this.dimension = dimension;
            var cell = dimension.Kind == DimensionKind.Int ? 0.5 : 0;
            low = Scale(dimension.Low - cell);
            high = Scale(dimension.High + cell);
            var mus = values.Select(Scale).ToArray();
            var range = high - low;
            var sigmas = jointDimensions > 0
                ? Enumerable.Repeat(0.2 * Math.Pow(Math.Max(mus.Length, 1), -1.0 / (jointDimensions + 4)) * range, mus.Length).ToArray()
                : NeighbourSigmas(mus, 0.5 * (low + high));
            var minSigma = range / Math.Min(100.0, 1.0 + mus.Length + 1);
            mu = [.. mus, 0.5 * (low + high)];
            sigma = [.. sigmas.Select(s => Math.Clamp(s, minSigma, range)), range];
            logMass = mu.Select((m, i) => LogNormalMass((low - m) / sigma[i], (high - m) / sigma[i])).ToArray();
        }

        private double Scale(double v) => dimension.Log ? Math.Log(v) : v;

        /// <summary>Each observation's larger distance to its sorted neighbours (the prior's centre among them; the outermost use their inner neighbour).</summary>
        private double[] NeighbourSigmas(double[] mus, double priorMu)
        {
            var withPrior = mus.Append(priorMu).ToArray();
            var order = Enumerable.Range(0, withPrior.Length).OrderBy(i => withPrior[i]).ToArray();
            var sorted = order.Select(i => withPrior[i]).ToArray();
            var ends = new double[sorted.Length + 2];
            ends[0] = low;
            sorted.CopyTo(ends, 1);
            ends[^1] = high;
            var sortedSigma = new double[sorted.Length];
            for (var i = 0; i < sorted.Length; i++) sortedSigma[i] = Math.Max(ends[i + 1] - ends[i], ends[i + 2] - ends[i + 1]);
            if (ends.Length >= 4)
            {
                sortedSigma[0] = ends[2] - ends[1];
                sortedSigma[^1] = ends[^2] - ends[^3];
            }
            var sigmas = new double[withPrior.Length];
            for (var i = 0; i < order.Length; i++) sigmas[order[i]] = sortedSigma[i];
            return sigmas[..mus.Length];
        }

        public double Sample(int component, Random random)
        {
            var z = TruncatedStandardNormal((low - mu[component]) / sigma[component], (high - mu[component]) / sigma[component], random);
            var v = Math.Clamp(mu[component] + sigma[component] * z, low, high);
            if (dimension.Log) v = Math.Exp(v);
            return dimension.Kind == DimensionKind.Int ? Math.Clamp(Math.Round(v), dimension.Low, dimension.High) : Math.Clamp(v, dimension.Low, dimension.High);
        }

        public double LogDensity(int component, double value)
        {
            var m = mu[component];
            var s = sigma[component];
            if (dimension.Kind == DimensionKind.Int)
                return LogNormalMass((Scale(value - 0.5) - m) / s, (Scale(value + 0.5) - m) / s) - logMass[component];
            var z = (Scale(value) - m) / s;
            return -0.5 * z * z - 0.5 * Math.Log(2 * Math.PI) - Math.Log(s) - logMass[component];
        }
    }

    /// <summary>One categorical distribution per observation: its own choice plus prior/n spread over all choices; the prior is uniform.</summary>
    private sealed class CategoricalKernels : IKernels
    {
        private readonly double[][] logP;

        public CategoricalKernels(SearchDimension dimension, int[] chosen)
        {
            var k = dimension.Choices;
            var n = chosen.Length + 1;
            logP = new double[n][];
            for (var i = 0; i < n; i++)
            {
                var p = Enumerable.Repeat(PriorWeight / n, k).ToArray();
                if (i < chosen.Length) p[chosen[i]] += 1;
                var sum = p.Sum();
                logP[i] = p.Select(x => Math.Log(x / sum)).ToArray();
            }
        }

        public double Sample(int component, Random random)
        {
            var u = random.NextDouble();
            var cumulative = 0.0;
            var p = logP[component];
            for (var c = 0; c < p.Length; c++)
            {
                cumulative += Math.Exp(p[c]);
                if (u < cumulative) return c;
            }
            return p.Length - 1;
        }

        public double LogDensity(int component, double value) => logP[component][(int)value];
    }

    /// <summary>log(Phi(b) - Phi(a)), computed in the tail where it is accurate.</summary>
    internal static double LogNormalMass(double a, double b)
    {
        var mass = a > 0
            ? 0.5 * (SpecialFunctions.Erfc(a / Math.Sqrt(2)) - SpecialFunctions.Erfc(b / Math.Sqrt(2)))
            : 0.5 * (SpecialFunctions.Erfc(-b / Math.Sqrt(2)) - SpecialFunctions.Erfc(-a / Math.Sqrt(2)));
        return Math.Log(Math.Max(mass, 1e-300));
    }

    /// <summary>A standard normal draw conditioned on [a, b], by inverting the CDF on the side of the smaller tail.</summary>
    internal static double TruncatedStandardNormal(double a, double b, Random random)
    {
        if (a > 0) return -TruncatedStandardNormal(-b, -a, random);
        var pa = 0.5 * SpecialFunctions.Erfc(-a / Math.Sqrt(2));
        var pb = 0.5 * SpecialFunctions.Erfc(-b / Math.Sqrt(2));
        var p = pa + random.NextDouble() * (pb - pa);
        p = Math.Clamp(p, 1e-300, 1 - 1e-16);
        var z = -Math.Sqrt(2) * SpecialFunctions.ErfcInv(2 * p);
        return Math.Clamp(z, a, b);
    }
}
