using System.Runtime.CompilerServices;

namespace Studies.Trials.Data;

/// <summary>
/// xoshiro256** seeded through SplitMix64: small, fast and identical on every platform and .NET
/// version (System.Random's seeded algorithm is only promised to stay stable per runtime). One
/// stream per (seed, purpose, process, mass) keeps each sample independent of how many events the
/// others draw, so changing one process's event count leaves the rest of the data unchanged.
/// </summary>
public struct Rng
{
    private ulong _s0, _s1, _s2, _s3;

    public Rng(ulong seed, params ReadOnlySpan<ulong> stream)
    {
        ulong x = seed;
        foreach (var s in stream) x = SplitMix(ref x) ^ (s * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL);
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    /// <summary>A stream label from text (FNV-1a), for purposes named by strings.</summary>
    public static ulong Label(string text)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in text) { h ^= c; h *= 1099511628211UL; }
        return h;
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform on [0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double Uniform() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform on (0, 1]: safe inside a logarithm.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double UniformOpenZero() => ((NextUInt64() >> 11) + 1) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n).</summary>
    public int Next(int n) => (int)(((NextUInt64() >> 32) * (ulong)n) >> 32);

    public double Exponential() => -Math.Log(UniformOpenZero());

    /// <summary>Standard normal (Marsaglia's polar method).</summary>
    public double Normal()
    {
        double u, v, s;
        do
        {
            u = 2 * Uniform() - 1;
            v = 2 * Uniform() - 1;
            s = u * u + v * v;
        } while (s >= 1 || s == 0);
        return u * Math.Sqrt(-2 * Math.Log(s) / s);
    }

    /// <summary>Gamma with integer shape k and unit scale: a sum of k exponentials (one logarithm).</summary>
    public double GammaInt(int k)
    {
        double product = 1;
        for (int i = 0; i < k; i++) product *= UniformOpenZero();
        return -Math.Log(product);
    }

    /// <summary>Fisher-Yates shuffle.</summary>
    public void Shuffle(Span<int> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
