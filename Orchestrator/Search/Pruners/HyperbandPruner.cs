using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Studies.Orchestrator.Search.Pruners;

/// <summary>
/// Hyperband (Li et al. 2018) as Optuna runs it: several successive-halving brackets, from aggressive
/// (first rung at the minimum resource) to none (first rung at the maximum), each trial assigned to
/// one bracket by a hash of its number with shares proportional to each bracket's budget, trials
/// competing only within their bracket. It hedges ASHA's bet that early epochs rank trials well.
/// </summary>
public sealed class HyperbandPruner : IPruner
{
    private readonly SuccessiveHalvingPruner[] brackets;
    private readonly int[] budgets;

    public HyperbandPruner(int minResource, int maxResource, int reductionFactor = 3)
    {
        if (maxResource < minResource) throw new ArgumentOutOfRangeException(nameof(maxResource));
        var n = (int)Math.Floor(Math.Log(maxResource / (double)minResource, reductionFactor) + 1e-9) + 1;
        brackets = Enumerable.Range(0, n).Select(i => new SuccessiveHalvingPruner(minResource, reductionFactor, i)).ToArray();
        // Optuna's _calculate_trial_allocation_budget: ceil(n η^s / (s + 1)) with s = n - 1 - i.
        budgets = Enumerable.Range(0, n).Select(i => (int)Math.Ceiling(n * Math.Pow(reductionFactor, n - 1 - i) / (n - i))).ToArray();
    }

    public int Brackets => brackets.Length;

    public PruneDecision Decide(SearchTrial trial, IReadOnlyList<SearchTrial> others)
    {
        var bracket = BracketOf(trial.Number);
        var decision = brackets[bracket].Decide(trial, others, t => BracketOf(t.Number) == bracket);
        return decision.Prune ? PruneDecision.Stop($"bracket {bracket}: {decision.Reason}") : decision;
    }

    /// <summary>The bracket of trial <paramref name="number"/>: a stable hash into the brackets' cumulative budgets.</summary>
    public int BracketOf(int number)
    {
        var hash = BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes($"hyperband:{number}")));
        var slot = (int)(hash % (uint)budgets.Sum());
        for (var i = 0; i < budgets.Length; i++)
        {
            if (slot < budgets[i]) return i;
            slot -= budgets[i];
        }
        return budgets.Length - 1;
    }
}
