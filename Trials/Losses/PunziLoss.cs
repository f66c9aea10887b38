using Studies.Trials.Metrics;
using Studies.Trials.Engine;

namespace Studies.Trials.Losses;

/// <summary>
/// What the Punzi loss needs to know about each event of a data set besides the network output.
/// </summary>
/// <param name="IsSignal">Signal (true) or background, per event.</param>
/// <param name="MassIndex">For signal, the index of its trained mass (0..K-1), or -1 for signal of
/// no trained mass (it then enters no efficiency); ignored for background.</param>
/// <param name="Weight">Background weight w_j (expected events per generated event); ignored for
/// signal, whose efficiency counts 1 / N_gen per event.</param>
/// <param name="GeneratedSignal">N_gen,i: the number of generated signal events of each trained mass.</param>
public sealed record PunziEvents(bool[] IsSignal, int[] MassIndex, double[] Weight, double[] GeneratedSignal)
{
    public int Count => IsSignal.Length;
    public int MassCount => GeneratedSignal.Length;

    /// <summary>Throws, naming the event or mass, on inconsistent or impossible input.</summary>
    public PunziEvents Validate()
    {
        ArgumentNullException.ThrowIfNull(IsSignal);
        ArgumentNullException.ThrowIfNull(MassIndex);
        ArgumentNullException.ThrowIfNull(Weight);
        ArgumentNullException.ThrowIfNull(GeneratedSignal);
        if (MassIndex.Length != Count)
            throw new ArgumentException($"Punzi events: {MassIndex.Length} mass indices for {Count} events", nameof(MassIndex));
        if (Weight.Length != Count)
            throw new ArgumentException($"Punzi events: {Weight.Length} weights for {Count} events", nameof(Weight));
        if (MassCount == 0) throw new ArgumentException("Punzi events: no trained mass (GeneratedSignal is empty)", nameof(GeneratedSignal));
        for (var i = 0; i < MassCount; i++)
        {
            if (!(GeneratedSignal[i] > 0) || double.IsInfinity(GeneratedSignal[i]))
                throw new ArgumentException($"Punzi events: N_gen of trained mass {i} is {GeneratedSignal[i]}; it must be positive and finite", nameof(GeneratedSignal));
        }
        for (var j = 0; j < Count; j++)
        {
            if (IsSignal[j])
            {
                if (MassIndex[j] < -1 || MassIndex[j] >= MassCount)
                    throw new ArgumentException($"Punzi events: signal event {j} has mass index {MassIndex[j]}, outside -1..{MassCount - 1}", nameof(MassIndex));
            }
            else if (!double.IsFinite(Weight[j]))
            {
                // Negative weights are allowed (NLO samples): a window's B is their sum, and the floor
                // b_floor keeps sqrt(B) defined where negative-weight events outweigh the rest.
                throw new ArgumentException($"Punzi events: background event {j} has weight {Weight[j]}; it must be finite", nameof(Weight));
            }
        }
        return this;
    }
}

/// <summary>
/// The Punzi loss of methods section 3: the mean over trained masses of sigma_min(eps_i, B_i), with
/// <c>eps_i = s * sum_{signal j of mass i in window i} f_j / N_gen,i</c> and
/// <c>B_i = s * sum_{background j in window i} w_j f_j</c>, f the network output used as a soft selection.
/// </summary>
/// <remarks>
/// <para>Prepared once per data set (full batch is the default use) and reused every epoch: the
/// (event, window) pairs that matter become three tensors (event index, slot, coefficient), where a
/// slot is one eps_i or one B_i and the coefficient is <c>s / N_gen,i</c> or <c>s w_j</c>. An
/// evaluation is then one gather of f over the pairs, one product and one <c>index_add</c> into the
/// 2K slots, and autograd's backward is the same cost: O(pairs), not O(n K). Pairs of signal events
/// in a window of another mass are dropped (they enter no sum). Pairs are ordered by event so the
/// gather and its backward scatter walk f in memory order. Sums accumulate in the network's
/// floating type.</para>
/// <para>Without a window variable the K background sums are one and the same, so background events
/// get a single shared slot (n pairs, not n K).</para>
/// <para>Floors: eps and B are clamped from below at <see cref="PunziParameters.EfficiencyFloor"/>
/// and <see cref="PunziParameters.BackgroundFloor"/>. A clamped value passes no gradient: at B below
/// its floor (e.g. no background left in a window) the background events of that window get no
/// gradient from that mass, which is what keeps the gradient finite where d√B/dB would be infinite;
/// a mass whose eps is below its floor contributes a constant, so its signal gets no push up until
/// eps rises above 1e-6 through the other terms. The pre-training BCE stage of the reference
/// schedule keeps both far above their floors in practice.</para>
/// </remarks>
public sealed class PunziLoss : IDisposable
{
    private readonly Tensor pairEvent;
    private readonly Tensor pairSlot;
    private readonly Tensor pairCoefficient;
    private readonly bool hasWindowVariable;
    private readonly ScalarType dtype;
    private readonly Device device;

