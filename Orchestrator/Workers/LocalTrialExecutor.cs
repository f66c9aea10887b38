using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Studies;
using Studies.Trials.Engine;

namespace Studies.Orchestrator.Workers;

/// <summary>This host's CUDA devices and cores as libtorch and the runtime see them.</summary>
public sealed class LibtorchHostDevices : IHostDevices
{
    public int CudaDeviceCount => Torch.CudaDeviceCount();
    public int CpuCores => Environment.ProcessorCount;
    public string EngineVersion => Torch.Version;
}

/// <summary>
/// The executor of one machine (<c>resources.executor: local</c>, the default): worker processes on this host's cores
/// or GPUs, one trial per slot at a time.
/// </summary>
public sealed class LocalTrialExecutor(ITrialLauncher launcher, IHostDevices host, IOptions<SchedulingOptions> scheduling, ILoggerFactory loggers)
    : ITrialExecutor
{
    public const string Name = "local";

    /// <summary>CUDA trials go to the study's GPUs (all visible ones by default), CPU trials to CPU workers.</summary>
    public ExecutorPlan Plan(Study study, IReadOnlyList<PlannedTrial> trials, int? workers)
    {
        var r = study.Resources;
        var wantsCuda = trials.Any(t => t.Spec.Device.StartsWith("cuda", StringComparison.Ordinal));
        var cudaCount = wantsCuda ? host.CudaDeviceCount : 0;
        if (wantsCuda && cudaCount == 0)
            throw new ResourceException($"{study.SourcePath}: the study asks for device cuda, but libtorch ({host.EngineVersion}) sees no CUDA device on this host; " +
                "use device: cpu, or run it where a GPU is visible");
        var notes = new List<string>();
        var cpuWorkers = r.CpuWorkers ?? 0;
        // Threads x trials beyond the cores only slows every trial down (measured: two 1-thread trials on 2 cores scale
        // to ~1.9x, more do not help), so an explicit cpu_workers is capped unless the study says it means it.
        var fits = Math.Max(1, host.CpuCores / Math.Max(1, r.ThreadsPerTrial));
        if (!wantsCuda && cpuWorkers > fits && !r.Oversubscribe)
        {
            notes.Add($"cpu_workers {cpuWorkers} x {r.ThreadsPerTrial} thread(s) exceeds the {host.CpuCores} cores: {fits} at once; set resources.oversubscribe: true to run them all");
            cpuWorkers = fits;
        }
        var request = wantsCuda
            ? new ResourceRequest((r.Devices ?? Enumerable.Range(0, cudaCount).ToList()).Select(i => $"cuda:{i}").ToList(), r.TrialsPerDevice, r.ThreadsPerTrial, workers ?? 0)
            : new ResourceRequest(["cpu"], cpuWorkers, r.ThreadsPerTrial, workers ?? 0);
        return new ExecutorPlan(DeviceInventory.Slots(request, cudaCount, host.CpuCores), notes);
    }

    public Task<StateCounts> RunAsync(IStudyStorage store, StudyRow study, ExecutorPlan plan, ExecutionOptions options, IExecutionObserver observer,
        CancellationToken stopping, CancellationToken kill) =>
        new StudyExecution(store, launcher, scheduling.Value, loggers.CreateLogger<StudyExecution>()) { Search = options.Search }
            .RunAsync(study, plan.Slots, options, observer, stopping, kill);
}
