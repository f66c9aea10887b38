namespace Studies.Trials.Engine;

/// <summary>
/// A network building block with named parameters and sub-modules, as <c>torch.nn.Module</c>.
/// Parameters live outside every <see cref="TensorScope"/> and are released by <see cref="Dispose"/>.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<Parameter> parameters = new();
    private readonly List<(string Name, Module Module)> children = new();
    private bool disposed;

    public bool Training { get; private set; } = true;

    public abstract Tensor Forward(Tensor input);

    public Tensor Call(Tensor input) => Forward(input);

    /// <summary>Registers a parameter; the module owns it from now on.</summary>
    protected Parameter RegisterParameter(string name, Tensor value)
    {
        var parameter = new Parameter(name, value);
        parameters.Add(parameter);
        return parameter;
    }

    protected T RegisterModule<T>(string name, T module) where T : Module
    {
        children.Add((name, module));
        return module;
    }

    /// <summary>All parameters, depth first, with dotted names as in PyTorch's <c>state_dict</c>.</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters(string prefix = "")
    {
        foreach (var p in parameters) yield return (prefix + p.Name, p.Value);
        foreach (var (name, child) in children)
        {
            foreach (var item in child.NamedParameters(prefix + name + ".")) yield return item;
        }
    }

    public IReadOnlyList<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter).ToList();

    public IEnumerable<(string Name, Module Module)> Children() => children;

    public Module Train(bool training = true)
    {
        Training = training;
        foreach (var (_, child) in children) child.Train(training);
        return this;
    }

    public Module Eval() => Train(false);

    /// <summary>Moves every parameter to <paramref name="device"/>. Create optimisers afterwards.</summary>
    public Module To(Device device)
    {
        foreach (var p in parameters) p.MoveTo(device);
        foreach (var (_, child) in children) child.To(device);
        return this;
    }

    public void ZeroGrad()
    {
        foreach (var (_, p) in NamedParameters()) p.ZeroGrad();
    }

    /// <summary>Writes the parameters to a file (names as <see cref="NamedParameters"/>).</summary>
    public void Save(string path) => Torch.Save(path, NamedParameters().ToList());

    /// <summary>Copies parameters saved by <see cref="Save"/> into this module's (same structure).</summary>
    public void Load(string path) => Torch.Load(path, NamedParameters().ToList());

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var p in parameters) p.Value.Dispose();
        foreach (var (_, child) in children) child.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A module's parameter: a leaf tensor that requires gradients, owned by its module.</summary>
public sealed class Parameter
{
    internal Parameter(string name, Tensor value)
    {
        Name = name;
        Value = Adopt(value);
    }

    public string Name { get; }
    public Tensor Value { get; private set; }

    private static Tensor Adopt(Tensor value)
    {
        TensorScope.Detach(value);
        value.RequiresGrad = true;
        return value;
    }

    internal void MoveTo(Device device)
    {
        if (Value.Device == device) return;
        Tensor moved;
        using (Torch.NoGrad()) moved = Value.To(device);
        Value.Dispose();
        Value = Adopt(moved);
    }

    public static implicit operator Tensor(Parameter p) => p.Value;
}
