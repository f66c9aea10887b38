using Studies.Trials.Components;

namespace Studies.Orchestrator.Studies;

/// <summary>
/// A kind of executor a study may name in <c>resources.executor</c> (or <c>studies run --executor</c>): its name, a line
/// for the docs, and whether its workers run on other hosts and so need a store every node reaches
/// (<see cref="Storage.StoreBackendEntry.Shared"/>). The implementation (<c>Scheduling.ITrialExecutor</c>) is registered
/// under <see cref="Name"/> in the composition root (<c>Hosting/StudiesServices</c>).
/// </summary>
public sealed record ExecutorEntry(string Name, string Doc, bool NeedsSharedStore) : IComponentEntry
{
    public IReadOnlyList<OptionSpec> Options => [];
}

/// <summary>The executor registry: the study reader, <c>--executor</c> and the docs table read it.</summary>
public static class ExecutorKinds
{
    /// <summary>The default of <c>resources.executor</c> (a constant: it is a parameter default of <see cref="ResourcesSection"/>).</summary>
    public const string LocalName = "local";

    public static readonly ExecutorEntry Local = new(LocalName,
        "Worker processes on this host's cores or GPUs, one trial per slot at a time (the default).", NeedsSharedStore: false);

    public static readonly ExecutorEntry Slurm = new("slurm",
        "A Slurm job array whose tasks claim trials from a shared store until none is left ([cluster.md](cluster.md)).", NeedsSharedStore: true);

    public static Registry<ExecutorEntry> All { get; } = new("executor", [Local, Slurm]);
}
