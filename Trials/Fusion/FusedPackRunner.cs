using System.Diagnostics;
using Studies.Trials.Data;
using Studies.Trials.Engine;
using Studies.Trials.Models;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Trials.Fusion;

/// <summary>One trial of a pack: its spec and its own options (checkpoint directory, progress, controller).</summary>
public sealed record PackMember(TrialSpec Spec, TrialRunOptions Options);

/// <summary>
/// Trains a pack of trials with the same <see cref="FusionKey"/> as one stacked model (HFTA's horizontal
/// fusion): each member is prepared exactly as its unfused run (its seed's data split, initial weights,
/// background masses and batch order, its checkpoint to resume from, its own callbacks), and each training
/// step of all members is one forward, one backward and one optimiser update (<see cref="StackedMlp"/>,
/// <see cref="PackOptimizer"/>). After each epoch every member's weights and optimiser state are written
/// back and its own callbacks run (validation, keep-best, plateau, early stopping, its controller, its
/// checkpoint), so its epochs, metrics, checkpoint and result are those of its unfused run. A member whose
/// loss turns NaN diverges alone; a member that stops (early stopping, a controller, a pruner) or finishes
/// leaves the pack at the epoch's end and the pack is rebuilt without it, so it costs nothing afterwards.
/// Trials that cannot be fused, or whose preparation fails, run alone through <see cref="TrialRunner"/>.
/// </summary>
public sealed class FusedPackRunner(TrialRunner trials)
{
    /// <summary>Member training steps done (a step of a pack of k members counts k): what the pack's arithmetic scales with.</summary>
    public long MemberSteps { get; private set; }
    /// <summary>Fused steps done (each one forward/backward/update of the whole pack).</summary>
    public long PackSteps { get; private set; }
    /// <summary>Of <see cref="PackSteps"/>, those done by the native CPU step (<see cref="NativePackStep"/>).</summary>
    public long KernelSteps { get; private set; }
    /// <summary>Whether CPU packs of BCE members step through the native kernel (default) rather than libtorch calls; a GPU pack always uses libtorch.</summary>
    public bool NativeKernel { get; init; } = true;
    /// <summary>Where this runner's time went (preparation, fused steps by part, the members' epoch ends, evaluation).</summary>
    public PackProfile Profile { get; } = new();

    public IReadOnlyList<TrialResult> Run(IReadOnlyList<PackMember> members, CancellationToken cancellation)
    {
        var results = new TrialResult?[members.Count];
        var alone = new List<int>();
        var runner = trials.WithData(data => new SharedData(data));
        using (var scope = TensorScope.Begin())
        {
            var pack = new List<Member>();
            var clock = Stopwatch.StartNew();
            try
            {
                for (var i = 0; i < members.Count; i++)
                {
                    if (Prepare(runner, i, members[i]) is { } member) pack.Add(member);
                    else alone.Add(i);
                }
                Profile.Add("prepare", clock);
                if (pack.Count > 0) Train(runner, pack, results, alone, cancellation);
                clock.Restart();
                // Interrupted: members not yet trained in full (one resumed in a later phase included) are not evaluated.
                if (cancellation.IsCancellationRequested)
                {
                    foreach (var m in pack.Where(m => results[m.Index] is null && !m.Left))
                        results[m.Index] = new TrialResult { Outcome = TrialOutcome.Cancelled, Error = "interrupted; resumes from the last checkpoint", Epochs = m.Run.Epochs, Phases = m.Run.Phases };
                }
                foreach (var m in pack.Where(m => results[m.Index] is null && !alone.Contains(m.Index)))
                    results[m.Index] = Finish(m, () => runner.Evaluate(m.Run, m.Setup.KeepBest));
                Profile.Add("evaluate", clock);
            }
            finally
            {
                foreach (var m in pack) m.Dispose();
            }
        }
        foreach (var i in alone.Distinct().Order()) results[i] = runner.Run(members[i].Spec, members[i].Options, cancellation);
        return results.Select(r => r!).ToList();
    }

