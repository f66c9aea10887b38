using Microsoft.Extensions.Logging;

namespace Studies.Orchestrator.Hosting;

/// <summary>Console logging for the foreground commands: warnings and errors only, on standard error, so progress stays readable.</summary>
public static class Logging
{
    public static ILoggerFactory CreateFactory(LogLevel minimum = LogLevel.Warning) => CreateFactory(null, minimum);

    /// <param name="provider">Where lines go instead of standard error (the live view of <c>studies run</c>); null: standard error.</param>
    public static ILoggerFactory CreateFactory(ILoggerProvider? provider, LogLevel minimum = LogLevel.Warning) =>
        LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(Environment.GetEnvironmentVariable("STUDIES_LOG") is { } level && Enum.TryParse<LogLevel>(level, true, out var parsed) ? parsed : minimum);
            if (provider is not null) builder.AddProvider(provider);
            else builder
                .AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; })
                .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        });
}
