using System.Diagnostics;

namespace Studies.Trials.Tests.Engine;

public sealed class BindingTests
{
    [Fact]
    public void Data_round_trips_through_native_tensors()
    {
        using var scope = TensorScope.Begin();
        var t = Torch.Tensor(new float[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        Assert.Equal([2L, 3L], t.Shape);
        Assert.Equal(ScalarType.Float32, t.DType);
        Assert.Equal(Device.CPU, t.Device);
        Assert.Equal(new float[] { 1, 4, 2, 5, 3, 6 }, t.T().ToArray<float>());
        Assert.Equal(21.0, t.Sum().Item());
        Assert.Equal(new long[] { 0, 1, 2, 3 }, Torch.Arange(4).ToArray<long>());
        Assert.Equal(new[] { false, true, true }, Torch.Tensor(new[] { 1.0, 2, 3 }).Gt(1.5).ToArray<bool>());
        var (values, indices) = Torch.Tensor(new[] { 3.0, 1, 2 }).Sort();
        Assert.Equal(new[] { 1.0, 2, 3 }, values.ToArray<double>());
        Assert.Equal(new long[] { 1, 2, 0 }, indices.ToArray<long>());
    }

    [Fact]
    public void OpenMP_threads_sleep_when_idle_unless_the_user_chose_otherwise()
    {
        using (TensorScope.Begin()) Torch.Zeros([1]);
        // The managed copy of the environment is the one the process started with.
        var chosen = Environment.GetEnvironmentVariable("OMP_WAIT_POLICY");
        Assert.Equal(chosen ?? "PASSIVE", ThreadingEnvironment.Current("OMP_WAIT_POLICY"));
    }

    [Fact]
    public void A_shape_mismatch_raises_an_exception_with_libtorchs_message()
    {
        using var scope = TensorScope.Begin();
        var a = Torch.Zeros([2, 3]);
        var b = Torch.Zeros([4, 5]);
        var error = Assert.Throws<TorchException>(() => a.Matmul(b));
        Assert.Contains("cannot be multiplied", error.Message);
        Assert.Contains("2x3", error.Message);
        // The binding keeps working after an error.
        Assert.Equal([2L, 5L], a.Matmul(Torch.Zeros([3, 5])).Shape);
        Assert.Throws<TorchException>(() => Torch.Cat([a, b], 0));
    }

    [Fact]
    public void Reading_a_tensor_as_the_wrong_element_type_is_refused()
    {
        using var scope = TensorScope.Begin();
        var error = Assert.Throws<InvalidOperationException>(() => Torch.Zeros([3]).ToArray<double>());
        Assert.Contains("Float32", error.Message);
    }

    [Fact]
    public void A_scope_disposes_what_was_made_inside_it_and_keeps_what_was_moved_out()
    {
        Tensor kept, temporary;
        using (var outer = TensorScope.Begin())
        {
            using (var inner = TensorScope.Begin())
            {
                temporary = Torch.Ones([3]);
                kept = inner.MoveToOuter(Torch.Ones([3]) * 2);
                Assert.Equal(2, inner.Count); // the two ones; the product moved out
            }
            Assert.True(temporary.IsDisposed);
            Assert.False(kept.IsDisposed);
            Assert.Equal(6.0, kept.Sum().Item());
        }
        Assert.True(kept.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => temporary.Sum());
    }

    [Fact]
    public void No_grad_scope_stops_recording_and_restores_the_mode()
    {
        using var scope = TensorScope.Begin();
        var x = Torch.Ones([2], requiresGrad: true);
        using (Torch.NoGrad())
        {
            Assert.False(Torch.IsGradEnabled);
            Assert.False((x * 2).RequiresGrad);
        }
        Assert.True(Torch.IsGradEnabled);
        Assert.True((x * 2).RequiresGrad);
    }

    [Fact]
    public void Generators_with_the_same_seed_give_the_same_numbers_and_restore_their_state()
    {
        using var scope = TensorScope.Begin();
        using var g1 = new Generator(42);
        using var g2 = new Generator(42);
        Assert.Equal(Torch.Randn([5], g1).ToArray<float>(), Torch.Randn([5], g2).ToArray<float>());
        var state = g1.GetState();
        var a = Torch.Randperm(10, g1).ToArray<long>();
        g1.SetState(state);
        Assert.Equal(a, Torch.Randperm(10, g1).ToArray<long>());
        using var g3 = new Generator(43);
        Assert.NotEqual(Torch.Rand([5], g2).ToArray<float>(), Torch.Rand([5], g3).ToArray<float>());
    }

    [Fact]
    public void Initialisers_have_the_documented_spread()
    {
        using var scope = TensorScope.Begin();
        using var g = new Generator(1);
        var w = Torch.Empty([400, 100]);
        Init.KaimingNormal(w, g);
        var std = w.Square().Mean().Sqrt().Item();
        Assert.InRange(std, Math.Sqrt(2.0 / 100) * 0.97, Math.Sqrt(2.0 / 100) * 1.03);
        Init.XavierUniform(w, g);
        var bound = Math.Sqrt(6.0 / 500);
        Assert.InRange(w.Abs().Max().Item(), bound * 0.95, bound);
        Init.HeUniform(w, g);
        Assert.InRange(w.Abs().Max().Item(), Math.Sqrt(6.0 / 100) * 0.95, Math.Sqrt(6.0 / 100));
        Init.Zeros(w);
        Assert.Equal(0.0, w.Abs().Sum().Item());
    }

    [Fact]
    public void Libtorch_runs_on_an_optimised_blas()
    {
        var blas = Torch.Blas();
        Assert.False(blas.IsReference, $"libtorch uses the reference BLAS ({blas}); install libopenblas0-pthread");
        Assert.False(string.IsNullOrEmpty(blas.Library), blas.ToString());
    }

    [Fact]
    public void Thread_count_is_set_explicitly()
    {
        var before = Torch.GetNumThreads();
        try
        {
            Torch.SetNumThreads(1);
            Assert.Equal(1, Torch.GetNumThreads());
        }
        finally
        {
            Torch.SetNumThreads(before);
        }
    }

    [Fact]
    public void Devices_parse_as_pytorch_writes_them()
    {
        Assert.Equal(Device.CPU, Device.Parse("cpu"));
        Assert.Equal(Device.Cuda(0), Device.Parse("cuda"));
        Assert.Equal(Device.Cuda(3), Device.Parse("CUDA:3"));
        Assert.Equal("cuda:1", Device.Cuda(1).ToString());
        Assert.Throws<FormatException>(() => Device.Parse("gpu0"));
        Assert.True(Torch.CudaDeviceCount() >= 0);
    }

    [Fact]
    public void Asking_for_a_missing_cuda_device_is_an_error_not_a_crash()
    {
        if (Torch.CudaDeviceCount() > 0) return; // covered by the CUDA tests there
        using var scope = TensorScope.Begin();
        var error = Assert.ThrowsAny<Exception>(() => Torch.Zeros([2], device: Device.Cuda(0)));
        Assert.IsType<TorchException>(error);
        Assert.Throws<TorchException>(() => new Generator(1, Device.Cuda(0)));
    }
}