    private static Member? Prepare(TrialRunner runner, int index, PackMember member)
    {
        if (FusionKey.Of(member.Spec) is null) return null;
        TrialSetup? setup = null;
        try
        {
            setup = runner.Prepare(member.Spec, member.Options);
            if (setup.Run.Model is not ConditionedMlp { Fusable: true }) throw new NotSupportedException();
            member.Options.OnTrainingStart?.Invoke();
            return new Member(index, setup);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever went wrong (a damaged checkpoint included) the trial meets it again alone, where it is handled.
            setup?.Dispose();
            return null;
        }
    }

    private static TrialResult Finish(Member m, Func<TrialResult> evaluate)
    {
        try
        {
            return evaluate();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return TrialRunner.Failure(e, m.Run.Spec, m.Run.Options);
        }
    }

    private void Train(TrialRunner runner, List<Member> pack, TrialResult?[] results, List<int> alone, CancellationToken cancellation)
    {
        var phases = pack[0].Run.Spec.Schedule.Count;
        for (var p = 0; p < phases; p++)
        {
            var inPhase = pack.Where(m => results[m.Index] is null && !m.Left && m.Setup.FirstPhase <= p && m.Run.Decision != EpochDecision.StopTrial).ToList();
            if (inPhase.Count == 0) continue;
            try
            {
                RunPhase(runner, p, inPhase, results, alone, cancellation);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A failure of the fused step itself (out of memory, say) fails the members it was training.
                foreach (var m in inPhase.Where(m => results[m.Index] is null && !m.Left)) results[m.Index] = TrialRunner.Failure(e, m.Run.Spec, m.Run.Options);
            }
            finally
            {
                foreach (var m in inPhase) m.EndPhase();
            }
            if (cancellation.IsCancellationRequested) return;
        }
    }

    private void RunPhase(TrialRunner runner, int p, List<Member> inPhase, TrialResult?[] results, List<int> alone, CancellationToken cancellation)
    {
        foreach (var m in inPhase.ToList())
        {
            if (!m.StartPhase(p, runner))
            {
                // Its checkpoint could not be restored here: it leaves and runs alone, which discards a damaged checkpoint.
                m.Left = true;
                alone.Add(m.Index);
                inPhase.Remove(m);
            }
        }
        var epochs = inPhase.Count == 0 ? 0 : inPhase[0].Run.PhaseSpec.Epochs;
        var clock = Stopwatch.StartNew();
        for (var e = inPhase.Count == 0 ? 0 : inPhase.Min(m => m.Run.StartEpoch); e < epochs; e++)
        {
            var active = inPhase.Where(m => results[m.Index] is null && m.Run.StartEpoch <= e && m.Run.Decision == EpochDecision.Continue).ToList();
            if (active.Count == 0)
            {
                if (inPhase.All(m => results[m.Index] is not null || m.Run.Decision != EpochDecision.Continue)) break;
                continue;
            }
            if (cancellation.IsCancellationRequested) return; // Run records every unfinished member interrupted
            var losses = TrainEpoch(e, active);
            var ends = Stopwatch.StartNew();
            for (var k = 0; k < active.Count; k++)
            {
                var run = active[k].Run;
                run.GlobalEpoch++;
                if (!double.IsFinite(losses[k]))
                {
                    results[active[k].Index] = TrainingLoop.Diverged(run, losses[k]);
                    continue;
                }
                TrainingLoop.EndEpoch(run, losses[k]);
            }
            foreach (var m in active) ((PrecomputedLoss)m.Run.ValidationLoss).Next = null;
            Profile.Add("epoch end (validation, callbacks)", ends);
        }
        foreach (var m in inPhase.Where(m => results[m.Index] is null))
        {
            var run = m.Run;
            if (run.Phases.All(t => t.Phase != p)) run.Phases.Add(new PhaseTiming(p, run.PhaseSpec.Loss, run.Epochs.Count(r => r.Phase == p), run.PreviousSeconds + clock.Elapsed.TotalSeconds));
        }
    }

