namespace Studies.Trials.Tests.Engine;

/// <summary>A test that needs a CUDA device: it runs where libtorch sees one and is reported skipped otherwise.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (Torch.CudaDeviceCount() == 0) Skip = "skipped: no CUDA device";
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    /// <summary>Tests that measure the whole process (memory, threads) run alone.</summary>
    public const string Name = "serial";
}
