using System.Text;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Studies.Orchestrator.Terminal;

/// <summary>How <c>studies run</c> shows progress: a live table redrawn in place, or one line per finished trial.</summary>
public enum ProgressMode
{
    /// <summary>Live on a terminal, log lines when standard output is redirected (nohup, Slurm, CI).</summary>
    Auto,
    Live,
    Log,
}

/// <summary>
/// Everything <c>studies run</c> prints while trials run goes through here. With a live view on screen every line
/// (a finished trial, a warning of the log, "stopping: ...") is written through Spectre, which draws it above the live
/// view and redraws the view below: a line written past it (to stderr, say) would leave the view's old rows on screen,
/// glued to later output. Without a live view lines go straight to the streams, unwrapped, one line each.
/// </summary>
public sealed class TerminalOutput(IAnsiConsole console, bool live, TextWriter? lines = null, TextWriter? errors = null)
{
    private readonly Lock gate = new();

    public IAnsiConsole Console { get; } = console;

    /// <summary>Whether a live view is drawn (a terminal, and not <c>--progress log</c>).</summary>
    public bool Live { get; } = live;

    /// <summary>Prints nothing (benchmarks run studies without progress).</summary>
    public static TerminalOutput Quiet() =>
        new(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null), Interactive = InteractionSupport.No }), false, TextWriter.Null, TextWriter.Null);

    public static TerminalOutput For(ProgressMode mode, IAnsiConsole console)
    {
        var terminal = console.Profile.Capabilities.Interactive && !System.Console.IsOutputRedirected;
        return new TerminalOutput(console, mode == ProgressMode.Live || (mode == ProgressMode.Auto && terminal));
    }

    /// <summary>One line of output (<paramref name="colour"/>: a Spectre colour name for the live view).</summary>
    public void Line(string text, string? colour = null)
    {
        lock (gate)
        {
            if (!Live)
            {
                var writer = lines ?? System.Console.Out;
                writer.WriteLine(text);
                writer.Flush();
            }
            else if (colour is null) Console.WriteLine(Fit(text));
            else Console.MarkupLine($"[{colour}]{Markup.Escape(Fit(text))}[/]");
        }
    }

    /// <summary>A message that belongs on standard error (a warning); on the live view it is drawn above the table.</summary>
    public void ErrorLine(string text)
    {
        lock (gate)
        {
            if (!Live) (errors ?? System.Console.Error).WriteLine(text);
            else Console.MarkupLine($"[yellow]{Markup.Escape(Fit(text))}[/]");
        }
    }

    /// <summary>
    /// The first line of a message: a line of its own on the live view. Spectre wraps it at the screen's width and counts
    /// the rows when it moves the view below it.
    /// </summary>
    private static string Fit(string text) => text.Split('\n')[0];

    /// <summary>A writer whose lines are <see cref="ErrorLine"/>s (for <c>Cli.StopSignals</c>' messages).</summary>
    public TextWriter ErrorWriter() => new LineWriter(ErrorLine);

    /// <summary>The foreground commands' warnings and errors, as lines through here.</summary>
    public ILoggerProvider LoggerProvider() => new Provider(this);

    private sealed class LineWriter(Action<string> line) : TextWriter
    {
        private readonly StringBuilder pending = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            if (value == '\n')
            {
                line(pending.ToString());
                pending.Clear();
            }
            else if (value != '\r') pending.Append(value);
        }

        public override void WriteLine(string? value)
        {
            Write(value);
            Write('\n');
        }
    }

    private sealed class Provider(TerminalOutput output) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(output);

        public void Dispose()
        {
        }
    }

    private sealed class Logger(TerminalOutput output) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var level = logLevel switch { LogLevel.Warning => "warn", LogLevel.Error => "fail", LogLevel.Critical => "crit", LogLevel.Information => "info", _ => "dbug" };
            output.ErrorLine($"{DateTime.Now:HH:mm:ss} {level}: {formatter(state, exception)}");
        }
    }
}
