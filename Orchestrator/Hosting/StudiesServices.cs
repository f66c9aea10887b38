using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Studies.Orchestrator.Cluster;
using Studies.Orchestrator.Reporting;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Storage;
using Studies.Orchestrator.Storage.PostgreSql;
using Studies.Orchestrator.Storage.Sqlite;
using Studies.Orchestrator.Terminal;
using Studies.Orchestrator.Workers;
using Studies.Trials.Catalog;
using Studies.Trials.Runs;
using Studies.Trials.Training;

namespace Studies.Orchestrator.Hosting;

/// <summary>
/// The one composition root of the orchestrator: <c>studies run</c>, <c>studies serve</c>, the read commands and the
/// worker all get their parts from <see cref="AddStudies"/>. Store backends and executors are registered here and
/// nowhere else; the scheduler, the CLI and the reports only see their interfaces.
/// </summary>
public static class StudiesServices
{
    public static IServiceCollection AddStudies(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StudiesOptions>().Bind(configuration.GetSection(StudiesOptions.Section));
        services.AddOptions<SchedulingOptions>().Bind(configuration.GetSection(SchedulingOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SchedulingOptions>, DataAnnotationsValidation<SchedulingOptions>>();
        services.TryAddSingleton(sp => Workspace.Resolve(sp.GetRequiredService<IOptions<StudiesOptions>>().Value.Home));

        // Stores: one backend per scheme.
        services.AddSingleton<IStorageBackend, SqliteBackend>();
        services.AddSingleton<IStorageBackend, PostgreSqlBackend>();
        services.AddSingleton<StudyStorageFactory>();
        services.AddSingleton<StudyStores>();

        // Executors, chosen by a study's resources.executor.
        services.TryAddSingleton<IHostDevices, LibtorchHostDevices>();
        services.TryAddSingleton(WorkerCommandLine.Self());
        services.TryAddSingleton<ITrialLauncher>(sp =>
        {
            var scheduling = sp.GetRequiredService<IOptions<SchedulingOptions>>().Value;
            return new ProcessTrialLauncher(sp.GetRequiredService<WorkerCommandLine>(), sp.GetRequiredService<ILogger<ProcessTrialLauncher>>())
            {
                HeartbeatTimeout = TimeSpan.FromSeconds(scheduling.WorkerSilenceSeconds),
                StopGrace = TimeSpan.FromSeconds(scheduling.StopGraceSeconds),
            };
        });
        services.AddKeyedSingleton<ITrialExecutor, LocalTrialExecutor>(LocalTrialExecutor.Name);
        services.TryAddSingleton<ISlurm, SlurmCommands>();
        services.AddKeyedSingleton<ITrialExecutor, SlurmTrialExecutor>(SlurmTrialExecutor.Name);

        services.TryAddSingleton<IReportPublisher, StoreReportPublisher>();
        services.TryAddSingleton<Notifier>();
        services.TryAddSingleton<ServeNotifications>();
        services.TryAddSingleton<IExecutionObserverFactory, LoggingProgressFactory>();
        services.AddSingleton<IStudyRunner, StudyRunService>();

        // What a worker process runs.
        return services.AddTrialRunner();
    }

    /// <summary>
    /// What a worker process needs to train trials, and nothing else: the component catalog (the built-in one unless a
    /// caller registered its own first) and the <see cref="ITrialRunner"/> built from it.
    /// </summary>
    public static IServiceCollection AddTrialRunner(this IServiceCollection services)
    {
        services.TryAddSingleton(ComponentCatalog.BuiltIn);
        services.TryAddSingleton<ITrialRunner>(sp => TrialRunner.For(sp.GetRequiredService<ComponentCatalog>()));
        return services;
    }

    /// <summary>The services of a worker process (<c>studies worker</c>): <see cref="AddTrialRunner"/> alone, no configuration.</summary>
    public static ServiceProvider ForWorker() => new ServiceCollection().AddTrialRunner().BuildServiceProvider();

    /// <summary>
    /// Configuration of every entry point, later sources winning: the defaults (home <c>./runs</c>), the environment
    /// (<c>STUDIES_HOME</c>, <c>STUDIES_STORE</c>, <c>STUDIES_LOG</c>, and any option as <c>STUDIES_Section__Name</c>, e.g.
    /// <c>STUDIES_Scheduling__WorkerSilenceSeconds</c>), then the command line (<c>--home</c>, <c>--store</c>, <c>--data-root</c>).
    /// An empty value counts as not set.
    /// </summary>
    /// <param name="environment">The environment variables (default: this process's); a test passes its own.</param>
    public static IConfiguration Configuration(string? home = null, string? store = null, IReadOnlyList<string>? dataRoots = null,
        System.Collections.IDictionary? environment = null)
    {
        static string Key(string name) => $"{StudiesOptions.Section}:{name}";
        var commandLine = new Dictionary<string, string?> { [Key(nameof(StudiesOptions.Home))] = home, [Key(nameof(StudiesOptions.Store))] = store };
        foreach (var (root, i) in (dataRoots ?? []).Select((r, i) => (r, i))) commandLine[Key($"{nameof(StudiesOptions.DataRoots)}:{i}")] = root;
        return new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [Key(nameof(StudiesOptions.Home))] = Workspace.DefaultHome })
            .AddInMemoryCollection(FromEnvironment(environment ?? Environment.GetEnvironmentVariables()))
            .AddInMemoryCollection(commandLine.Where(kv => kv.Value is { Length: > 0 }))
            .Build();
    }