    private PunziLoss(PunziParameters parameters, int massCount, int eventCount, bool hasWindowVariable,
        Tensor pairEvent, Tensor pairSlot, Tensor pairCoefficient, ScalarType dtype, Device device)
    {
        Parameters = parameters;
        MassCount = massCount;
        EventCount = eventCount;
        this.hasWindowVariable = hasWindowVariable;
        this.pairEvent = TensorScope.Detach(pairEvent);
        this.pairSlot = TensorScope.Detach(pairSlot);
        this.pairCoefficient = TensorScope.Detach(pairCoefficient);
        this.dtype = dtype;
        this.device = device;
    }

    public PunziParameters Parameters { get; }
    public int MassCount { get; }
    public int EventCount { get; }

    /// <summary>Event index of each (event, slot) term, for callers that score each term themselves.</summary>
    public Tensor PairEvents => pairEvent;

    /// <summary>Trained-mass index of each term: a parametric net scores term q at mass <c>PairMassIndex[q]</c>.</summary>
    public long[] PairMassIndex()
    {
        if (!hasWindowVariable)
            throw new InvalidOperationException("Punzi loss: without per-mass pairs the background terms are shared by every mass; prepare with WindowMembership.EveryPair");
        var slots = pairSlot.ToArray<long>();
        for (var q = 0; q < slots.Length; q++) slots[q] %= MassCount;
        return slots;
    }

    /// <summary>Number of (event, slot) terms an evaluation sums.</summary>
    public long PairCount => pairEvent.NumEl;

    private int SlotCount => hasWindowVariable ? 2 * MassCount : MassCount + 1;

    /// <summary>
    /// Precomputes the index tensors and coefficients for one data set.
    /// </summary>
    /// <param name="windows">Window membership of the events (or <see cref="WindowMembership.Everywhere"/>).</param>
    /// <param name="events">Per-event class, mass index, weight and per-mass N_gen.</param>
    /// <param name="dtype">Floating type of the network output the loss will receive.</param>
    /// <param name="device">Device of the network output.</param>
    public static PunziLoss Prepare(WindowMembership windows, PunziEvents events, PunziParameters? parameters = null,
        ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(events);
        var p = (parameters ?? PunziParameters.Default).Validate();
        events.Validate();
        if (dtype is not (ScalarType.Float32 or ScalarType.Float64))
            throw new ArgumentException($"Punzi loss: network output type {dtype} is not Float32 or Float64", nameof(dtype));
        if (windows.EventCount != events.Count)
            throw new ArgumentException($"Punzi loss: window membership covers {windows.EventCount} events, the event list has {events.Count}", nameof(windows));
        if (windows.WindowCount != events.MassCount)
            throw new ArgumentException($"Punzi loss: {windows.WindowCount} windows for {events.MassCount} trained masses", nameof(windows));

        var (eventIndex, slot, coefficient) = windows.HasWindowVariable ? WindowedPairs(windows, events, p) : UnwindowedPairs(events, p);
        var d = device ?? Device.CPU;
        using var scope = TensorScope.Begin();
        var coefficientTensor = Torch.Tensor(coefficient, d).To(dtype);
        return new PunziLoss(p, events.MassCount, events.Count, windows.HasWindowVariable,
            Torch.Tensor(eventIndex, d), Torch.Tensor(slot, d), coefficientTensor, dtype, d);
    }

    private static (long[] Event, long[] Slot, double[] Coefficient) WindowedPairs(WindowMembership windows, PunziEvents events, PunziParameters p)
    {
        var k = events.MassCount;
        var pairEvents = windows.Events;
        var pairWindows = windows.Windows;

        // Counting sort of the useful pairs by event (O(n + pairs)), so evaluations gather f in order.
        var perEvent = new int[events.Count + 1];
        for (var q = 0; q < pairEvents.Length; q++)
        {
            var j = (int)pairEvents[q];
            if (Useful(j, (int)pairWindows[q])) perEvent[j + 1]++;
        }
        for (var j = 0; j < events.Count; j++) perEvent[j + 1] += perEvent[j];

        var total = perEvent[events.Count];
        var eventIndex = new long[total];
        var slot = new long[total];
        var coefficient = new double[total];
        var next = perEvent.AsSpan(0, events.Count).ToArray();
        for (var q = 0; q < pairEvents.Length; q++)
        {
            var j = (int)pairEvents[q];
            var i = (int)pairWindows[q];
            if (!Useful(j, i)) continue;
            var at = next[j]++;
            eventIndex[at] = j;
            if (events.IsSignal[j])
            {
                slot[at] = i;
                coefficient[at] = p.Scale / events.GeneratedSignal[i];
            }
            else
            {
                slot[at] = k + i;
                coefficient[at] = p.Scale * events.Weight[j];
            }
        }
        return (eventIndex, slot, coefficient);

        bool Useful(int j, int i) => events.IsSignal[j] ? events.MassIndex[j] == i : events.Weight[j] != 0;
    }