    /// <summary>One epoch of the active members as one stacked model; each member's mean training loss per event.</summary>
    private double[] TrainEpoch(int epoch, List<Member> active)
    {
        foreach (var m in active)
        {
            m.Run.EpochInPhase = epoch;
            foreach (var callback in m.Run.Callbacks) callback.OnEpochStart(m.Run);
            m.Run.Model.Train();
        }
        var clock = Stopwatch.StartNew();
        using var epochScope = TensorScope.Begin();
        var template = (ConditionedMlp)active[0].Run.Model;
        var runs = active.Select(m => m.Run).ToList();
        using var stacked = new StackedMlp(template, runs.Select(r => r.Parameters).ToList());
        var kernel = NativeKernel ? NativePackStep.For(stacked, runs) : null;
        using var fallback = kernel is null ? new LibtorchStep(stacked, runs) { Profile = Profile } : null;
        var plans = active.Select(m => m.Plan()).ToList();
        var steps = plans.Max(b => b.Count);
        Profile.Add("epoch start (stack, plans)", clock);
        var sums = new double[active.Count];
        var seen = new long[active.Count];
        for (var s = 0; s < steps; s++)
        {
            using var stepScope = TensorScope.Begin();
            var stepping = plans.Select(b => s < b.Count).ToArray();
            // A member without a batch at this step (a smaller training set) is scored on its last batch, unused: its loss is left out and its update masked.
            var batches = plans.Select(b => b[Math.Min(s, b.Count - 1)]).ToArray();
            for (var k = 0; k < active.Count; k++)
            {
                if (!stepping[k]) continue;
                var run = active[k].Run;
                run.Options.OnBatch?.Invoke(BatchUse.Training, batches[k].Positions.Select(i => run.Train.Events[i]).ToArray());
                foreach (var callback in run.Callbacks) callback.OnStep(run, new TrainingStep(batches[k].Positions, batches[k].Whole));
            }
            Profile.Add("step: member callbacks", clock);
            var stepped = Enumerable.Range(0, active.Count).Where(k => stepping[k]).ToList();
            float[] values;
            if (kernel is not null)
            {
                values = kernel.Step(stacked.Flat, runs, stepped, batches);
                KernelSteps++;
                Profile.Add("step: native kernel", clock);
            }
            else values = fallback!.Step(active, stepping, stepped, batches, clock);
            foreach (var m in active) m.Run.Train.BatchMass = null;
            for (var j = 0; j < stepped.Count; j++)
            {
                var k = stepped[j];
                sums[k] += values[j] * batches[k].Positions.Length;
                seen[k] += batches[k].Positions.Length;
            }
            MemberSteps += stepped.Count;
            PackSteps++;
            Profile.Add("step: losses read, scope", clock);
        }
        fallback?.WriteBack();
        for (var k = 0; k < active.Count; k++) stacked.WriteBack(k, active[k].Run.Parameters);
        Profile.Add("epoch write-back", clock);
        // The members' validation losses at the epoch's end in one native pass (each member's Validation callback reads its own).
        if (kernel?.ValidationLosses(stacked.Flat, runs) is { } validation)
        {
            for (var k = 0; k < active.Count; k++) ((PrecomputedLoss)runs[k].ValidationLoss).Next = validation[k];
            Profile.Add("epoch validation losses (native)", clock);
        }
        return sums.Select((sum, k) => sum / seen[k]).ToArray();
    }

    /// <summary>The fused step through libtorch calls (any loss, any device): the stacked forward, each member's loss, one backward, the pack's optimiser.</summary>
    private sealed class LibtorchStep(StackedMlp stacked, List<TrainingContext> runs) : IDisposable
    {
        private readonly PackOptimizer optimizer = new(runs.Select(r => (MemberOptimizer)r.Optimizer).ToList());
        private readonly PackInputs inputs = new(runs);
        private readonly PackBce? bce = PackBce.For(runs);

        public float[] Step(List<Member> active, bool[] stepping, List<int> stepped, PackBatch[] batches, Stopwatch clock)
        {
            var profile = Profile;
            var all = stepped.Count == active.Count;
            stacked.ZeroGrad();
            var (features, mass, rows) = inputs.Of(batches);
            profile?.Add("step: inputs", clock);
            var logits = stacked.Logits(features, mass);
            profile?.Add("step: forward", clock);
            var perMember = all && bce is not null && rows.All(r => r == rows[0])
                ? bce.Losses(logits, batches)
                : Torch.Stack(stepped.Select(k => MemberLoss(active[k], logits, k, rows[k], batches[k])).ToList());
            profile?.Add("step: loss", clock);
            perMember.Sum().Backward();
            profile?.Add("step: backward", clock);
            optimizer.Step(stacked.Flat, all ? null : stepping);
            profile?.Add("step: optimiser", clock);
            return perMember.Detach().ToArray<float>();
        }

