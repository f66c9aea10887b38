namespace Studies.Trials.Engine;

/// <summary>A libtorch error (shape mismatch, wrong device, bad argument), with libtorch's own message.</summary>
public sealed class TorchException(string message) : Exception(message);
