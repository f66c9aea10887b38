using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Workers;

namespace Studies.Orchestrator.Tests.Scheduling;

/// <summary>How the local executor turns a study's resources into slots, on hosts described by a fake.</summary>
public sealed class LocalExecutorPlanTests
{
    private sealed record Host(int CudaDeviceCount, int CpuCores) : IHostDevices
    {
        public string EngineVersion => "test";
    }

    private static ExecutorPlan Plan(string resources, Host host, string device = "cpu", int? workers = null)
    {
        var study = StudyLoader.Parse($$$"""
            study: plan
            data: {source: gaussian-toy, options: {masses: [-1, 0, 1], events_per_mass: 100}}
            base:
              model: {kind: dnn, hidden: [4]}
              schedule: [{loss: bce, epochs: 1, optimizer: adam, lr: 1.0e-3, batch: 64}]
              device: {{{device}}}
            matrix: {seed: [1, 2, 3, 4, 5, 6]}
            resources: {{{resources}}}
            """, "plan.yaml", AppContext.BaseDirectory);
        var executor = new LocalTrialExecutor(new ProcessTrialLauncher(WorkerCommandLine.Self(), NullLogger.Instance), host,
            Options.Create(new SchedulingOptions()), NullLoggerFactory.Instance);
        return executor.Plan(study, StudyExpander.Expand(study), workers);
    }

    [Fact]
    public void Cpu_trials_times_threads_never_exceed_the_cores_unless_the_study_asks_for_it()
    {
        var capped = Plan("{cpu_workers: 4, threads_per_trial: 1}", new Host(0, 2));
        Assert.Equal(2, capped.Slots.Count);
        Assert.Contains("exceeds the 2 cores", capped.Describe());
        Assert.Single(Plan("{cpu_workers: 4, threads_per_trial: 2}", new Host(0, 2)).Slots);
        Assert.Equal(4, Plan("{cpu_workers: 4, threads_per_trial: 1, oversubscribe: true}", new Host(0, 2)).Slots.Count);
        Assert.Equal(8, Plan("{threads_per_trial: 2}", new Host(0, 16)).Slots.Count); // auto: cores / threads
    }

    [Fact]
    public void Gpu_trials_pack_trials_per_device_workers_on_each_device()
    {
        var plan = Plan("{trials_per_device: 4}", new Host(2, 16), device: "cuda");
        Assert.Equal(8, plan.Slots.Count);
        Assert.Equal(4, plan.Slots.Count(s => s.Device == "cuda:1"));
        Assert.Equal(Enumerable.Range(0, 8), plan.Slots.Select(s => s.Index)); // one worker process per slot
    }

    [Fact]
    public void Cuda_on_a_host_without_a_gpu_is_one_clear_error()
    {
        var error = Assert.Throws<ResourceException>(() => Plan("{}", new Host(0, 2), device: "cuda"));
        Assert.Contains("sees no CUDA device", error.Message);
    }
}
