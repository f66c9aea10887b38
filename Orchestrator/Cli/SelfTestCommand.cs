using System.CommandLine;
using Studies.Orchestrator.Bench;

namespace Studies.Orchestrator.Cli;

/// <summary><c>studies selftest [--device cuda:0]</c>: the device checks, runnable without the .NET SDK.</summary>
internal static class SelfTestCommand
{
    public static Command Create()
    {
        var device = new Option<string>("--device") { Description = "Device to check: cuda:N (default cuda:0) or cpu", DefaultValueFactory = _ => "cuda:0" };
        var command = new Command("selftest",
            "Check tensors, training, generators, checkpoints, out-of-memory handling and CUDA_VISIBLE_DEVICES on a device; exit 1 if a check fails") { device };
        command.SetAction(parse => DeviceSelfTest.Run(parse.GetValue(device)!, Console.Out));
        return command;
    }
}
