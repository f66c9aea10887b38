using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using Studies.Orchestrator.Reporting;
using Studies.Orchestrator.Scheduling;
using Studies.Orchestrator.Workers;

namespace Studies.Orchestrator.Hosting;

/// <summary>How the orchestrator's parts are put together, for the foreground run and for the hosted service alike.</summary>
public static class Services
{
    public static IStudyRunner StudyRunner(Workspace workspace, ILoggerFactory loggers, IAnsiConsole console, IExecutionObserver? progress = null) =>
        new StudyRunService(workspace, loggers, new StoreReportPublisher(),
            new ProcessTrialLauncher(WorkerCommandLine.Self(), loggers.CreateLogger<ProcessTrialLauncher>()), console, progress);

    /// <summary>The Generic Host of <c>studies serve</c>: the queue folder watched by <see cref="StudyQueueService"/>; <paramref name="progress"/> also hears every trial's progress (the dashboard).</summary>
    public static IHost ServeHost(Workspace workspace, string[] args, IExecutionObserver? progress = null)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-dd HH:mm:ss "; });
        // Workers get time to checkpoint after SIGTERM before the host gives up on them.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(2));
        builder.Services.AddSingleton(workspace);
        builder.Services.AddSingleton(new StudyQueue(workspace.Queue));
        builder.Services.AddSingleton<IStudyRunner>(sp => StudyRunner(workspace, sp.GetRequiredService<ILoggerFactory>(), AnsiConsole.Console, progress));
        builder.Services.AddHostedService<StudyQueueService>();
        return builder.Build();
    }
}
