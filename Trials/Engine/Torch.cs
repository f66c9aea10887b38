using System.Runtime.InteropServices;
using System.Text;

namespace Studies.Trials.Engine;

/// <summary>
/// Tensor creation, functional operations and runtime settings: the <c>torch.*</c> namespace of
/// PyTorch. Random functions take the trial's <see cref="Generator"/>.
/// </summary>
public static class Torch
{
    static Torch() => Native.EnsureLoaded();

    // ---- runtime ------------------------------------------------------------------------------

    public static string Version => Marshal.PtrToStringUTF8(Native.st_torch_version()) ?? "unknown";

    /// <summary>Sets libtorch's intra-op threads and, when libtorch's BLAS is OpenBLAS, its threads too.</summary>
    public static void SetNumThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Native.Check(Native.st_set_num_threads(threads));
    }

    public static int GetNumThreads() => Native.st_get_num_threads();

    public static int CudaDeviceCount() => Native.st_cuda_device_count();
    public static bool CudaIsAvailable() => CudaDeviceCount() > 0;

    /// <summary>Whether the native library was built against a CUDA libtorch (needed for CUDA generators).</summary>
    public static bool CudaIsBuilt => Native.st_cuda_is_built() != 0;

    /// <summary>Which BLAS libtorch's matrix products run on, and the library file that provides it.</summary>
    public static unsafe BlasInfo Blas()
    {
        var buffer = new byte[1024];
        fixed (byte* p = buffer) Native.st_blas_info(p, buffer.Length);
        var text = Encoding.UTF8.GetString(buffer, 0, Array.IndexOf(buffer, (byte)0));
        var parts = text.Split(" | ", 2);
        return new BlasInfo(parts[0], parts.Length > 1 ? parts[1] : "");
    }

    public static bool IsGradEnabled => Native.st_is_grad_enabled() != 0;

    /// <summary>Disables gradient recording on this thread until the returned scope is disposed.</summary>
    public static GradModeScope NoGrad() => new(enabled: false);

    public static GradModeScope EnableGrad() => new(enabled: true);

    // ---- creation -----------------------------------------------------------------------------

    internal static ScalarType ScalarTypeOf<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? ScalarType.Float32 :
        typeof(T) == typeof(double) ? ScalarType.Float64 :
        typeof(T) == typeof(long) ? ScalarType.Int64 :
        typeof(T) == typeof(int) ? ScalarType.Int32 :
        typeof(T) == typeof(bool) ? ScalarType.Bool :
        typeof(T) == typeof(byte) ? ScalarType.UInt8 :
        throw new NotSupportedException($"no tensor element type for {typeof(T).Name}");

    /// <summary>A tensor holding a copy of <paramref name="data"/> (PyTorch's <c>torch.tensor</c>).</summary>
    public static unsafe Tensor Tensor<T>(ReadOnlySpan<T> data, long[] shape, Device? device = null, bool requiresGrad = false)
        where T : unmanaged
    {
        var count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != data.Length)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] holds {count} elements, data has {data.Length}");
        var d = device ?? Device.CPU;
        fixed (T* p = data)
        fixed (long* s = shape)
            return Engine.Tensor.Wrap(Native.st_from_data(p, s, shape.Length, (int)ScalarTypeOf<T>(), (int)d.Type, d.Index, requiresGrad ? 1 : 0));
    }

    public static Tensor Tensor<T>(T[] data, Device? device = null, bool requiresGrad = false) where T : unmanaged =>
        Tensor<T>(data, [data.LongLength], device, requiresGrad);

    public static Tensor Tensor<T>(T[] data, long[] shape, Device? device = null, bool requiresGrad = false) where T : unmanaged =>
        Tensor<T>(data.AsSpan(), shape, device, requiresGrad);

    public static Tensor Scalar(double value, ScalarType dtype = ScalarType.Float32, Device? device = null) =>
        Full([], value, dtype, device);

    private unsafe delegate TensorHandle Creator(long* shape, int ndim, int dtype, int dt, int di, int rg);

    private static unsafe Tensor Create(Creator creator, long[] shape, ScalarType dtype, Device? device, bool requiresGrad)
    {
        var d = device ?? Device.CPU;
        fixed (long* s = shape) return Engine.Tensor.Wrap(creator(s, shape.Length, (int)dtype, (int)d.Type, d.Index, requiresGrad ? 1 : 0));
    }

    public static unsafe Tensor Zeros(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requiresGrad = false) =>
        Create(Native.st_zeros, shape, dtype, device, requiresGrad);

    public static unsafe Tensor Ones(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requiresGrad = false) =>
        Create(Native.st_ones, shape, dtype, device, requiresGrad);

    public static unsafe Tensor Empty(long[] shape, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requiresGrad = false) =>
        Create(Native.st_empty, shape, dtype, device, requiresGrad);

    public static unsafe Tensor Full(long[] shape, double value, ScalarType dtype = ScalarType.Float32, Device? device = null, bool requiresGrad = false)
    {
        var d = device ?? Device.CPU;
        fixed (long* s = shape) return Engine.Tensor.Wrap(Native.st_full(s, shape.Length, value, (int)dtype, (int)d.Type, d.Index, requiresGrad ? 1 : 0));
    }

    public static Tensor Arange(double start, double end, double step = 1, ScalarType dtype = ScalarType.Int64, Device? device = null)
    {
        var d = device ?? Device.CPU;
        return Engine.Tensor.Wrap(Native.st_arange(start, end, step, (int)dtype, (int)d.Type, d.Index));
    }

    public static Tensor Arange(long end, Device? device = null) => Arange(0, end, 1, ScalarType.Int64, device);

    public static unsafe Tensor Randn(long[] shape, Generator? generator, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? generator?.Device ?? Device.CPU;
        fixed (long* s = shape) return Engine.Tensor.Wrap(Native.st_randn(s, shape.Length, (int)dtype, (int)d.Type, d.Index, Engine.Generator.HandleOf(generator)));
    }

    public static unsafe Tensor Rand(long[] shape, Generator? generator, ScalarType dtype = ScalarType.Float32, Device? device = null)
    {
        var d = device ?? generator?.Device ?? Device.CPU;
        fixed (long* s = shape) return Engine.Tensor.Wrap(Native.st_rand(s, shape.Length, (int)dtype, (int)d.Type, d.Index, Engine.Generator.HandleOf(generator)));
    }

    /// <summary>Integers drawn uniformly from [low, high).</summary>
    public static unsafe Tensor RandInt(long low, long high, long[] shape, Generator? generator, Device? device = null)
    {
        var d = device ?? generator?.Device ?? Device.CPU;
        fixed (long* s = shape) return Engine.Tensor.Wrap(Native.st_randint(low, high, s, shape.Length, (int)d.Type, d.Index, Engine.Generator.HandleOf(generator)));
    }

    public static Tensor Randperm(long n, Generator? generator, Device? device = null)
    {
        var d = device ?? generator?.Device ?? Device.CPU;
        return Engine.Tensor.Wrap(Native.st_randperm(n, (int)d.Type, d.Index, Engine.Generator.HandleOf(generator)));
    }

    public static Tensor Bernoulli(Tensor probabilities, Generator? generator) =>
        Engine.Tensor.Wrap(Native.st_bernoulli(probabilities.Handle, Engine.Generator.HandleOf(generator)));

    // ---- functional ---------------------------------------------------------------------------

    public static unsafe Tensor Cat(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        var handles = Engine.Tensor.HandlesOf(tensors);
        fixed (IntPtr* p = handles)
        {
            var result = Engine.Tensor.Wrap(Native.st_cat(p, handles.Length, dim));
            GC.KeepAlive(tensors);
            return result;
        }
    }

    public static unsafe Tensor Stack(IReadOnlyList<Tensor> tensors, long dim = 0)
    {
        var handles = Engine.Tensor.HandlesOf(tensors);
        fixed (IntPtr* p = handles)
        {
            var result = Engine.Tensor.Wrap(Native.st_stack(p, handles.Length, dim));
            GC.KeepAlive(tensors);
            return result;
        }
    }

    public static Tensor Where(Tensor condition, Tensor a, Tensor b) =>
        Engine.Tensor.Wrap(Native.st_where(condition.Handle, a.Handle, b.Handle));

    /// <summary><c>input @ weight.T + bias</c>, as <c>torch.nn.functional.linear</c>.</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null) =>
        Engine.Tensor.Wrap(Native.st_linear(input.Handle, weight.Handle, bias?.Handle ?? TensorHandle.Null));

    /// <summary>Inverted dropout drawing its mask from the trial's generator.</summary>
    public static Tensor Dropout(Tensor input, double p, bool training, Generator? generator) =>
        Engine.Tensor.Wrap(Native.st_dropout(input.Handle, p, training ? 1 : 0, Engine.Generator.HandleOf(generator)));

    /// <summary>Binary cross-entropy on logits, numerically stable; optional per-event weights.</summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor logits, Tensor target, Tensor? weight = null,
        Reduction reduction = Reduction.Mean, Tensor? posWeight = null) =>
        Engine.Tensor.Wrap(Native.st_bce_with_logits(logits.Handle, target.Handle, weight?.Handle ?? TensorHandle.Null,
            posWeight?.Handle ?? TensorHandle.Null, (int)reduction));

    public static Tensor BinaryCrossEntropy(Tensor probabilities, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean) =>
        Engine.Tensor.Wrap(Native.st_bce(probabilities.Handle, target.Handle, weight?.Handle ?? TensorHandle.Null, (int)reduction));

    // ---- files --------------------------------------------------------------------------------

    /// <summary>Writes named tensors to one file in libtorch's archive format.</summary>
    public static unsafe void Save(string path, IReadOnlyList<(string Name, Tensor Tensor)> tensors)
    {
        var names = tensors.Select(t => t.Name).ToArray();
        var handles = Engine.Tensor.HandlesOf(tensors.Select(t => t.Tensor).ToArray());
        fixed (IntPtr* p = handles) Native.Check(Native.st_save_tensors(path, names, p, handles.Length));
        GC.KeepAlive(tensors);
    }

    /// <summary>Copies the named tensors stored in <paramref name="path"/> into the given tensors.</summary>
    public static unsafe void Load(string path, IReadOnlyList<(string Name, Tensor Tensor)> into)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint file not found: {path}", path);
        var names = into.Select(t => t.Name).ToArray();
        var handles = Engine.Tensor.HandlesOf(into.Select(t => t.Tensor).ToArray());
        fixed (IntPtr* p = handles) Native.Check(Native.st_load_tensors(path, names, p, handles.Length));
        GC.KeepAlive(into);
    }
}

/// <summary>How a loss is reduced over events; numbered as <c>at::Reduction</c>.</summary>
public enum Reduction
{
    None = 0,
    Mean = 1,
    Sum = 2,
}

/// <summary>The BLAS behind libtorch: its description and the shared library providing <c>dgemm_</c>.</summary>
public sealed record BlasInfo(string Name, string Library)
{
    /// <summary>The reference BLAS is ~20x slower than OpenBLAS on wide nets.</summary>
    public bool IsReference => !Name.StartsWith("OpenBLAS", StringComparison.Ordinal) && !Name.StartsWith("MKL", StringComparison.Ordinal)
        && !Name.StartsWith("BLIS", StringComparison.Ordinal) && Library.Contains("/blas/", StringComparison.Ordinal);

    public override string ToString() => string.IsNullOrEmpty(Library) ? Name : $"{Name} ({Library})";
}

/// <summary>Restores the previous gradient mode of this thread when disposed.</summary>
public readonly struct GradModeScope : IDisposable
{
    private readonly bool previous;

    internal GradModeScope(bool enabled) => previous = Native.st_set_grad_enabled(enabled ? 1 : 0) != 0;

    public void Dispose() => Native.st_set_grad_enabled(previous ? 1 : 0);
}
