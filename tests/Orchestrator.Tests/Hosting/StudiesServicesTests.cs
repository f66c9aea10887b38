using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Trials.Catalog;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Tests.Hosting;

/// <summary>Every entry point gets its parts from the one composition root; a worker gets only what a trial needs.</summary>
public sealed class StudiesServicesTests
{
    [Fact]
    public void A_worker_builds_the_trial_runner_and_nothing_of_the_orchestrator()
    {
        using var worker = StudiesServices.ForWorker();
        Assert.NotNull(worker.GetService<ITrialRunner>());
        Assert.Same(ComponentCatalog.BuiltIn, worker.GetService<ComponentCatalog>());
        Assert.Null(worker.GetService<IStudyRunner>());
        Assert.Null(worker.GetService<StudyStores>());
        Assert.Empty(worker.GetServices<IStorageBackend>());
    }

    [Fact]
    public async Task A_command_builds_the_runner_the_stores_and_the_trial_runner_of_the_same_catalog()
    {
        var added = ComponentCatalog.BuiltIn.WithLoss(Components.BrierLoss.Entry);
        await using var services = StudiesServices.ForCommand(StudiesServices.Configuration(home: Path.GetTempPath()), NullLoggerFactory.Instance,
            s => s.AddSingleton(added));
        Assert.NotNull(services.GetService<IStudyRunner>());
        Assert.NotNull(services.GetService<StudyStores>());
        Assert.NotNull(services.GetService<ITrialLauncher>());
        Assert.Same(added, services.GetService<ComponentCatalog>());
    }
}
