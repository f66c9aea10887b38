namespace Studies.Trials.Tests.Engine;

[Collection(SerialCollection.Name)]
public sealed class TrainingTests
{
    private static long ResidentBytes()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    }

    [Fact]
    public void Resident_memory_stays_flat_over_5000_training_steps()
    {
        Torch.SetNumThreads(1);
        using var loop = new TrainingLoop(seed: 3, features: 28, hidden: 128, events: 8192);
        for (var i = 0; i < 2; i++) loop.Epoch(256); // warm up allocator and caches (64 steps)
        var before = ResidentBytes();
        var steps = 0;
        while (steps < 5000) steps += loop.Epoch(256).Count;
        var growth = ResidentBytes() - before;
        Assert.True(growth < 50L * 1024 * 1024, $"resident memory grew by {growth / 1048576.0:F1} MB over {steps} steps");
    }

    private static List<double> Train(ulong seed)
    {
        Torch.SetNumThreads(1);
        using var loop = new TrainingLoop(seed);
        var losses = new List<double>();
        for (var epoch = 0; epoch < 5; epoch++) losses.AddRange(loop.Epoch(128));
        return losses;
    }

    [Fact]
    public void Two_trainings_on_two_threads_give_the_same_numbers_as_one_after_the_other()
    {
        var sequentialA = Train(11);
        var sequentialB = Train(12);
        List<double>? concurrentA = null, concurrentB = null;
        var threadA = new Thread(() => concurrentA = Train(11));
        var threadB = new Thread(() => concurrentB = Train(12));
        threadA.Start();
        threadB.Start();
        threadA.Join();
        threadB.Join();
        Assert.Equal(sequentialA, concurrentA);
        Assert.Equal(sequentialB, concurrentB);
        Assert.NotEqual(sequentialA, sequentialB);
    }

    [Fact]
    public void A_training_resumed_from_a_checkpoint_continues_exactly()
    {
        var dir = Directory.CreateTempSubdirectory("studies-checkpoint-");
        try
        {
            List<double> uninterrupted;
            using (var loop = new TrainingLoop(21))
            {
                loop.Epoch();
                loop.Net.Save(Path.Combine(dir.FullName, "model.pt"));
                loop.Optimizer.Save(Path.Combine(dir.FullName, "optim.pt"));
                using var state = loop.Generator.GetState();
                Torch.Save(Path.Combine(dir.FullName, "rng.pt"), [("generator", state)]);
                uninterrupted = loop.Epoch().Concat(loop.Epoch()).ToList();
            }
            using var resumed = new TrainingLoop(21);
            resumed.Epoch(); // the data is rebuilt from the seed; then the state is overwritten
            using (var fresh = new TrainingLoop(999)) { } // an unrelated trial in between changes nothing
            resumed.Net.Load(Path.Combine(dir.FullName, "model.pt"));
            resumed.Optimizer.Load(Path.Combine(dir.FullName, "optim.pt"));
            using (var scope = TensorScope.Begin())
            {
                var state = resumed.Generator.GetState();
                Torch.Load(Path.Combine(dir.FullName, "rng.pt"), [("generator", state)]);
                resumed.Generator.SetState(state);
            }
            Assert.Equal(uninterrupted, resumed.Epoch().Concat(resumed.Epoch()).ToList());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Loading_a_checkpoint_of_another_shape_names_the_tensor()
    {
        var path = Path.Combine(Path.GetTempPath(), $"studies-shape-{Guid.NewGuid():N}.pt");
        try
        {
            using (var small = new Linear(3, 2, null)) small.Save(path);
            using var large = new Linear(4, 2, null);
            var error = Assert.Throws<TorchException>(() => large.Load(path));
            Assert.Contains("'weight'", error.Message);
            Assert.Throws<FileNotFoundException>(() => large.Load(path + ".missing"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Learning_rate_can_be_changed_between_steps()
    {
        using var loop = new TrainingLoop(5);
        Assert.Equal(1e-2, loop.Optimizer.LearningRate, 12);
        loop.Optimizer.LearningRate = 5e-3;
        Assert.Equal(5e-3, loop.Optimizer.LearningRate, 12);
    }
}
