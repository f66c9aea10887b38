using System.CommandLine;
using Studies.Trials.Engine;

namespace Studies.Orchestrator.Cli;

/// <summary><c>studies info</c>: what this host offers a study (libtorch, BLAS, threads, devices).</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Show the libtorch build, its BLAS, thread count and CUDA devices of this host");
        command.SetAction(_ =>
        {
            var blas = Torch.Blas();
            Console.WriteLine($"libtorch     {Torch.Version}");
            Console.WriteLine($"BLAS         {blas}");
            if (blas.IsReference)
                Console.WriteLine("             warning: the reference BLAS is ~20x slower; install libopenblas0-pthread");
            Console.WriteLine($"threads      {Torch.GetNumThreads()} (libtorch default; each trial sets its own)");
            foreach (var (name, _) in ThreadingEnvironment.Defaults)
                Console.WriteLine($"threading    {name}={ThreadingEnvironment.Current(name)} (read by libtorch's OpenMP when it loads; set it yourself to override)");
            Console.WriteLine($"CPU cores    {Environment.ProcessorCount}");
            Console.WriteLine($"CUDA devices {Torch.CudaDeviceCount()}");
            return 0;
        });
        return command;
    }
}
