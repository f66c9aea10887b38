namespace Studies.Trials.Data;

/// <summary>
/// The normalised 1-D densities the analytic toys are built from, as log densities (-infinity
/// outside the support), with samplers drawing from exactly these densities. Normalisations are
/// closed forms (no numerical integration), so a product of them is an exact density and the
/// likelihood ratio built from it is the exact Bayes-optimal discriminant.
/// </summary>
public static class Densities
{
    private static readonly double LogSqrt2Pi = 0.5 * Math.Log(2 * Math.PI);

    /// <summary>Gamma with integer shape k and scale theta on (0, inf).</summary>
    public static double LogGamma(double x, int k, double theta)
    {
        if (!(x > 0)) return k == 1 && x == 0 ? -Math.Log(theta) : double.NegativeInfinity;
        return (k - 1) * Math.Log(x) - x / theta - k * Math.Log(theta) - LogFactorial(k - 1);
    }

    public static double SampleGamma(ref Rng rng, int k, double theta) => theta * rng.GammaInt(k);

    /// <summary>Beta with integer shapes (a, b) on [0, 1].</summary>
    public static double LogBeta(double x, int a, int b)
    {
        if (x < 0 || x > 1) return double.NegativeInfinity;
        // log B(a, b) = log((a-1)! (b-1)! / (a+b-1)!).
        double logNorm = LogFactorial(a - 1) + LogFactorial(b - 1) - LogFactorial(a + b - 1);
        double result = -logNorm;
        if (a != 1) result += (a - 1) * Math.Log(x);
        if (b != 1) result += (b - 1) * Math.Log(1 - x);
        return result;
    }

    public static double SampleBeta(ref Rng rng, int a, int b)
    {
        double ga = rng.GammaInt(a), gb = rng.GammaInt(b);
        return ga / (ga + gb);
    }

    /// <summary>
    /// Exponential with rate r (either sign; 0 is uniform) truncated to [lo, hi]:
    /// p(v) = r e^{r (v - lo)} / (e^{r (hi - lo)} - 1).
    /// </summary>
    public static double LogTruncatedExponential(double v, double rate, double lo, double hi)
    {
        if (v < lo || v > hi) return double.NegativeInfinity;
        if (rate == 0) return -Math.Log(hi - lo);
        return Math.Log(Math.Abs(rate)) + rate * (v - lo) - Math.Log(Math.Abs(double.ExpM1(rate * (hi - lo))));
    }

    /// <summary>Inverse-CDF draw from <see cref="LogTruncatedExponential"/>.</summary>
    public static double SampleTruncatedExponential(ref Rng rng, double rate, double lo, double hi)
    {
        double u = rng.Uniform();
        if (rate == 0) return lo + u * (hi - lo);
        double v = lo + double.LogP1(u * double.ExpM1(rate * (hi - lo))) / rate;
        return Math.Clamp(v, lo, hi);
    }

    /// <summary>Normal(mu, sigma) truncated to [lo, hi], normalised by Phi(beta) - Phi(alpha).</summary>
    public static double LogTruncatedNormal(double v, double mu, double sigma, double lo, double hi)
    {
        if (v < lo || v > hi) return double.NegativeInfinity;
        double z = (v - mu) / sigma;
        return -0.5 * z * z - LogSqrt2Pi - Math.Log(sigma) - Math.Log(NormalMass((lo - mu) / sigma, (hi - mu) / sigma));
    }

    /// <summary>
    /// Rejection from the untruncated normal: only used where the truncation keeps most of the mass
    /// (the recoil toy's parameters are fixed so that acceptance is above 95 % for every allowed mass).
    /// </summary>
    public static double SampleTruncatedNormal(ref Rng rng, double mu, double sigma, double lo, double hi)
    {
        while (true)
        {
            double v = mu + sigma * rng.Normal();
            if (v >= lo && v <= hi) return v;
        }
    }

    /// <summary>Phi(b) - Phi(a) for the standard normal, without cancellation in either tail.</summary>
    public static double NormalMass(double a, double b)
    {
        const double r = 0.70710678118654752440;
        if (a >= 0) return 0.5 * (Erfc(a * r) - Erfc(b * r));
        if (b <= 0) return 0.5 * (Erfc(-b * r) - Erfc(-a * r));
        return 1 - 0.5 * (Erfc(-a * r) + Erfc(b * r));
    }

    /// <summary>
    /// Complementary error function to about 1e-15 relative: the positive-term series of erf for
    /// |x| &lt; 3 and the Laplace continued fraction of erfc beyond (.NET has no Math.Erf).
    /// </summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x)) return double.NaN;
        if (x < 0) return 2 - Erfc(-x);
        if (x < 3)
        {
            // erf(x) = 2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1 3 5 ... (2n+1)): no cancellation.
            double term = x, sum = x, x2 = x * x;
            for (int n = 1; n < 200 && term > 1e-17 * sum; n++)
            {
                term *= 2 * x2 / (2 * n + 1);
                sum += term;
            }
            return 1 - 2 / Math.Sqrt(Math.PI) * Math.Exp(-x2) * sum;
        }
        if (x > 27) return 0;
        // erfc(x) = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated by modified Lentz.
        const double tiny = 1e-300;
        double f = x, c = x, d = 0;
        for (int n = 1; n < 500; n++)
        {
            double an = n / 2.0;
            d = x + an * d; d = Math.Abs(d) < tiny ? tiny : d; d = 1 / d;
            c = x + an / c; c = Math.Abs(c) < tiny ? tiny : c;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }

    private static double LogFactorial(int n)
    {
        double s = 0;
        for (int i = 2; i <= n; i++) s += Math.Log(i);
        return s;
    }
}
