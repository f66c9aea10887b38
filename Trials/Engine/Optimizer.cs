namespace Studies.Trials.Engine;

/// <summary>Parameters that share a weight decay (e.g. kernels with L2 1e-5, biases with 1e-6).</summary>
public sealed record ParamGroup(IReadOnlyList<Tensor> Parameters, double WeightDecay = 0);

/// <summary>
/// libtorch's own optimisers, so that every update matches PyTorch's. The learning rate can be
/// changed between steps (schedulers, plateau); state can be saved for checkpoints.
/// </summary>
public abstract class Optimizer : IDisposable
{
    private protected enum Kind { Sgd = 0, Adam = 1, AdamW = 2, RAdam = 3 }

    private readonly OptimizerHandle? handle;

    /// <summary>An optimiser whose state lives elsewhere (a member of a fused pack, <c>Trials/Fusion</c>): it overrides every operation.</summary>
    private protected Optimizer() { }

    private OptimizerHandle Handle => handle ?? throw new InvalidOperationException("this optimiser has no libtorch state");

    private protected unsafe Optimizer(Kind kind, IReadOnlyList<ParamGroup> groups, double lr, double momentum = 0,
        double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, bool nesterov = false)
    {
        if (groups.Count == 0 || groups.All(g => g.Parameters.Count == 0)) throw new ArgumentException("an optimiser needs at least one parameter");
        var all = groups.SelectMany(g => g.Parameters).ToArray();
        var handles = Tensor.HandlesOf(all);
        var sizes = groups.Select(g => g.Parameters.Count).ToArray();
        var decays = groups.Select(g => g.WeightDecay).ToArray();
        IntPtr h;
        fixed (IntPtr* p = handles)
        fixed (int* s = sizes)
        fixed (double* d = decays)
            h = Native.st_optim_new((int)kind, p, s, d, groups.Count, lr, momentum, beta1, beta2, eps, nesterov ? 1 : 0);
        GC.KeepAlive(all);
        if (h == IntPtr.Zero) throw Native.LastException();
        handle = new OptimizerHandle(h);
    }

    public virtual void Step() => Native.Check(Native.st_optim_step(Handle));

    public virtual void ZeroGrad() => Native.Check(Native.st_optim_zero_grad(Handle));

    /// <summary>The learning rate of every parameter group.</summary>
    public virtual double LearningRate
    {
        get => Native.st_optim_get_lr(Handle);
        set => Native.Check(Native.st_optim_set_lr(Handle, value));
    }

    public virtual void Save(string path) => Native.Check(Native.st_optim_save(Handle, path));

    public virtual void Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"optimiser state not found: {path}", path);
        Native.Check(Native.st_optim_load(Handle, path));
    }

    public virtual void Dispose()
    {
        handle?.Dispose();
        GC.SuppressFinalize(this);
    }
}

public sealed class SGD : Optimizer
{
    public SGD(IReadOnlyList<ParamGroup> groups, double lr, double momentum = 0, bool nesterov = false)
        : base(Kind.Sgd, groups, lr, momentum: momentum, nesterov: nesterov) { }

    public SGD(IReadOnlyList<Tensor> parameters, double lr, double momentum = 0, double weightDecay = 0, bool nesterov = false)
        : this([new ParamGroup(parameters, weightDecay)], lr, momentum, nesterov) { }
}

public sealed class Adam : Optimizer
{
    public Adam(IReadOnlyList<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
        : base(Kind.Adam, groups, lr, beta1: beta1, beta2: beta2, eps: eps) { }

    public Adam(IReadOnlyList<Tensor> parameters, double lr = 1e-3, double weightDecay = 0)
        : this([new ParamGroup(parameters, weightDecay)], lr) { }
}

public sealed class AdamW : Optimizer
{
    public AdamW(IReadOnlyList<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
        : base(Kind.AdamW, groups, lr, beta1: beta1, beta2: beta2, eps: eps) { }

    public AdamW(IReadOnlyList<Tensor> parameters, double lr = 1e-3, double weightDecay = 1e-2)
        : this([new ParamGroup(parameters, weightDecay)], lr) { }
}

/// <summary>
/// Rectified Adam (Liu et al. 2020), PyTorch's <c>torch.optim.RAdam</c> with its defaults (L2 weight
/// decay added to the gradient, not decoupled); the optimiser of the Lovász Z paper. libtorch's C++
/// API has none, so the native library implements it on Adam's state.
/// </summary>
public sealed class RAdam : Optimizer
{
    public RAdam(IReadOnlyList<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
        : base(Kind.RAdam, groups, lr, beta1: beta1, beta2: beta2, eps: eps) { }
}
