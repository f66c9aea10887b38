namespace Studies.Trials.Tests.Engine;

/// <summary>The CUDA path, run where libtorch sees a GPU (a CUDA libtorch on a GPU host).</summary>
public sealed class CudaTests
{
    [CudaFact]
    public void Tensors_and_modules_move_to_the_gpu_and_back()
    {
        using var scope = TensorScope.Begin();
        var gpu = Device.Cuda(0);
        var x = Torch.Tensor(new float[] { 1, 2, 3, 4 }, [2, 2]).To(gpu);
        Assert.Equal(gpu, x.Device);
        Assert.Equal(new float[] { 7, 10, 15, 22 }, x.Matmul(x).ToArray<float>());
        using var layer = new Linear(2, 3, null);
        layer.To(gpu);
        Assert.Equal(gpu, layer.Weight.Device);
        Assert.Equal([2L, 3L], layer.Forward(x).Shape);
    }

    [CudaFact]
    public void A_training_step_on_the_gpu_matches_the_cpu()
    {
        double Step(Device device)
        {
            using var scope = TensorScope.Begin();
            using var g = new Generator(4);
            using var net = new Sequential(new Linear(6, 16, g), new Tanh(), new Linear(16, 1, g));
            var x = Torch.Randn([128, 6], g).To(device);
            var y = x.Narrow(1, 0, 1).Gt(0).To(ScalarType.Float32);
            net.To(device);
            using var optimizer = new SGD(net.Parameters(), 0.1);
            for (var i = 0; i < 3; i++)
            {
                optimizer.ZeroGrad();
                Torch.BinaryCrossEntropyWithLogits(net.Forward(x), y).Backward();
                optimizer.Step();
            }
            return Torch.BinaryCrossEntropyWithLogits(net.Forward(x), y).Item();
        }

        Assert.Equal(Step(Device.CPU), Step(Device.Cuda(0)), 4);
    }

    [CudaFact]
    public void Gpu_generators_are_deterministic_per_seed()
    {
        using var scope = TensorScope.Begin();
        using var g1 = new Generator(9, Device.Cuda(0));
        using var g2 = new Generator(9, Device.Cuda(0));
        Assert.Equal(Torch.Rand([8], g1).ToArray<float>(), Torch.Rand([8], g2).ToArray<float>());
    }
}
