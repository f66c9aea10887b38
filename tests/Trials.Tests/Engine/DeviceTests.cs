using Studies.Trials.Data;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Trials.Tests.Engine;

/// <summary>
/// The CUDA path's logic, tested here without a GPU through the device abstraction: device
/// visibility for pinned workers, placement of a trial's tensors, out-of-memory failures and the
/// packing decided after them, device-neutral checkpoints. The GPU itself is exercised by
/// <c>studies selftest --device cuda:0</c> (tools/gpu-check.sh) and <see cref="CudaTests"/>.
/// </summary>
public sealed class DeviceTests
{
    [Theory]
    [InlineData(null, 0, "0")]
    [InlineData(null, 3, "3")]
    [InlineData("2,3", 0, "2")]
    [InlineData("2,3", 1, "3")]
    [InlineData(" 5 , 7", 1, "7")]
    [InlineData("GPU-8f0c,GPU-11aa", 1, "GPU-11aa")]
    [InlineData("MIG-1c2d", 0, "MIG-1c2d")]
    public void A_pinned_worker_gets_the_parents_nth_visible_device(string? parent, int ordinal, string expected) =>
        Assert.Equal(expected, CudaVisibility.ForWorker(parent, ordinal));

    [Theory]
    [InlineData("", 0)]
    [InlineData("1", 1)]
    [InlineData("1,-1,2", 1)]   // CUDA stops at the first invalid entry
    [InlineData("0,x,1", 1)]
    public void A_device_the_parent_cannot_see_is_refused_with_the_variable_named(string parent, int ordinal)
    {
        var error = Assert.Throws<ArgumentException>(() => CudaVisibility.ForWorker(parent, ordinal));
        Assert.Contains("CUDA_VISIBLE_DEVICES", error.Message);
        Assert.Contains($"cuda:{ordinal}", error.Message);
    }

    [Fact]
    public void Visible_devices_parse_as_the_cuda_runtime_reads_them()
    {
        Assert.Null(CudaVisibility.Parse(null));
        Assert.Empty(CudaVisibility.Parse("")!);
        Assert.Equal(["0", "2"], CudaVisibility.Parse("0,2,-1,3")!);
    }

    [Theory]
    // packing, running on the device, retries left -> retry?, new packing
    [InlineData(16, 16, 2, true, 8)]
    [InlineData(8, 3, 2, true, 2)]    // only three were running: halve what was really there
    [InlineData(3, 3, 1, true, 2)]
    [InlineData(2, 2, 1, true, 1)]
    [InlineData(4, 1, 2, false, 4)]   // alone on the device: fewer neighbours cannot help
    [InlineData(1, 1, 2, false, 1)]
    [InlineData(4, 4, 0, false, 2)]   // the study allows no retry; later trials still pack less
    public void Out_of_memory_halves_the_trials_sharing_the_device(int packing, int running, int retriesLeft, bool retry, int next)
    {
        var decision = OutOfMemoryPacking.After(packing, running, retriesLeft);
        Assert.Equal(retry, decision.Retry);
        Assert.Equal(next, decision.TrialsPerDevice);
        Assert.Contains("out of memory", decision.Reason);
    }

    [Fact]
    public void Placement_names_every_tensor_off_the_trials_device()
    {
        Assert.Empty(DevicePlacement.Misplaced(Device.Cuda(0), [("w", Device.Cuda(0)), ("b", Device.Cuda(0))]));
        Assert.Equal(["b (cpu)", "x (cuda:1)"],
            DevicePlacement.Misplaced(Device.Cuda(0), [("w", Device.Cuda(0)), ("b", Device.CPU), ("x", Device.Cuda(1))]));

        using var scope = TensorScope.Begin();
        var weights = Torch.Zeros([2, 2]);
        DevicePlacement.Require(Device.CPU, [("weights", weights)]);
        var error = Assert.Throws<InvalidOperationException>(() => DevicePlacement.Require(Device.Cuda(0), [("weights", weights)]));
        Assert.Contains("weights (cpu)", error.Message);
        Assert.Contains("cuda:0", error.Message);
    }

    [Theory]
    [InlineData(TorchErrorKind.OutOfMemory, "anything", TorchErrorKind.OutOfMemory)]
    [InlineData(TorchErrorKind.Other, "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.11 GiB total capacity)", TorchErrorKind.OutOfMemory)]
    [InlineData(TorchErrorKind.Other, "DefaultCPUAllocator: not enough memory: you tried to allocate 4398046511104 bytes.", TorchErrorKind.OutOfMemory)]
    [InlineData(TorchErrorKind.Other, "DefaultCPUAllocator: can't allocate memory: you tried to allocate 4398046511104 bytes. Error code 12", TorchErrorKind.OutOfMemory)]
    [InlineData(TorchErrorKind.Other, "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)", TorchErrorKind.Other)]
    public void Out_of_memory_is_recognised_by_kind_or_message(TorchErrorKind native, string message, TorchErrorKind expected) =>
        Assert.Equal(expected, TorchErrors.Classify(native, message));

