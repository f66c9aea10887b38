using Studies.Trials.Engine;

namespace Studies.Orchestrator.Bench;

/// <summary>The <c>--device</c> of the device commands (selftest, bench packing): parsed, or one line on stderr and null.</summary>
internal static class CommandDevice
{
    public static Device? Parse(string text)
    {
        try
        {
            return Device.Parse(text);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine(e.Message);
            return null;
        }
    }
}