        public PackProfile? Profile { get; init; }

        public void WriteBack() => optimizer.WriteBack();

        public void Dispose()
        {
            optimizer.Dispose();
            bce?.Dispose();
        }
    }

    /// <summary>A member's loss on its rows of the pack's scores, computed by its own loss object (any loss).</summary>
    private static Tensor MemberLoss(Member member, Tensor logits, int k, int rows, PackBatch batch)
    {
        var replay = member.Replay;
        replay.Next = logits.Narrow(0, k, 1).Squeeze(0).Narrow(0, 0, rows);
        try
        {
            return member.Run.Loss.Compute(replay, batch.Whole ? null : batch.Positions);
        }
        finally
        {
            replay.Next = null;
        }
    }

    /// <summary>A member of the pack: its prepared trial and, during a phase, its optimiser and losses.</summary>
    private sealed class Member(int index, TrialSetup setup) : IDisposable
    {
        public int Index { get; } = index;
        public TrialSetup Setup { get; } = setup;
        public TrainingContext Run => Setup.Run;
        public ReplayedModel Replay { get; } = new(setup.Run.Model.UsesMass);
        /// <summary>Left the pack to run alone.</summary>
        public bool Left { get; set; }
        private readonly List<IDisposable> phase = [];

        /// <summary>Fresh optimiser and losses, the callbacks' phase start (a resumed phase restores its checkpoint here); false when that fails.</summary>
        public bool StartPhase(int p, TrialRunner runner)
        {
            var run = Run;
            run.Phase = p;
            var spec = run.PhaseSpec;
            var optimizer = Own(new MemberOptimizer(spec, run.Spec.Model, run.Parameters));
            var loss = Own(runner.Losses.Create(spec, run.Train, run.Model, run.Spec.Model.Balance != "none"));
            var validationLoss = Own(new PrecomputedLoss(runner.Losses.Create(spec, run.Selection, run.Model, balancedBatches: false)));
            (run.Optimizer, run.Loss, run.ValidationLoss) = (optimizer, loss, validationLoss);
            (run.StartEpoch, run.PreviousSeconds, run.Decision) = (0, 0, EpochDecision.Continue);
            try
            {
                foreach (var callback in run.Callbacks) callback.OnPhaseStart(run);
                return true;
            }
            catch (Exception e) when (e is CheckpointDamagedException or TorchException or IOException)
            {
                return false;
            }
        }

        /// <summary>The batches of this epoch, drawn from the member's own generator exactly as its unfused loop draws them.</summary>
        public List<PackBatch> Plan()
        {
            var (run, train) = (Run, Run.Train);
            var balanced = run.Spec.Model.Balance != "none";
            var batches = run.Loss.SupportsBatches
                ? BatchPlan.Epoch(train.Count, run.PhaseSpec.Batch, run.Spec.Model.Balance, train.IsSignal, train.MassIndex, train.Process, run.Generator)
                : [Enumerable.Range(0, train.Count).Select(i => (long)i).ToArray()];
            return batches.Select(b => new PackBatch(b, b.Length == train.Count && !balanced)).ToList();
        }

        private T Own<T>(T disposable) where T : IDisposable
        {
            phase.Add(disposable);
            return disposable;
        }

        public void EndPhase()
        {
            foreach (var d in phase) d.Dispose();
            phase.Clear();
        }

        public void Dispose()
        {
            EndPhase();
            Setup.Dispose();
        }
    }
}

/// <summary>A member's batch: positions into its training set; whole: the set itself, in order (the loss then scores it unindexed).</summary>
internal readonly record struct PackBatch(long[] Positions, bool Whole);

/// <summary>The data of a pack: members with the same data and seed load it once and share it (read-only).</summary>
internal sealed class SharedData(ITrialDataProvider inner) : ITrialDataProvider
{
    private readonly Dictionary<(string Data, ulong Seed), TrialData> loaded = [];

    public TrialData Load(DataSpec spec, ulong seed)
    {
        var key = (SpecJson.Serialize(spec), seed);
        if (!loaded.TryGetValue(key, out var data)) loaded[key] = data = inner.Load(spec, seed);
        return data;
    }
}
