using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Studies.Orchestrator.Search.Samplers;

/// <summary>
/// Proposes the next point of a search (the "ask" of ask/tell; the "tell" is the trial's record in
/// the store, which <paramref name="history"/> is read from). A pure function of the space, the
/// history and the random stream: the same study seed and history give the same proposal, so a
/// resumed or second orchestrator reproduces the sequence, and nothing of the sampler's state can be
/// lost in a crash (Ray Tune once fell back to its default generator on restore, ray #30861).
/// </summary>
public interface ISampler
{
    IReadOnlyDictionary<string, double> Ask(SearchSpace space, IReadOnlyList<SearchTrial> history, Random random);
}

/// <summary>Random streams of a search: one per proposal, from the study's seed and the proposal's number.</summary>
public static class SearchRandom
{
    /// <summary>System.Random with an explicit seed keeps its algorithm across .NET versions (the seeded legacy generator).</summary>
    public static Random For(ulong studySeed, int number)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"search:{studySeed}:{number}"));
        return new Random((int)(BinaryPrimitives.ReadUInt32BigEndian(hash) & 0x7fffffff));
    }
}