    /// <summary>The short names users set (STUDIES_HOME, ...) and their options.</summary>
    private static readonly Dictionary<string, string> ShortNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["HOME"] = nameof(StudiesOptions.Home), ["STORE"] = nameof(StudiesOptions.Store), ["LOG"] = nameof(StudiesOptions.Log),
    };

    private static IEnumerable<KeyValuePair<string, string?>> FromEnvironment(System.Collections.IDictionary environment)
    {
        const string prefix = "STUDIES_";
        foreach (System.Collections.DictionaryEntry e in environment)
        {
            if (e.Key is not string name || !name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) || e.Value is not string { Length: > 0 } value) continue;
            var rest = name[prefix.Length..];
            yield return KeyValuePair.Create(ShortNames.TryGetValue(rest, out var option) ? $"{StudiesOptions.Section}:{option}" : rest.Replace("__", ":"), (string?)value);
        }
    }

    /// <summary>
    /// The services of a foreground command (no host): options are validated here, at start, so a bad interval is one clear
    /// line before anything runs (<see cref="OptionsValidationException"/>).
    /// </summary>
    public static ServiceProvider ForCommand(IConfiguration configuration, ILoggerFactory loggers, Action<IServiceCollection>? customise = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(loggers);
        services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        services.AddStudies(configuration);
        customise?.Invoke(services);
        var provider = services.BuildServiceProvider();
        _ = provider.GetRequiredService<IOptions<SchedulingOptions>>().Value;
        return provider;
    }

    /// <summary>The Generic Host of <c>studies serve</c>: the queue folder watched by <see cref="StudyQueueService"/>.</summary>
    public static IHost ServeHost(IConfiguration configuration, Action<IServiceCollection>? customise = null)
    {
        var builder = Host.CreateApplicationBuilder([]);
        builder.Configuration.AddConfiguration(configuration);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-dd HH:mm:ss "; });
        // Workers get time to checkpoint after SIGTERM before the host gives up on them.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(2));
        builder.Services.AddStudies(builder.Configuration);
        builder.Services.AddSingleton(sp => new StudyQueue(sp.GetRequiredService<Workspace>().Queue));
        builder.Services.AddHostedService<StudyQueueService>();
        customise?.Invoke(builder.Services);
        return builder.Build();
    }
}

/// <summary>Checks an options class's [Range]-style attributes and its own <see cref="IValidatableObject"/> rules.</summary>
public sealed class DataAnnotationsValidation<T> : IValidateOptions<T> where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        var results = new List<ValidationResult>();
        return Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(results.Select(r => $"{typeof(T).Name}: {r.ErrorMessage}"));
    }
}
