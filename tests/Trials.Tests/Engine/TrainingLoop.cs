namespace Studies.Trials.Tests.Engine;

/// <summary>
/// A small but complete training (seeded init, shuffled mini-batches, dropout, Adam) used by the
/// tests of memory, concurrency and checkpoints. Everything random draws from its own generator.
/// </summary>
internal sealed class TrainingLoop : IDisposable
{
    private readonly Tensor x, y;
    private readonly long events;

    public TrainingLoop(ulong seed, int features = 8, int hidden = 32, long events = 2048)
    {
        this.events = events;
        Generator = new Generator(seed);
        Net = new Sequential(
            new Linear(features, hidden, Generator), new ReLU(), new Dropout(0.2, Generator),
            new Linear(hidden, hidden, Generator), new Tanh(), new Linear(hidden, 1, Generator));
        foreach (var linear in Net.Layers.OfType<Linear>()) Init.KaimingNormal(linear.Weight, Generator);
        using (var data = TensorScope.Begin())
        {
            x = data.MoveToOuter(Torch.Randn([events, features], Generator));
            y = data.MoveToOuter(x.Narrow(1, 0, 1).Add(x.Narrow(1, 1, 1).Square()).Gt(0.8).To(ScalarType.Float32));
            TensorScope.Detach(x);
            TensorScope.Detach(y);
        }
        Optimizer = new Adam(Net.Parameters(), 1e-2);
    }

    public Generator Generator { get; }
    public Sequential Net { get; }
    public Optimizer Optimizer { get; }

    /// <summary>One epoch of mini-batches of <paramref name="batch"/> events; returns the per-step losses.</summary>
    public List<double> Epoch(int batch = 256)
    {
        var losses = new List<double>();
        using var epoch = TensorScope.Begin();
        var order = Torch.Randperm(events, Generator);
        for (long start = 0; start < events; start += batch)
        {
            using var step = TensorScope.Begin();
            var index = order.Narrow(0, start, Math.Min(batch, events - start));
            Optimizer.ZeroGrad();
            var loss = Torch.BinaryCrossEntropyWithLogits(Net.Forward(x.IndexSelect(0, index)), y.IndexSelect(0, index));
            loss.Backward();
            Optimizer.Step();
            losses.Add(loss.Item());
        }
        return losses;
    }

    public void Dispose()
    {
        Optimizer.Dispose();
        Net.Dispose();
        x.Dispose();
        y.Dispose();
        Generator.Dispose();
    }
}
