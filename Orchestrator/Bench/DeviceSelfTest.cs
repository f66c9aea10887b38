using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Studies.Orchestrator.Workers;
using Studies.Trials.Data;
using Studies.Trials.Engine;
using Studies.Trials.Results;
using Studies.Trials.Runs;
using Studies.Trials.Specs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Bench;

/// <summary>
/// <c>studies selftest --device cuda:0</c>: the CUDA checks as a program, for GPU hosts that have
/// no .NET SDK (the self-contained bundle of tools/gpu-check.sh runs it). The same checks run on
/// <c>cpu</c>, which is how they are exercised where there is no GPU. Each prints one line.
/// </summary>
internal static class DeviceSelfTest
{
    private sealed record Check(string Name, Func<Device, string> Run);

    private static readonly Check[] Checks =
    [
        new("tensors_and_modules_on_device", TensorsAndModules),
        new("training_step_matches_cpu", TrainingMatchesCpu),
        new("generators_per_trial", GeneratorsPerTrial),
        new("trial_on_device", TrialOnDevice),
        new("checkpoint_across_devices", CheckpointAcrossDevices),
        new("out_of_memory_is_a_clear_failure", OutOfMemory),
        new("cuda_visible_devices", VisibleDevices),
    ];

    public static int Run(string deviceText, TextWriter output)
    {
        if (CommandDevice.Parse(deviceText) is not { } device) return 2;
        var cudaCount = Torch.CudaDeviceCount();
        output.WriteLine($"selftest on {device}: libtorch {Torch.Version}, CUDA build: {(Torch.CudaIsBuilt ? "yes" : "no")}, CUDA devices: {cudaCount}, " +
                         $"{CudaVisibility.Variable}={Environment.GetEnvironmentVariable(CudaVisibility.Variable) ?? "(unset)"}");
        var missing = device.IsCuda && device.Index >= cudaCount;
        if (missing) output.WriteLine(cudaCount == 0 ? "no CUDA device" : $"no CUDA device {device} (libtorch sees {cudaCount})");
        int passed = 0, failed = 0, skipped = 0;
        foreach (var check in Checks)
        {
            if (missing)
            {
                output.WriteLine($"  skipped  {check.Name}: no CUDA device");
                skipped++;
                continue;
            }
            var clock = Stopwatch.StartNew();
            try
            {
                var detail = check.Run(device);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  passed   {check.Name} ({clock.Elapsed.TotalSeconds:F1} s): {detail}"));
                passed++;
            }
            catch (Exception e)
            {
                output.WriteLine($"  FAILED   {check.Name}: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
                failed++;
            }
        }
        output.WriteLine($"selftest: {passed} passed, {failed} failed, {skipped} skipped" + (missing ? " (no CUDA device)" : ""));
        return failed > 0 ? 1 : 0;
    }

    private static void Require(bool condition, string message)
    {
        if (!condition) throw new InvalidOperationException(message);
    }

    private static string TensorsAndModules(Device device)
    {
        using var scope = TensorScope.Begin();
        var x = Torch.Tensor(new float[] { 1, 2, 3, 4 }, [2, 2]).To(device);
        Require(x.Device == device, $"tensor is on {x.Device}");
        var product = x.Matmul(x).ToArray<float>();
        Require(product.SequenceEqual(new float[] { 7, 10, 15, 22 }), $"matmul gave [{string.Join(", ", product)}]");
        using var layer = new Linear(2, 3, null);
        layer.To(device);
        DevicePlacement.Require(device, layer.NamedParameters());
        Require(layer.Forward(x).Device == device, "a layer's output left the device");
        return "matmul, a Linear layer and its output on " + device;
    }

    private static string TrainingMatchesCpu(Device device)
    {
        static double Loss(Device device)
        {
            using var scope = TensorScope.Begin();
            using var g = new Generator(4);
            using var net = new Sequential(new Linear(6, 16, g), new Tanh(), new Linear(16, 1, g));
            var x = Torch.Randn([256, 6], g).To(device);
            var y = x.Narrow(1, 0, 1).Gt(0).To(ScalarType.Float32);
            net.To(device);
            using var optimizer = new Adam(net.Parameters(), 0.01);
            for (var i = 0; i < 5; i++)
            {
                optimizer.ZeroGrad();
                Torch.BinaryCrossEntropyWithLogits(net.Forward(x), y).Backward();
                optimizer.Step();
            }
            return Torch.BinaryCrossEntropyWithLogits(net.Forward(x), y).Item();
        }

        var cpu = Loss(Device.CPU);
        var here = Loss(device);
        Require(Math.Abs(cpu - here) < 1e-4, $"loss after 5 Adam steps: {here} on {device}, {cpu} on cpu");
        return string.Create(CultureInfo.InvariantCulture, $"loss after 5 Adam steps {here:F6} ({device}) vs {cpu:F6} (cpu)");
    }

    private static string GeneratorsPerTrial(Device device)
    {
        using var scope = TensorScope.Begin();
        float[] Draws(ulong seed)
        {
            using var g = new Generator(seed, device);
            return Torch.Rand([64], g, device: device).ToArray<float>();
        }
        var a = Draws(9);
        Require(a.SequenceEqual(Draws(9)), "the same seed gave different numbers");
        Require(!a.SequenceEqual(Draws(10)), "different seeds gave the same numbers");
        // Two trials drawing in turn on the same device must not disturb each other's streams.
        using var g1 = new Generator(9, device);
        using var g2 = new Generator(10, device);
        var interleaved = new List<float>();
        for (var i = 0; i < 4; i++)
        {
            interleaved.AddRange(Torch.Rand([16], g1, device: device).ToArray<float>());
            _ = Torch.Rand([16], g2, device: device);
            _ = Torch.Rand([16], null, device: device); // the process-wide default generator
        }
        Require(interleaved.SequenceEqual(a), "a trial's stream changed when another generator drew in between");
        var state = g1.GetState();
        var next = Torch.Rand([8], g1, device: device).ToArray<float>();
        g1.SetState(state);
        Require(next.SequenceEqual(Torch.Rand([8], g1, device: device).ToArray<float>()), "restoring the generator state did not repeat the stream");
        return $"seeded per trial on {device}, isolated from other generators, state restorable";
    }

    /// <summary>A quickstart-sized recoil-toy trial (smaller data, few epochs) with dropout, so the GPU generator is used.</summary>
    private static TrialSpec SmallTrial(Device device, int epochs = 4) => new()
    {
        Data = new DataSpec
        {
            Source = "recoil-toy",
            Options = new JsonObject
            {
                ["masses"] = new JsonObject { ["from"] = 0.5, ["to"] = 8.5, ["step"] = 1 },
                ["signal_per_mass"] = 1000,
                ["background_events"] = 10000,
            },
            Holdout = HoldoutSpec.EverySecond,
            Split = new SplitSpec(0.4, 0.2, 0.4),
        },
        Model = new ModelSpec { Kind = "pnn", Hidden = [16, 8], Activation = "tanh", Dropout = 0.1, Balance = "none" },
        Schedule = [new PhaseSpec { Loss = "bce", Epochs = epochs, Optimizer = "adam", LearningRate = 3e-3, Batch = 1024 }],
        Seed = 1,
        Device = device.ToString(),
    };

    private static TrialRunner Runner() => new(new TrialDataProvider(), new PhaseLossFactory(), new MassEvaluator());

    private static string TrialOnDevice(Device device)
    {
        var result = Runner().Run(SmallTrial(device), new TrialRunOptions(), CancellationToken.None);
        Require(result.Outcome == TrialOutcome.Completed, $"trial {result.Outcome}: {result.Error}");
        var auc = result.Masses.Where(m => m is { Split: SplitKind.Test, EpochKind: EpochKind.Best })
            .Select(m => m.Metrics.GetValueOrDefault(MetricNames.RocAuc, double.NaN)).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
        return string.Create(CultureInfo.InvariantCulture, $"{result.LastEpoch} epochs, every tensor on {device} at start, mean test AUC {auc:F4}");
    }

    private static string CheckpointAcrossDevices(Device device)
    {
        string Leg(Device first, Device second)
        {
            var dir = Directory.CreateTempSubdirectory("studies-selftest-").FullName;
            try
            {
                using var stop = new CancellationTokenSource();
                var interrupted = Runner().Run(SmallTrial(first), new TrialRunOptions
                {
                    CheckpointDirectory = dir,
                    OnEpoch = (record, _) => { if (record.Epoch == 2) stop.Cancel(); },
                }, stop.Token);
                Require(interrupted.Outcome == TrialOutcome.Cancelled, $"the interrupted run on {first} ended {interrupted.Outcome}: {interrupted.Error}");
                var resumedEpochs = new List<int>();
                var resumed = Runner().Run(SmallTrial(second), new TrialRunOptions
                {
                    CheckpointDirectory = dir,
                    OnEpoch = (record, _) => resumedEpochs.Add(record.Epoch),
                }, CancellationToken.None);
                Require(resumed.Outcome == TrialOutcome.Completed, $"the resumed run on {second} ended {resumed.Outcome}: {resumed.Error}");
                Require(resumedEpochs.SequenceEqual([3, 4]), $"the run on {second} trained epochs [{string.Join(", ", resumedEpochs)}], not [3, 4] after the checkpoint");
                Require(resumed.Epochs.Count == 4, $"the resumed result has {resumed.Epochs.Count} epochs, not 4");
                return $"{first} -> {second}";
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        return $"stopped after epoch 2 and resumed at epoch 3: {Leg(device, Device.CPU)}, {Leg(Device.CPU, device)}";
    }

    private static string OutOfMemory(Device device)
    {
        using var scope = TensorScope.Begin();
        TorchException? error = null;
        try
        {
            _ = Torch.Empty([1L << 45], device: device); // 128 TiB
        }
        catch (TorchException e)
        {
            error = e;
        }
        Require(error is not null, "a 128 TiB allocation succeeded");
        Require(error!.IsOutOfMemory, $"not recognised as out of memory: {error.Message}");
        // The device must still work after the failed allocation.
        Require(Torch.Ones([1000], device: device).Sum().Item() == 1000, "the device does not work after the out-of-memory error");
        return $"128 TiB on {device}: {error.Message.Split('\n')[0]}";
    }

    /// <summary>A child process sees what CUDA_VISIBLE_DEVICES lets it see, as a pinned worker does.</summary>
    private static string VisibleDevices(Device device)
    {
        var none = DevicesSeenBy("");
        Require(none == 0, $"with {CudaVisibility.Variable}='' a process saw {none} CUDA device(s)");
        if (!device.IsCuda) return $"with {CudaVisibility.Variable}='' a worker sees no CUDA device (GPU pinning: run on cuda:N)";
        var pinned = CudaVisibility.ForWorker(Environment.GetEnvironmentVariable(CudaVisibility.Variable), device.Index);
        var one = DevicesSeenBy(pinned);
        Require(one == 1, $"a worker pinned with {CudaVisibility.Variable}={pinned} saw {one} device(s), not 1");
        return $"'' -> 0 devices; {device} pinned as {CudaVisibility.Variable}={pinned} -> 1 device";
    }

    private static int DevicesSeenBy(string visible)
    {
        var self = WorkerCommandLine.Self();
        var start = new ProcessStartInfo(self.FileName) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in self.PrefixArguments) start.ArgumentList.Add(a);
        start.ArgumentList.Add("info");
        start.Environment[CudaVisibility.Variable] = visible;
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("CUDA devices", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"`studies info` printed no CUDA device count: {text}{stderr.Result}");
        return int.Parse(line["CUDA devices".Length..].Trim(), CultureInfo.InvariantCulture);
    }
}