    [Fact]
    public void An_allocation_beyond_memory_is_an_out_of_memory_error()
    {
        using var scope = TensorScope.Begin();
        // 2^45 floats (128 TiB): refused at once by the allocator, nothing is touched.
        var error = Assert.Throws<TorchException>(() => Torch.Empty([1L << 45]));
        Assert.True(error.IsOutOfMemory, error.Message);
        Assert.False(Assert.Throws<TorchException>(() => Torch.Zeros([2, 3]).Matmul(Torch.Zeros([4, 5]))).IsOutOfMemory);
    }

    [Fact]
    public void A_trial_that_runs_out_of_memory_fails_with_its_own_error_kind()
    {
        var runner = new TrialRunner(new TinyData(), new PhaseLossFactory(), new MassEvaluator());
        // A 2^20 x 2^20 hidden layer needs 4 TiB for its weights alone.
        var result = runner.Run(Spec() with { Model = new ModelSpec { Kind = "dnn", Hidden = [1 << 20, 1 << 20], Balance = "none" } },
            new TrialRunOptions(), CancellationToken.None);
        Assert.Equal(TrialOutcome.Failed, result.Outcome);
        Assert.Equal(TrialErrorKinds.OutOfMemory, result.ErrorKind);
        Assert.StartsWith("out of memory on cpu: ", result.Error);

        var fits = runner.Run(Spec(), new TrialRunOptions(), CancellationToken.None);
        Assert.True(fits.Outcome == TrialOutcome.Completed, fits.Error);
        Assert.Null(fits.ErrorKind);
    }

    [Fact]
    public void A_checkpoint_belongs_to_the_trial_not_to_the_device_it_was_written_on()
    {
        var spec = Spec();
        Assert.Equal(Checkpoint.HashOf(spec with { Device = "cpu" }), Checkpoint.HashOf(spec with { Device = "cuda:0", Threads = 4 }));
        Assert.NotEqual(Checkpoint.HashOf(spec), Checkpoint.HashOf(spec with { Seed = spec.Seed + 1 }));
    }

    [Fact]
    public void A_cuda_generator_without_a_cuda_build_is_a_clear_error()
    {
        if (Torch.CudaIsBuilt) return; // a CUDA build creates it (CudaTests, selftest)
        var error = Assert.Throws<TorchException>(() => new Generator(1, Device.Cuda(0)));
        Assert.Contains("no generator for device cuda:0", error.Message);
    }

    private static TrialSpec Spec() => new()
    {
        Data = new DataSpec { Source = "tiny" },
        Model = new ModelSpec { Kind = "dnn", Hidden = [4], Balance = "none" },
        Schedule = [new PhaseSpec { Loss = "bce", Epochs = 1, Optimizer = "adam", LearningRate = 0.01, Batch = 64 }],
        Seed = 5,
    };

    /// <summary>Two masses, one feature, a few hundred events: enough for a trial to run end to end.</summary>
    private sealed class TinyData : ITrialDataProvider
    {
        public TrialData Load(DataSpec spec, ulong seed)
        {
            var random = new Random(3);
            double[] masses = [1, 2];
            var n = 300;
            var isSignal = Enumerable.Range(0, n).Select(i => i % 3 != 0).ToArray();
            var mass = Enumerable.Range(0, n).Select(i => isSignal[i] ? masses[i % 2] : double.NaN).ToArray();
            var features = Enumerable.Range(0, n).Select(i => (float)((isSignal[i] ? mass[i] : 0) + random.NextDouble())).ToArray();
            var all = Enumerable.Range(0, n).Select(i => (long)i).ToArray();
            return new TrialData
            {
                Count = n, FeatureCount = 1, Features = features, IsSignal = isSignal, Mass = mass,
                Process = isSignal.Select(s => s ? 0 : 1).ToArray(), ProcessNames = ["signal", "background"],
                Weight = Enumerable.Repeat(1.0, n).ToArray(),
                Train = all.Where(i => i % 5 < 3).ToArray(), Validation = all.Where(i => i % 5 == 3).ToArray(), Test = all.Where(i => i % 5 == 4).ToArray(),
                TrainedMasses = masses, HeldoutMasses = [],
                GeneratedPerMass = masses.ToDictionary(m => m, m => (double)isSignal.Where((s, i) => s && mass[i] == m).Count()),
                SignalYieldPerEfficiency = 100,
            };
        }
    }
}
