using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Studies.Trials.Engine;

/// <summary>
/// The P/Invoke declarations of <c>libstudies_native</c> (Trials/Native). Nothing outside the
/// Engine folder calls these directly: <see cref="Tensor"/>, <see cref="Torch"/>, the modules and
/// the optimisers wrap them and turn native failures into <see cref="TorchException"/>.
/// </summary>
internal static partial class Native
{
    private const string Lib = "studies_native";

    static Native()
    {
        ThreadingEnvironment.Apply();
        NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, Resolve);
        st_init();
    }

    /// <summary>Forces the static constructor (library load and start-up safeguards).</summary>
    internal static void EnsureLoaded() { }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Lib) return IntPtr.Zero;
        var explicitPath = Environment.GetEnvironmentVariable("STUDIES_NATIVE_LIB");
        var candidates = new List<string>();
        if (!string.IsNullOrEmpty(explicitPath)) candidates.Add(explicitPath);
        // Beside the application (also of a single-file bundle, whose assemblies have no location of their own).
        candidates.Add(Path.Combine(AppContext.BaseDirectory, "libstudies_native.so"));
        foreach (var candidate in candidates)
        {
            if (File.Exists(candidate)) return NativeLibrary.Load(candidate);
        }
        throw new DllNotFoundException(
            "libstudies_native.so was not found (looked in: " + string.Join(", ", candidates) + "). " +
            "Build the solution with the README's set-up command; it compiles Trials/Native against libtorch.");
    }

    internal static string LastError()
    {
        var message = Marshal.PtrToStringUTF8(st_last_error());
        return string.IsNullOrEmpty(message) ? "unknown libtorch error" : TorchErrors.WithoutBacktrace(message);
    }

    /// <summary>The calling thread's last native failure, with its kind.</summary>
    internal static TorchException LastException()
    {
        var message = LastError();
        return new TorchException(message, TorchErrors.Classify((TorchErrorKind)st_last_error_kind(), message));
    }

    internal static void Check(int status)
    {
        if (status != 0) throw LastException();
    }

    [LibraryImport(Lib)] internal static partial IntPtr st_last_error();
    [LibraryImport(Lib)] internal static partial int st_last_error_kind();
    [LibraryImport(Lib)] internal static partial int st_init();
    [LibraryImport(Lib)] internal static partial IntPtr st_torch_version();
    [LibraryImport(Lib)] internal static unsafe partial int st_blas_info(byte* buffer, int length);
    [LibraryImport(Lib)] internal static partial int st_set_num_threads(int n);
    [LibraryImport(Lib)] internal static partial int st_get_num_threads();
    [LibraryImport(Lib)] internal static partial int st_cuda_device_count();
    [LibraryImport(Lib)] internal static partial int st_cuda_is_built();
    [LibraryImport(Lib)] internal static partial int st_set_grad_enabled(int enabled);
    [LibraryImport(Lib)] internal static partial int st_is_grad_enabled();

    [LibraryImport(Lib)] internal static partial IntPtr st_generator_new(ulong seed, int deviceType, int deviceIndex);
    [LibraryImport(Lib)] internal static partial void st_generator_free(IntPtr generator);
    [LibraryImport(Lib)] internal static partial ulong st_generator_initial_seed(GeneratorHandle generator);
    [LibraryImport(Lib)] internal static partial TensorHandle st_generator_get_state(GeneratorHandle generator);
    [LibraryImport(Lib)] internal static partial int st_generator_set_state(GeneratorHandle generator, TensorHandle state);

    [LibraryImport(Lib)] internal static partial void st_tensor_free(IntPtr tensor);
    [LibraryImport(Lib)] internal static partial int st_tensor_dim(TensorHandle t);
    [LibraryImport(Lib)] internal static partial long st_tensor_numel(TensorHandle t);
    [LibraryImport(Lib)] internal static partial int st_tensor_dtype(TensorHandle t);
    [LibraryImport(Lib)] internal static partial int st_tensor_device_type(TensorHandle t);
    [LibraryImport(Lib)] internal static partial int st_tensor_device_index(TensorHandle t);
    [LibraryImport(Lib)] internal static unsafe partial int st_tensor_shape(TensorHandle t, long* shape);

    [LibraryImport(Lib)] internal static unsafe partial TensorHandle st_from_data(void* data, long* shape, int ndim, int dtype, int deviceType, int deviceIndex, int requiresGrad);
    [LibraryImport(Lib)] internal static unsafe partial int st_copy_to(TensorHandle t, void* destination, long bytes);
    [LibraryImport(Lib)] internal static partial int st_item(TensorHandle t, out double value);
    [LibraryImport(Lib)] internal static unsafe partial TensorHandle st_zeros(long* shape, int ndim, int dtype, int dt, int di, int rg);
    [LibraryImport(Lib)] internal static unsafe partial TensorHandle st_ones(long* shape, int ndim, int dtype, int dt, int di, int rg);
    [LibraryImport(Lib)] internal static unsafe partial TensorHandle st_empty(long* shape, int ndim, int dtype, int dt, int di, int rg);
    [LibraryImport(Lib)] internal static unsafe partial TensorHandle st_full(long* shape, int ndim, double value, int dtype, int dt, int di, int rg);
    [LibraryImport(Lib)] internal static partial TensorHandle st_arange(double start, double end, double step, int dtype, int dt, int di);
    [LibraryImport(Lib)] internal static unsafe partial TensorHandle st_randn(long* shape, int ndim, int dtype, int dt, int di, GeneratorHandle gen);
    [LibraryImport(Lib)] internal static unsafe partial TensorHandle st_rand(long* shape, int ndim, int dtype, int dt, int di, GeneratorHandle gen);
    [LibraryImport(Lib)] internal static unsafe partial TensorHandle st_randint(long low, long high, long* shape, int ndim, int dt, int di, GeneratorHandle gen);
    [LibraryImport(Lib)] internal static partial TensorHandle st_randperm(long n, int dt, int di, GeneratorHandle gen);
    [LibraryImport(Lib)] internal static partial TensorHandle st_bernoulli(TensorHandle probabilities, GeneratorHandle gen);

    [LibraryImport(Lib)] internal static partial int st_normal_(TensorHandle t, double mean, double std, GeneratorHandle gen);
    [LibraryImport(Lib)] internal static partial int st_uniform_(TensorHandle t, double from, double to, GeneratorHandle gen);
    [LibraryImport(Lib)] internal static partial int st_fill_(TensorHandle t, double value);
    [LibraryImport(Lib)] internal static partial int st_zero_(TensorHandle t);
    [LibraryImport(Lib)] internal static partial int st_copy_(TensorHandle destination, TensorHandle source);
    [LibraryImport(Lib)] internal static partial int st_add_(TensorHandle t, TensorHandle other, double alpha);
    [LibraryImport(Lib)] internal static partial int st_mul_scalar_(TensorHandle t, double factor);

    [LibraryImport(Lib)] internal static partial TensorHandle st_to(TensorHandle t, int dtype, int dt, int di);
    [LibraryImport(Lib)] internal static partial TensorHandle st_clone(TensorHandle t);
    [LibraryImport(Lib)] internal static partial TensorHandle st_detach(TensorHandle t);
    [LibraryImport(Lib)] internal static partial TensorHandle st_contiguous(TensorHandle t);
    [LibraryImport(Lib)] internal static partial TensorHandle st_alias(TensorHandle t);

    [LibraryImport(Lib)] internal static partial int st_requires_grad(TensorHandle t);
    [LibraryImport(Lib)] internal static partial int st_set_requires_grad(TensorHandle t, int value);
    [LibraryImport(Lib)] internal static partial int st_backward(TensorHandle t, TensorHandle gradient, int retainGraph);
    [LibraryImport(Lib)] internal static partial int st_grad(TensorHandle t, out IntPtr gradient);
    [LibraryImport(Lib)] internal static partial int st_zero_grad(TensorHandle t);

    [LibraryImport(Lib)] internal static partial TensorHandle st_unary(int op, TensorHandle a);
    [LibraryImport(Lib)] internal static partial TensorHandle st_binary(int op, TensorHandle a, TensorHandle b);
    [LibraryImport(Lib)] internal static partial TensorHandle st_binary_scalar(int op, TensorHandle a, double s);
    [LibraryImport(Lib)] internal static partial TensorHandle st_linear(TensorHandle input, TensorHandle weight, TensorHandle bias);
    [LibraryImport(Lib)] internal static partial TensorHandle st_clamp(TensorHandle a, int hasMin, double min, int hasMax, double max);
    [LibraryImport(Lib)] internal static partial TensorHandle st_bce_with_logits(TensorHandle logits, TensorHandle target, TensorHandle weight, TensorHandle posWeight, int reduction);
    [LibraryImport(Lib)] internal static partial TensorHandle st_bce(TensorHandle probabilities, TensorHandle target, TensorHandle weight, int reduction);

    [LibraryImport(Lib)] internal static partial TensorHandle st_sum(TensorHandle a);
    [LibraryImport(Lib)] internal static partial TensorHandle st_mean(TensorHandle a);
    [LibraryImport(Lib)] internal static partial TensorHandle st_max_all(TensorHandle a);
    [LibraryImport(Lib)] internal static partial TensorHandle st_min_all(TensorHandle a);
    [LibraryImport(Lib)] internal static unsafe partial TensorHandle st_sum_dim(TensorHandle a, long* dims, int n, int keepdim);
    [LibraryImport(Lib)] internal static unsafe partial TensorHandle st_mean_dim(TensorHandle a, long* dims, int n, int keepdim);
    [LibraryImport(Lib)] internal static partial int st_extreme_dim(TensorHandle a, long dim, int keepdim, int isMax, out IntPtr values, out IntPtr indices);

    [LibraryImport(Lib)] internal static partial int st_sort(TensorHandle a, long dim, int descending, int stable, out IntPtr values, out IntPtr indices);
    [LibraryImport(Lib)] internal static partial TensorHandle st_argsort(TensorHandle a, long dim, int descending, int stable);
    [LibraryImport(Lib)] internal static partial TensorHandle st_cumsum(TensorHandle a, long dim);
    [LibraryImport(Lib)] internal static partial TensorHandle st_gather(TensorHandle a, long dim, TensorHandle index);
    [LibraryImport(Lib)] internal static partial TensorHandle st_index_select(TensorHandle a, long dim, TensorHandle index);
    [LibraryImport(Lib)] internal static partial TensorHandle st_index_add(TensorHandle a, long dim, TensorHandle index, TensorHandle source);
    [LibraryImport(Lib)] internal static partial TensorHandle st_masked_select(TensorHandle a, TensorHandle mask);
    [LibraryImport(Lib)] internal static partial TensorHandle st_masked_fill(TensorHandle a, TensorHandle mask, double value);
    [LibraryImport(Lib)] internal static partial TensorHandle st_where(TensorHandle condition, TensorHandle a, TensorHandle b);

    [LibraryImport(Lib)] internal static unsafe partial TensorHandle st_cat(IntPtr* list, int n, long dim);
    [LibraryImport(Lib)] internal static unsafe partial TensorHandle st_stack(IntPtr* list, int n, long dim);
    [LibraryImport(Lib)] internal static unsafe partial TensorHandle st_reshape(TensorHandle a, long* shape, int ndim);
    [LibraryImport(Lib)] internal static unsafe partial TensorHandle st_expand(TensorHandle a, long* shape, int ndim);
    [LibraryImport(Lib)] internal static partial TensorHandle st_transpose(TensorHandle a, long d0, long d1);
    [LibraryImport(Lib)] internal static partial TensorHandle st_squeeze(TensorHandle a, long dim);
    [LibraryImport(Lib)] internal static partial TensorHandle st_unsqueeze(TensorHandle a, long dim);
    [LibraryImport(Lib)] internal static partial TensorHandle st_narrow(TensorHandle a, long dim, long start, long length);
    [LibraryImport(Lib)] internal static partial TensorHandle st_dropout(TensorHandle a, double p, int training, GeneratorHandle gen);

    [LibraryImport(Lib)] internal static unsafe partial IntPtr st_optim_new(int kind, IntPtr* parameters, int* groupSizes, double* weightDecays, int groups, double lr, double momentum, double beta1, double beta2, double eps, int nesterov);
    [LibraryImport(Lib)] internal static partial void st_optim_free(IntPtr optimizer);
    [LibraryImport(Lib)] internal static partial int st_optim_step(OptimizerHandle optimizer);
    [LibraryImport(Lib)] internal static partial int st_optim_zero_grad(OptimizerHandle optimizer);
    [LibraryImport(Lib)] internal static partial int st_optim_set_lr(OptimizerHandle optimizer, double lr);
    [LibraryImport(Lib)] internal static partial double st_optim_get_lr(OptimizerHandle optimizer);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int st_optim_save(OptimizerHandle optimizer, string path);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int st_optim_load(OptimizerHandle optimizer, string path);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static unsafe partial int st_save_tensors(string path, string[] names, IntPtr* tensors, int n);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static unsafe partial int st_load_tensors(string path, string[] names, IntPtr* tensors, int n);
}
