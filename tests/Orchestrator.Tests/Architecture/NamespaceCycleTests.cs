using System.Reflection;

namespace Studies.Orchestrator.Tests.Architecture;

/// <summary>
/// No namespace of Trials, Reports or the orchestrator uses, directly or around a loop, a namespace that uses it
/// (issue 22; none is exempt). A cycle is reported edge by edge with one type that makes each edge. The reader and the cycle finder
/// are checked on a synthetic graph and on two namespaces of this assembly made to use each other on purpose.
/// </summary>
public sealed class NamespaceCycleTests
{
    /// <summary>One type of each assembly (its name, since the assemblies are Trials, Reports and studies).</summary>
    private static readonly Dictionary<string, Assembly> Products = new()
    {
        ["Trials"] = typeof(global::Studies.Trials.Specs.TrialSpec).Assembly,
        ["Reports"] = typeof(global::Studies.Reports.ReportBuilder).Assembly,
        ["Orchestrator"] = typeof(global::Studies.Orchestrator.Hosting.IStudyRunner).Assembly,
    };

    public static TheoryData<string> Assemblies => [.. Products.Keys];

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void No_namespace_cycles(string assemblyName)
    {
        var assembly = Products[assemblyName];
        var graph = NamespaceGraph.Of(assembly);
        Assert.True(graph.Edges.Count > 3, $"{assemblyName}: only {graph.Edges.Count} namespaces read");
        var cycles = graph.Cycles();
        Assert.True(cycles.Count == 0, $"{assemblyName} has namespace cycles:\n" + string.Join("\n", cycles.Select(c => string.Join(" <-> ", c) + "\n" + graph.Describe(c))));
    }

    [Fact]
    public void Finds_a_cycle_injected_into_a_synthetic_graph()
    {
        var graph = new NamespaceGraph();
        graph.Add("A", "B", "a uses b");
        graph.Add("B", "C", "b uses c");
        graph.Add("D", "A", "d uses a");
        Assert.Empty(graph.Cycles());

        graph.Add("C", "A", "c uses a");
        var cycle = Assert.Single(graph.Cycles());
        Assert.Equal(["A", "B", "C"], cycle);
        Assert.Contains("C -> A: c uses a", graph.Describe(cycle));
        Assert.DoesNotContain("D", graph.Describe(cycle));
    }

    [Fact]
    public void Reads_a_cycle_made_by_a_method_body_alone()
    {
        var graph = NamespaceGraph.Of(typeof(NamespaceCycleTests).Assembly);
        var cycle = Assert.Single(graph.Cycles(), c => c.Any(n => n.EndsWith(".CycleSample.Left", StringComparison.Ordinal)));
        Assert.Equal(2, cycle.Count);
        Assert.Contains("CycleSample.Right.Caller uses Studies.Orchestrator.Tests.Architecture.CycleSample.Left.Callee", graph.Describe(cycle));
    }
}
