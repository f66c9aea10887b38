namespace Studies.Trials.Engine;

/// <summary>
/// A seeded random generator that every random operation of a trial takes (initialisers,
/// dropout, permutations, sampling). libtorch's default generator is process-global, so two
/// concurrent trials sharing it give different numbers from run to run; one generator per trial
/// keeps each trial deterministic for its seed whatever runs beside it.
/// </summary>
public sealed class Generator : IDisposable
{
    internal readonly GeneratorHandle Handle;

    public Generator(ulong seed, Device? device = null)
    {
        Native.EnsureLoaded();
        var d = device ?? Device.CPU;
        var h = Native.st_generator_new(seed, (int)d.Type, d.Index);
        if (h == IntPtr.Zero) throw Native.LastException();
        Handle = new GeneratorHandle(h);
        Device = d;
    }

    public Device Device { get; }

    public ulong InitialSeed => Native.st_generator_initial_seed(Handle);

    /// <summary>The full generator state (a byte tensor), for checkpoints.</summary>
    public Tensor GetState() => Tensor.Wrap(Native.st_generator_get_state(Handle));

    public void SetState(Tensor state) => Native.Check(Native.st_generator_set_state(Handle, state.Handle));

    internal static GeneratorHandle HandleOf(Generator? generator) => generator?.Handle ?? GeneratorHandle.Default;

    public void Dispose() => Handle.Dispose();
}
