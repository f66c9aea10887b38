using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;

namespace Studies.Orchestrator.Tests.Studies;

/// <summary>The executor registry is what the reader accepts, what the composition root can run, and what the docs list.</summary>
public sealed class ExecutorKindsTests
{
    private static string WithExecutor(string name) => $"{StudyText.Header}\nresources: {{executor: {name}}}\nbase: {{schedule: [{{loss: bce, epochs: 1}}]}}";

    [Fact]
    public void Every_registered_executor_is_accepted_and_an_unknown_one_lists_exactly_the_registered_ones()
    {
        foreach (var name in ExecutorKinds.All.Names) Assert.Equal(name, StudyText.Load(WithExecutor(name)).Resources.Executor);
        var error = Assert.Throws<StudyValidationException>(() => StudyText.Load(WithExecutor("kubernetes"))).Errors.Single();
        Assert.EndsWith($"valid: {string.Join(", ", ExecutorKinds.All.Names)}", error.Message);
        Assert.Equal(ExecutorKinds.Local.Name, StudyText.Load($"{StudyText.Header}\nbase: {{schedule: [{{loss: bce, epochs: 1}}]}}").Resources.Executor);
    }

    [Fact]
    public async Task The_composition_root_runs_every_registered_executor()
    {
        await using var services = StudiesServices.ForCommand(StudiesServices.Configuration(home: Path.GetTempPath()), NullLoggerFactory.Instance);
        foreach (var name in ExecutorKinds.All.Names) Assert.NotNull(services.GetKeyedService<ITrialExecutor>(name));
        Assert.Null(services.GetKeyedService<ITrialExecutor>("kubernetes"));
    }

    [Fact]
    public async Task An_executor_that_needs_a_shared_store_refuses_one_that_is_not()
    {
        var entry = Assert.Single(ExecutorKinds.All.Entries, e => e.NeedsSharedStore);
        await using var services = StudiesServices.ForCommand(StudiesServices.Configuration(home: Path.GetTempPath()), NullLoggerFactory.Instance);
        var executor = services.GetRequiredKeyedService<ITrialExecutor>(entry.Name);
        var folder = Directory.CreateTempSubdirectory("studies-executor-").FullName;
        try
        {
            var notShared = StoreLocation.Parse(Path.Combine(folder, "local.db"), folder);
            Assert.False(notShared.Backend.Shared);
            var options = new ExecutionOptions { ArtifactsDirectory = folder, Store = notShared };
            var error = await Assert.ThrowsAsync<ResourceException>(() => executor.RunAsync(null!, new StudyRow(1, "s", null, "", "", "", new StudySettings(), 0, 0, false),
                new ExecutorPlan([]), options, new NullObserver(), CancellationToken.None, CancellationToken.None));
            Assert.Contains("a store every node reaches", error.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private sealed class NullObserver : IExecutionObserver;
}
