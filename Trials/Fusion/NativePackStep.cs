using System.Runtime.InteropServices;
using Studies.Trials.Engine;
using Studies.Trials.Training;

namespace Studies.Trials.Fusion;

/// <summary>
/// A fused step on the CPU in one native call (<c>Trials/Native/src/packmlp.cpp</c>): every stepping member's
/// forward pass, weighted BCE, backward pass and Adam or SGD update, over the pack's stacked parameters and
/// each member's own optimiser state, in place. It replaces the libtorch path (<see cref="StackedMlp"/>,
/// <see cref="PackBce"/>, <see cref="PackOptimizer"/>) where that path is dominated by per-call overhead.
/// </summary>
/// <remarks>
/// Why (PackProfile of <c>studies bench fusion --fused-only --packs 32 --repeats 1</c>, one pack of 32 quickstart-sized
/// trials on one thread, load ~11 on 2 cores, seconds per trial): libtorch steps 1.22 (inputs 0.21, forward 0.40, loss 0.33,
/// backward 0.25, optimiser 0.02, member callbacks 0.02), the members' epoch ends (validation) 0.18, final evaluation 0.35,
/// preparation and stacking 0.12. A step is ~60 libtorch calls whatever the pack's size, each with little arithmetic.
/// After (the same bench, packs of 32, load 8-20): native steps 0.24, the members' validation losses in one native pass 0.06,
/// final evaluation 0.07 (per-mass samples now built once per data set and split), epoch start 0.03, preparation 0.02; a
/// member's step is 64-85 us of CPU (PyTorch's own step of the same net: 487 us).
/// Applies to CPU packs of BCE members (dnn, pnn, affine-pnn; any ConditionedMlp without dropout, tanh or relu);
/// Punzi and Lovász members, and every pack on a GPU, keep the libtorch path (where libtorch's calls are what a GPU needs).
/// </remarks>
internal sealed partial class NativePackStep
{
    /// <summary>The widest layer the native step takes (see <see cref="For"/>).</summary>
    public const int MaxWidth = 128;

    private readonly long[] description;
    private readonly bool usesMass;
    private readonly int rule;

    private NativePackStep(long[] description, bool usesMass, int rule) => (this.description, this.usesMass, this.rule) = (description, usesMass, rule);

    /// <summary>The native step of this pack, or null where it does not apply (a GPU, a loss other than BCE, an optimiser it does not know).</summary>
    public static NativePackStep? For(StackedMlp stacked, IReadOnlyList<TrainingContext> runs)
    {
        if (stacked.Flat.Device.Type != DeviceType.CPU) return null;
        if (runs.Any(r => r.Loss.GetType() != typeof(BceLoss) || r.Optimizer is not MemberOptimizer)) return null;
        var optimizers = runs.Select(r => (MemberOptimizer)r.Optimizer).ToList();
        // As PackOptimizer: every member of an SGD pack keeps a momentum buffer when one of them has momentum.
        var rule = optimizers[0].Rule switch
        {
            "adam" => 0,
            "sgd" => optimizers.Any(o => o.Momentum != 0) ? 2 : 1,
            _ => -1,
        };
        if (rule < 0 || optimizers.Any(o => o.Rule != optimizers[0].Rule)) return null;
        var (dense, concat, points, activation) = stacked.Template.Structure;
        if (activation is not ("tanh" or "relu")) return null;
        // Small nets only. Measured (CPU time of one member's step, batch 1,024, 4 inputs, Adam, at load ~25 on 2 cores): 16-8
        // 64 us here against 487 us for PyTorch's own step; 64-64 872 us against 3,047 us; 256-256 12.7 ms against 11.1 ms,
        // where the kernel's loops (~32 GFLOP/s) no longer beat BLAS. Wider nets keep the libtorch path.
        if (dense.Any(l => l.Weight.Shape[0] > MaxWidth || l.Weight.Shape[1] > MaxWidth + 1)) return null;
        // Modulations are read as weight[j] * m + bias[j]: each needs its bias.
        if (points.Any(p => p.Scale is { Bias: null } || p.Shift is { Bias: null })) return null;
        var description = new List<long>();
        for (var l = 0; l < dense.Count; l++)
        {
            var shape = dense[l].Weight.Shape; // [out, in (+1 with the mass appended)]
            var read = shape[1] - (concat[l] ? 1 : 0);
            if (l > 0 && read != dense[l - 1].Weight.Shape[0]) return null;
            description.AddRange([read, shape[0], concat[l] ? 1 : 0, stacked.OffsetOf(dense[l].Weight), stacked.OffsetOf(dense[l].Bias)]);
        }
        foreach (var (scale, shift) in points)
            description.AddRange([stacked.OffsetOf(scale?.Weight), stacked.OffsetOf(scale?.Bias), stacked.OffsetOf(shift?.Weight), stacked.OffsetOf(shift?.Bias)]);
        var usesMass = stacked.Template.UsesMass;
        long[] header = [description[0], dense.Count, activation == "tanh" ? 0 : 1, stacked.Row, usesMass ? 1 : 0];
        return new NativePackStep([.. header, .. description], usesMass, rule);
    }