    private static (long[] Event, long[] Slot, double[] Coefficient) UnwindowedPairs(PunziEvents events, PunziParameters p)
    {
        var k = events.MassCount;
        var eventIndex = new List<long>(events.Count);
        var slot = new List<long>(events.Count);
        var coefficient = new List<double>(events.Count);
        for (var j = 0; j < events.Count; j++)
        {
            if (events.IsSignal[j])
            {
                if (events.MassIndex[j] < 0) continue;
                eventIndex.Add(j);
                slot.Add(events.MassIndex[j]);
                coefficient.Add(p.Scale / events.GeneratedSignal[events.MassIndex[j]]);
            }
            else if (events.Weight[j] != 0)
            {
                eventIndex.Add(j);
                slot.Add(k); // the one background slot shared by every mass
                coefficient.Add(p.Scale * events.Weight[j]);
            }
        }
        return (eventIndex.ToArray(), slot.ToArray(), coefficient.ToArray());
    }

    /// <summary>eps_i and B_i (shape [K] each) before the floors, differentiable in f.</summary>
    /// <param name="output">Network output f in (0, 1), shape [n] or [n, 1], n the prepared event count.</param>
    public (Tensor Efficiency, Tensor Background) Yields(Tensor output)
    {
        ObjectDisposedException.ThrowIf(pairEvent.IsDisposed, this);
        if (output.NumEl != EventCount)
            throw new ArgumentException($"Punzi loss: output holds {output.NumEl} values but the loss was prepared for {EventCount} events", nameof(output));
        if (output.DType != dtype)
            throw new ArgumentException($"Punzi loss: output is {output.DType} but the loss was prepared for {dtype}", nameof(output));
        if (output.Device != device)
            throw new ArgumentException($"Punzi loss: output is on {output.Device} but the loss was prepared on {device}", nameof(output));

        return YieldsOfPairs(output.Reshape(-1).IndexSelect(0, pairEvent));
    }

    /// <summary>
    /// eps_i and B_i from one network output per term (<see cref="PairEvents"/> order): what a
    /// parametric net gives when each term is scored at its own trained mass.
    /// </summary>
    public (Tensor Efficiency, Tensor Background) YieldsOfPairs(Tensor pairOutput)
    {
        ObjectDisposedException.ThrowIf(pairEvent.IsDisposed, this);
        if (pairOutput.NumEl != PairCount)
            throw new ArgumentException($"Punzi loss: {pairOutput.NumEl} pair outputs for {PairCount} pairs", nameof(pairOutput));
        var terms = pairOutput.Reshape(-1) * pairCoefficient;
        var sums = Torch.Zeros([SlotCount], dtype, device).IndexAdd(0, pairSlot, terms);
        var efficiency = sums.Narrow(0, 0, MassCount);
        var background = hasWindowVariable ? sums.Narrow(0, MassCount, MassCount) : sums.Narrow(0, MassCount, 1).Expand(MassCount);
        return (efficiency, background);
    }

    /// <summary>sigma_min per trained mass (shape [K]) with the floors applied, differentiable in f.</summary>
    public Tensor SigmaMin(Tensor output) => Floored(Yields(output));

    /// <summary>sigma_min per trained mass from per-term outputs (see <see cref="YieldsOfPairs"/>).</summary>
    public Tensor SigmaMinOfPairs(Tensor pairOutput) => Floored(YieldsOfPairs(pairOutput));

    private Tensor Floored((Tensor Efficiency, Tensor Background) yields)
    {
        var (efficiency, background) = yields;
        return PunziSensitivity.SigmaMin(efficiency.ClampMin(Parameters.EfficiencyFloor),
            background.ClampMin(Parameters.BackgroundFloor), Parameters);
    }

    /// <summary>The loss: mean over trained masses of sigma_min (a scalar, in fb).</summary>
    public Tensor Compute(Tensor output) => SigmaMin(output).Mean();

    public void Dispose()
    {
        pairEvent.Dispose();
        pairSlot.Dispose();
        pairCoefficient.Dispose();
    }
}
