using System.Runtime.InteropServices;

namespace Studies.Trials.Engine;

/// <summary>Owns one native <c>at::Tensor</c> handle; released exactly once.</summary>
internal sealed class TensorHandle : SafeHandle
{
    public TensorHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    internal TensorHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    /// <summary>Passed where libtorch takes an optional tensor (e.g. no bias).</summary>
    internal static readonly TensorHandle Null = new();

    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle()
    {
        Native.st_tensor_free(handle);
        return true;
    }
}

internal sealed class GeneratorHandle : SafeHandle
{
    public GeneratorHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    internal GeneratorHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    /// <summary>libtorch's global default generator; only for code outside a trial.</summary>
    internal static readonly GeneratorHandle Default = new();

    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle()
    {
        Native.st_generator_free(handle);
        return true;
    }
}

internal sealed class OptimizerHandle : SafeHandle
{
    public OptimizerHandle() : base(IntPtr.Zero, ownsHandle: true) { }
    internal OptimizerHandle(IntPtr handle) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle()
    {
        Native.st_optim_free(handle);
        return true;
    }
}
