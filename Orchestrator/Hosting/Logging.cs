using Microsoft.Extensions.Logging;

namespace Studies.Orchestrator.Hosting;

/// <summary>Console logging for the foreground commands: warnings and errors only, on standard error, so progress stays readable.</summary>
public static class Logging
{
    public static ILoggerFactory CreateFactory(LogLevel minimum = LogLevel.Warning) => CreateFactory(null, minimum);

    /// <param name="provider">Where lines go instead of standard error (the live view of <c>studies run</c>); null: standard error.</param>
    /// <param name="configuration">Where <c>Studies:Log</c> (STUDIES_LOG) is read; default: <see cref="StudiesServices.Configuration"/>.</param>
    public static ILoggerFactory CreateFactory(ILoggerProvider? provider, LogLevel minimum = LogLevel.Warning,
        Microsoft.Extensions.Configuration.IConfiguration? configuration = null) =>
        LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(StudiesOptions.From(configuration ?? StudiesServices.Configuration()).LogLevelOr(minimum));
            if (provider is not null) builder.AddProvider(provider);
            else builder
                .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
                .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        });
}
