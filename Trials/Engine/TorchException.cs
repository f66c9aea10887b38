namespace Studies.Trials.Engine;

/// <summary>A libtorch error (shape mismatch, wrong device, bad argument), with libtorch's own message.</summary>
public sealed class TorchException(string message, TorchErrorKind kind = TorchErrorKind.Other) : Exception(message)
{
    /// <summary>What kind of failure it was: an out-of-memory error calls for fewer trials per device, not a fix.</summary>
    public TorchErrorKind Kind { get; } = kind;

    public bool IsOutOfMemory => Kind == TorchErrorKind.OutOfMemory;
}

/// <summary>Kinds of libtorch failure the orchestrator reacts to differently; numbered as <c>st::ErrorKind</c>.</summary>
public enum TorchErrorKind
{
    Other = 0,
    OutOfMemory = 1,
}

/// <summary>Recognises the kind of a libtorch failure.</summary>
public static class TorchErrors
{
    /// <summary>
    /// libtorch's message without the C++ backtrace it appends (c10::Error::what(): the message, then "Exception raised
    /// from ..." and a frame per line). A worker on a full disk printed all 1.7 KB of it as its one line; the frames
    /// help nobody running a study, so they are cut here, where every native error passes.
    /// </summary>
    public static string WithoutBacktrace(string message)
    {
        var cut = message.IndexOf("Exception raised from ", StringComparison.Ordinal);
        if (cut < 0) cut = message.IndexOf("\nframe #0", StringComparison.Ordinal);
        var text = (cut >= 0 ? message[..cut] : message).Trim();
        // What is left may still span lines (a shape error quotes two); one line, at most 500 characters.
        text = string.Join(" ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return text.Length == 0 ? "unknown libtorch error" : text.Length <= 500 ? text : text[..500] + "...";
    }

    /// <summary>
    /// The native side marks CUDA's <c>OutOfMemoryError</c> and <c>std::bad_alloc</c>; libtorch's CPU
    /// allocator reports a plain error ("DefaultCPUAllocator: not enough memory" in 1.13, "can't
    /// allocate memory" in 2.x), and CUDA errors raised outside the caching allocator say "out of
    /// memory", so the message decides for those.
    /// </summary>
    public static TorchErrorKind Classify(TorchErrorKind nativeKind, string message) =>
        nativeKind == TorchErrorKind.OutOfMemory
        || message.Contains("out of memory", StringComparison.OrdinalIgnoreCase)
        || message.Contains("not enough memory", StringComparison.OrdinalIgnoreCase)
        || message.Contains("can't allocate memory", StringComparison.OrdinalIgnoreCase)
        || message.Contains("CUDA error: out of memory", StringComparison.Ordinal)
            ? TorchErrorKind.OutOfMemory
            : TorchErrorKind.Other;
}
