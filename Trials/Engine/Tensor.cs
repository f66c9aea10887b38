using System.Runtime.InteropServices;

namespace Studies.Trials.Engine;

/// <summary>
/// A libtorch tensor. Names follow PyTorch (<c>matmul</c>, <c>index_select</c>, <c>masked_fill</c>)
/// in .NET casing. Every tensor owns native memory: dispose it, or create it inside a
/// <see cref="TensorScope"/>, which disposes everything made in a training step at once.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    internal readonly TensorHandle Handle;
    internal TensorScope? Owner;

    internal Tensor(TensorHandle handle)
    {
        Handle = handle;
        TensorScope.Adopt(this);
    }

    internal static Tensor Wrap(TensorHandle handle)
    {
        if (handle.IsInvalid)
        {
            handle.SetHandleAsInvalid();
            throw Native.LastException();
        }
        return new Tensor(handle);
    }

    internal static Tensor Wrap(IntPtr handle) => Wrap(new TensorHandle(handle));

    public bool IsDisposed => Handle.IsClosed;

    public void Dispose() => Handle.Dispose();

    // ---- metadata -----------------------------------------------------------------------------

    public int Dim => Native.st_tensor_dim(Handle);
    public long NumEl => Native.st_tensor_numel(Handle);
    public ScalarType DType => (ScalarType)Native.st_tensor_dtype(Handle);
    public Device Device => new((DeviceType)Native.st_tensor_device_type(Handle), Native.st_tensor_device_index(Handle));

    public unsafe long[] Shape
    {
        get
        {
            var shape = new long[Dim];
            fixed (long* p = shape) Native.st_tensor_shape(Handle, p);
            return shape;
        }
    }

    public long Size(int dim) => Shape[dim < 0 ? Dim + dim : dim];

    public override string ToString() => $"Tensor[{string.Join(", ", Shape)}] {DType} on {Device}";

    // ---- data ---------------------------------------------------------------------------------

    /// <summary>Copies the elements (moved to the CPU if needed) into a new .NET array.</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        CheckElementType<T>();
        var result = new T[NumEl];
        CopyTo<T>(result);
        return result;
    }

    public unsafe void CopyTo<T>(Span<T> destination) where T : unmanaged
    {
        CheckElementType<T>();
        fixed (T* p = destination) Native.Check(Native.st_copy_to(Handle, p, (long)destination.Length * sizeof(T)));
    }

    /// <summary>The single element as a double (PyTorch's <c>item()</c>).</summary>
    public double Item()
    {
        Native.Check(Native.st_item(Handle, out var value));
        return value;
    }

    private void CheckElementType<T>() where T : unmanaged
    {
        var expected = Torch.ScalarTypeOf<T>();
        if (expected != DType)
            throw new InvalidOperationException($"tensor holds {DType}, not {typeof(T).Name}; convert with To(ScalarType.{expected}) first");
    }

    // ---- autograd -----------------------------------------------------------------------------

    public bool RequiresGrad
    {
        get => Native.st_requires_grad(Handle) != 0;
        set => Native.Check(Native.st_set_requires_grad(Handle, value ? 1 : 0));
    }

    /// <summary>The accumulated gradient, or null before the first backward pass.</summary>
    public Tensor? Grad
    {
        get
        {
            Native.Check(Native.st_grad(Handle, out var g));
            return g == IntPtr.Zero ? null : Wrap(g);
        }
    }

    public void Backward(Tensor? gradient = null, bool retainGraph = false) =>
        Native.Check(Native.st_backward(Handle, gradient?.Handle ?? TensorHandle.Null, retainGraph ? 1 : 0));

    /// <summary>Drops the gradient (PyTorch's <c>grad = None</c>).</summary>
    public void ZeroGrad() => Native.Check(Native.st_zero_grad(Handle));

    public Tensor Detach() => Wrap(Native.st_detach(Handle));
    public Tensor Clone() => Wrap(Native.st_clone(Handle));
    public Tensor Contiguous() => Wrap(Native.st_contiguous(Handle));

    /// <summary>A second handle to the same tensor (same storage and autograd identity).</summary>
    public Tensor Alias() => Wrap(Native.st_alias(Handle));

    // ---- conversion ---------------------------------------------------------------------------

    public Tensor To(Device device) => Wrap(Native.st_to(Handle, (int)DType, (int)device.Type, device.Index));
    public Tensor To(ScalarType type) => To(type, Device);
    public Tensor To(ScalarType type, Device device) => Wrap(Native.st_to(Handle, (int)type, (int)device.Type, device.Index));

    // ---- in place (never recorded by autograd) -------------------------------------------------

    public Tensor Normal_(double mean, double std, Generator? generator = null)
    {
        Native.Check(Native.st_normal_(Handle, mean, std, Generator.HandleOf(generator)));
        return this;
    }

    public Tensor Uniform_(double from, double to, Generator? generator = null)
    {
        Native.Check(Native.st_uniform_(Handle, from, to, Generator.HandleOf(generator)));
        return this;
    }

    public Tensor Fill_(double value)
    {
        Native.Check(Native.st_fill_(Handle, value));
        return this;
    }

    public Tensor Zero_()
    {
        Native.Check(Native.st_zero_(Handle));
        return this;
    }

    public Tensor Copy_(Tensor source)
    {
        Native.Check(Native.st_copy_(Handle, source.Handle));
        return this;
    }

    public Tensor Add_(Tensor other, double alpha = 1)
    {
        Native.Check(Native.st_add_(Handle, other.Handle, alpha));
        return this;
    }

    public Tensor Mul_(double factor)
    {
        Native.Check(Native.st_mul_scalar_(Handle, factor));
        return this;
    }

    internal static IntPtr[] HandlesOf(IReadOnlyList<Tensor> tensors)
    {
        var handles = new IntPtr[tensors.Count];
        for (var i = 0; i < handles.Length; i++)
        {
            ObjectDisposedException.ThrowIf(tensors[i].IsDisposed, tensors[i]);
            handles[i] = tensors[i].Handle.DangerousGetHandle();
        }
        return handles;
    }
}
