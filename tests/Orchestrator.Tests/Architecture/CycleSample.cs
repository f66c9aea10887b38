// Two namespaces that use each other on purpose, for NamespaceCycleTests: Left through a field's type, Right only
// inside a method body (a call), which a reader of signatures alone would miss.
namespace Studies.Orchestrator.Tests.Architecture.CycleSample.Left
{
    public sealed class Callee
    {
        public Right.Caller? Back;

        public static int Answer() => 42;
    }
}

namespace Studies.Orchestrator.Tests.Architecture.CycleSample.Right
{
    public sealed class Caller
    {
        public static int Ask() => Left.Callee.Answer() + 1;
    }
}
