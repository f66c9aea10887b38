namespace Studies.Trials.Engine;

/// <summary>
/// Disposes, at its end, every tensor created on this thread while it was the innermost scope,
/// like TorchSharp's DisposeScope. A training step runs inside one, so the activations,
/// gradients' temporaries and losses of the step are released deterministically and memory stays
/// flat over long trainings instead of waiting for the garbage collector (measured without it:
/// +157 MB per epoch). Tensors that must outlive the step are handed out with
/// <see cref="MoveToOuter"/> or <see cref="Detach"/>.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? current;

    private readonly TensorScope? outer;
    private readonly List<Tensor> owned = new();
    private bool disposed;

    private TensorScope(TensorScope? outer) => this.outer = outer;

    public static TensorScope Begin() => current = new TensorScope(current);

    /// <summary>Number of live tensors this scope will dispose (for tests and diagnostics).</summary>
    public int Count => owned.Count(t => t.Owner == this && !t.IsDisposed);

    internal static void Adopt(Tensor tensor)
    {
        var scope = current;
        if (scope is null) return;
        tensor.Owner = scope;
        scope.owned.Add(tensor);
    }

    /// <summary>Keeps the tensor alive past this scope: the enclosing scope (if any) owns it now.</summary>
    public Tensor MoveToOuter(Tensor tensor)
    {
        if (tensor.Owner != this) return tensor;
        tensor.Owner = outer;
        outer?.owned.Add(tensor);
        return tensor;
    }

    /// <summary>Takes the tensor out of every scope; the caller disposes it.</summary>
    public static Tensor Detach(Tensor tensor)
    {
        tensor.Owner = null;
        return tensor;
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var tensor in owned)
        {
            if (tensor.Owner == this) tensor.Dispose();
        }
        owned.Clear();
        if (current == this) current = outer;
    }
}