    /// <summary>
    /// One step of the members <paramref name="stepping"/> (indices into <paramref name="runs"/>, which are the rows of
    /// <paramref name="flat"/>), each on its batch; their parameters, optimiser state and step counts move; each one's loss.
    /// </summary>
    public float[] Step(Tensor flat, IReadOnlyList<TrainingContext> runs, IReadOnlyList<int> stepping, IReadOnlyList<PackBatch> batches) =>
        Call(flat, runs, stepping, k => (runs[k].Train, ((BceLoss)runs[k].Loss).Weights, batches[k].Positions), train: true);

    /// <summary>Every member's validation loss (its BCE on its whole model-selection set) at the parameters of <paramref name="flat"/>;
    /// null when a member's validation loss is not a plain <see cref="BceLoss"/>.</summary>
    public float[]? ValidationLosses(Tensor flat, IReadOnlyList<TrainingContext> runs)
    {
        if (runs.Any(r => r.ValidationLoss is not PrecomputedLoss { Inner: var inner } || inner.GetType() != typeof(BceLoss))) return null;
        var all = new Dictionary<int, long[]>();
        long[] Whole(int count) => all.TryGetValue(count, out var p) ? p : all[count] = [.. Enumerable.Range(0, count).Select(i => (long)i)];
        return Call(flat, runs, [.. Enumerable.Range(0, runs.Count)],
            k => (runs[k].Selection, ((BceLoss)((PrecomputedLoss)runs[k].ValidationLoss).Inner).Weights, Whole(runs[k].Selection.Count)), train: false);
    }

    private unsafe float[] Call(Tensor flat, IReadOnlyList<TrainingContext> runs, IReadOnlyList<int> members,
        Func<int, (TrainingSet Set, Tensor Weights, long[] Positions)> data, bool train)
    {
        var count = members.Count;
        var rows = new long[count];
        var first = new IntPtr[count];
        var second = new IntPtr[count];
        var decay = new IntPtr[count];
        var features = new IntPtr[count];
        var labels = new IntPtr[count];
        var weights = new IntPtr[count];
        var mass = new IntPtr[count];
        var massPerRow = new int[count];
        var counts = new long[count];
        var hyper = new double[9 * count];
        var rules = new int[count];
        var inputs = members.Select(data).ToList();
        var positions = new long[inputs.Sum(i => (long)i.Positions.Length)];
        var kept = new List<Tensor>(6 * count);
        long at = 0;
        for (var j = 0; j < count; j++)
        {
            var k = members[j];
            var (set, bceWeights, batch) = inputs[j];
            rows[j] = k;
            features[j] = Handle(set.Features);
            labels[j] = Handle(set.Labels);
            weights[j] = Handle(bceWeights);
            if (usesMass)
            {
                var perBatch = set.BatchMass;
                mass[j] = Handle(perBatch ?? set.ScaledMass ?? throw new InvalidOperationException("a parametric member's set has no mass input"));
                massPerRow[j] = perBatch is null ? 0 : 1;
            }
            counts[j] = batch.Length;
            batch.CopyTo(positions, at);
            at += batch.Length;
            if (!train) continue;
            var optimizer = (MemberOptimizer)runs[k].Optimizer;
            first[j] = Handle(optimizer.First);
            second[j] = Handle(optimizer.Second);
            decay[j] = optimizer.HasDecay ? Handle(optimizer.Decay) : IntPtr.Zero;
            // libtorch's Adam: step t, step size lr / (1 - beta1^t), denominator sqrt(v) / sqrt(1 - beta2^t) + eps (PackOptimizer).
            var t = ++optimizer.Steps;
            double[] h = [optimizer.LearningRate, optimizer.Beta1, optimizer.Beta2, optimizer.Eps,
                optimizer.LearningRate / (1 - Math.Pow(optimizer.Beta1, t)), Math.Sqrt(1 - Math.Pow(optimizer.Beta2, t)), optimizer.Momentum, 0, 0];
            h.CopyTo(hyper, 9 * j);
            rules[j] = rule;
        }
        var losses = new float[count];
        fixed (long* d = description, r = rows, p = positions, c = counts)
        fixed (IntPtr* f1 = first, f2 = second, dc = decay, x = features, y = labels, w = weights, m = mass)
        fixed (int* mr = massPerRow, ru = rules)
        fixed (double* hy = hyper)
        fixed (float* l = losses)
        {
            Native.Check(st_pack_mlp_step(d, train ? 1 : 0, count, Handle(flat), r, f1, f2, dc, x, y, w, m, mr, p, c, hy, ru, l));
        }
        GC.KeepAlive(kept);
        return losses;

        IntPtr Handle(Tensor t)
        {
            kept.Add(t);
            return t.Handle.DangerousGetHandle();
        }
    }

    [LibraryImport("studies_native")]
    private static unsafe partial int st_pack_mlp_step(long* net, int train, int members, IntPtr parameters, long* rows, IntPtr* first, IntPtr* second, IntPtr* decay,
        IntPtr* features, IntPtr* labels, IntPtr* weights, IntPtr* mass, int* massPerRow, long* positions, long* counts, double* hyper, int* rules, float* losses);
}
