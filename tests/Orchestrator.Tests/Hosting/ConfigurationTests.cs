using System.Collections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Studies.Orchestrator.Hosting;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;

namespace Studies.Orchestrator.Tests.Hosting;

/// <summary>
/// Home, store and log reach every command through one configuration (<see cref="StudiesServices.Configuration"/>):
/// the command line over the environment over the defaults. Each case is judged by its effect: where the composition
/// root's store is created, which level a logger writes, what the scheduler is given.
/// </summary>
public sealed class ConfigurationTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("studies-config-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private string In(string name) => Path.Combine(dir, name);

    /// <summary>Opens the store the composition root of <paramref name="configuration"/> locates, as `studies run` would, and returns its file.</summary>
    private static async Task<string> StoreFileAsync(IConfiguration configuration)
    {
        await using var services = StudiesServices.ForCommand(configuration, NullLoggerFactory.Instance);
        var stores = services.GetRequiredService<StudyStores>();
        var location = stores.Locate();
        await using (await stores.OpenAsync(location, StoreAccess.ReadWrite)) { }
        Assert.True(File.Exists(location.Target), $"nothing created at {location.Target}");
        return location.Target;
    }

    [Fact]
    public async Task STUDIES_HOME_and_home_both_move_the_store_and_the_option_wins()
    {
        var env = new Hashtable { ["STUDIES_HOME"] = In("from-env") };
        Assert.Equal(Path.Combine(In("from-env"), "studies.db"), await StoreFileAsync(StudiesServices.Configuration(environment: env)));
        Assert.Equal(Path.Combine(In("from-option"), "studies.db"), await StoreFileAsync(StudiesServices.Configuration(home: In("from-option"), environment: env)));
    }

    [Fact]
    public void Without_either_the_home_is_runs_and_an_empty_variable_counts_as_unset()
    {
        var expected = Path.GetFullPath(Workspace.DefaultHome);
        Assert.Equal(expected, Workspace.From(StudiesServices.Configuration(environment: new Hashtable())).Root);
        Assert.Equal(expected, Workspace.From(StudiesServices.Configuration(environment: new Hashtable { ["STUDIES_HOME"] = "" })).Root);
    }

    [Fact]
    public async Task STUDIES_STORE_and_store_both_choose_the_store_over_the_study_file_and_the_option_wins()
    {
        var env = new Hashtable { ["STUDIES_STORE"] = "sqlite:" + In("env.db"), ["STUDIES_HOME"] = In("home") };
        Assert.Equal(In("env.db"), await StoreFileAsync(StudiesServices.Configuration(environment: env)));
        Assert.Equal(In("option.db"), await StoreFileAsync(StudiesServices.Configuration(store: "sqlite:" + In("option.db"), environment: env)));

        // A study's own store: counts only when neither is set.
        await using var services = StudiesServices.ForCommand(StudiesServices.Configuration(environment: env), NullLoggerFactory.Instance);
        var stores = services.GetRequiredService<StudyStores>();
        Assert.Equal(In("env.db"), stores.Locate("sqlite:study.db", dir).Target);
        Assert.False(stores.StudyChoosesStore("sqlite:study.db"));
        await using var plain = StudiesServices.ForCommand(StudiesServices.Configuration(environment: new Hashtable { ["STUDIES_HOME"] = In("home") }), NullLoggerFactory.Instance);
        Assert.Equal(In("study.db"), plain.GetRequiredService<StudyStores>().Locate("sqlite:study.db", dir).Target);
        Assert.True(plain.GetRequiredService<StudyStores>().StudyChoosesStore("sqlite:study.db"));
    }

    [Fact]
    public void STUDIES_LOG_sets_the_level_loggers_write_at()
    {
        using (var quiet = Logging.CreateFactory(null, LogLevel.Warning, StudiesServices.Configuration(environment: new Hashtable())))
        {
            Assert.False(quiet.CreateLogger("x").IsEnabled(LogLevel.Debug));
            Assert.True(quiet.CreateLogger("x").IsEnabled(LogLevel.Warning));
        }
        using var verbose = Logging.CreateFactory(null, LogLevel.Warning, StudiesServices.Configuration(environment: new Hashtable { ["STUDIES_LOG"] = "debug" }));
        Assert.True(verbose.CreateLogger("x").IsEnabled(LogLevel.Debug));
        using var errors = Logging.CreateFactory(null, LogLevel.Warning, StudiesServices.Configuration(environment: new Hashtable { ["studies_log"] = "Error" }));
        Assert.False(errors.CreateLogger("x").IsEnabled(LogLevel.Warning));
    }

    [Fact]
    public async Task Any_option_is_set_from_the_environment_by_section_and_name()
    {
        var env = new Hashtable { ["STUDIES_Scheduling__WorkerSilenceSeconds"] = "77", ["STUDIES_HOME"] = In("home") };
        await using var services = StudiesServices.ForCommand(StudiesServices.Configuration(environment: env), NullLoggerFactory.Instance);
        Assert.Equal(77, services.GetRequiredService<IOptions<SchedulingOptions>>().Value.WorkerSilenceSeconds);
        Assert.NotEqual(77, new SchedulingOptions().WorkerSilenceSeconds);
    }
}
