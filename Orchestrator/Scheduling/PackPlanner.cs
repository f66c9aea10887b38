using System.Collections.Concurrent;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Studies;
using Studies.Trials.Fusion;
using Studies.Trials.Results;
using Studies.Trials.Specs;

namespace Studies.Orchestrator.Scheduling;

/// <summary>
/// Forms fused packs (<c>resources.fuse</c>): after a slot has claimed a trial, it claims the queued trials with the same
/// <see cref="FusionKey"/> (same model architecture, data, batch schedule and epochs per phase) up to the pack size, one
/// atomic claim each among exactly those trials (<see cref="TrialClaim.Among"/>), so several owners can form packs of one
/// study at once and no trial is claimed twice. A trial that cannot be fused, or finds no mate, runs alone as always.
/// </summary>
public sealed class PackPlanner(IStudyStorage store, FuseSetting fuse)
{
    /// <summary>
    /// The largest pack <c>fuse: auto</c> forms on a CPU slot. <c>studies bench fusion</c> (README, 32 quickstart-sized
    /// trials, 2 slots, trials per minute best of 2): at load 12-22 packs of 16 gave 51.0 against 42.9 for packs of 4 and
    /// 39.2 for one pack of 32 (one core idle), unfused 31.5; at load 28-52 packs of 32 gave 38.4, 16 gave 32.7, unfused 12.4.
    /// Sixteen is the size that was never worse than the larger one by more than the spread.
    /// </summary>
    public const int AutoCpuMembers = 16;

    /// <summary>
    /// The largest pack <c>fuse: auto</c> forms on a GPU slot: not measured (no GPU here); HFTA's gains grow up to the
    /// device's memory and arithmetic, and quickstart-sized members use a few MB each, so 64, the bench's largest size.
    /// </summary>
    public const int AutoCudaMembers = 64;

    private readonly ConcurrentDictionary<string, string?> keys = new();

    /// <summary>The pack key of a recorded trial (cached: a trial's spec never changes); null: it runs alone.</summary>
    public string? Key(TrialRow trial) => keys.GetOrAdd(trial.TrialId, _ =>
    {
        try
        {
            return FusionKey.Of(SpecJson.Deserialize<TrialSpec>(trial.SpecJson));
        }
        catch (System.Text.Json.JsonException)
        {
            return null; // the worker reports a spec it cannot read, alone
        }
    });

    /// <summary>
    /// The pack <paramref name="first"/> (just claimed) leads: it and the mates claimed for it, first first; just
    /// <paramref name="first"/> when fusing is off, it cannot be fused or no mate is claimable now.
    /// </summary>
    /// <param name="idleSlots">Slots of this execution with nothing to run, this one included: auto keeps each of them fed.</param>
    public async Task<IReadOnlyList<TrialRow>> ClaimMatesAsync(StudyRow study, TrialRow first, TrialClaim claim, int idleSlots, CancellationToken ct)
    {
        if (!fuse.Enabled || Key(first) is not { } key) return [first];
        var queued = new List<TrialRow>();
        for (var offset = 0; ; offset += 1000)
        {
            var page = await store.ListTrialsWhereAsync(study.Id, [TrialState.Queued], int.MaxValue, 1000, ct, offset);
            queued.AddRange(page.Trials.Where(t => t.InDefinition));
            if (page.Trials.Count < 1000) break;
        }
        var mates = queued.Where(t => t.TrialId != first.TrialId && Key(t) == key).Select(t => t.TrialId).ToList();
        var size = fuse.Members ?? AutoMembers(queued.Append(first).Select(Key), key, idleSlots,
            claim.Device.StartsWith("cuda", StringComparison.Ordinal) ? AutoCudaMembers : AutoCpuMembers);
        var pack = new List<TrialRow> { first };
        while (pack.Count < size && mates.Count > 0)
        {
            if (await store.ClaimNextAsync(study.Id, claim with { Among = mates }, ct) is not { } next) break;
            pack.Add(next);
            mates.Remove(next.TrialId);
        }
        return pack;
    }

    /// <summary>
    /// <c>fuse: auto</c>'s pack size for the trials of <paramref name="key"/>: the largest up to <paramref name="most"/> at
    /// which the queued trials, packed per key, still make a pack (or a trial that runs alone) for every idle slot, then
    /// evened out over the packs of that key (8 trials in 2 packs: 4 and 4, not 7 and 1); 1 (unfused) when even pairs would
    /// leave a slot idle, since a pack of one is slower than a trial alone (bench fusion: 23.1 against 31.5 trials per minute).
    /// </summary>
    /// <param name="queuedKeys">Each queued trial's key (null: cannot be fused), the trial that leads the pack included.</param>
    public static int AutoMembers(IEnumerable<string?> queuedKeys, string key, int idleSlots, int most)
    {
        var groups = queuedKeys.GroupBy(k => k).Select(g => (g.Key, Count: g.Count())).ToList();
        static int Ceiling(int n, int k) => (n + k - 1) / k;
        int Packs(int k) => groups.Sum(g => g.Key is null ? g.Count : Ceiling(g.Count, k));
        var mine = groups.Where(g => g.Key == key).Sum(g => g.Count);
        for (var k = most; k >= 2; k--)
        {
            if (Packs(k) >= idleSlots) return Ceiling(mine, Ceiling(mine, k));
        }
        return 1;
    }
}
