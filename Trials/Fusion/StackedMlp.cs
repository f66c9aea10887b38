using Studies.Trials.Engine;
using Studies.Trials.Models;

namespace Studies.Trials.Fusion;

/// <summary>
/// The parameters of a pack's members stacked into one leaf tensor [members, P] (each member's parameters
/// laid end to end in model order), and the members' forward pass as one: every dense layer is one batched
/// matrix product over [members, events, width] (a single product over the shared input when the members
/// read the same events), following the member net's own structure (<see cref="ConditionedMlp.Logits(Tensor, Tensor?, Func{Linear, Tensor, Tensor})"/>).
/// </summary>
internal sealed class StackedMlp : IDisposable
{
    private readonly ConditionedMlp template;
    private readonly IReadOnlyList<(string Name, Tensor Parameter)> templateParameters;
    private readonly (long Offset, long Count, long[] Shape)[] layout;
    private readonly Dictionary<Linear, (int Weight, int? Bias)> layers = new(ReferenceEqualityComparer.Instance);

    /// <param name="template">One member's net: its structure (not its weights) is what the pack computes.</param>
    public StackedMlp(ConditionedMlp template, IReadOnlyList<IReadOnlyList<(string Name, Tensor Parameter)>> members)
    {
        this.template = template;
        templateParameters = template.NamedParameters().ToList();
        long offset = 0;
        layout = templateParameters.Select(p =>
        {
            var entry = (offset, p.Parameter.NumEl, p.Parameter.Shape);
            offset += p.Parameter.NumEl;
            return entry;
        }).ToArray();
        using var scope = TensorScope.Begin();
        using var noGrad = Torch.NoGrad();
        var rows = members.Select(m => Torch.Cat(m.Select(p => p.Parameter.Detach().Reshape(-1)).ToList())).ToList();
        Flat = TensorScope.Detach(scope.MoveToOuter(Torch.Stack(rows).Contiguous()));
        Flat.RequiresGrad = true;
        Count = members.Count;
    }

    /// <summary>The leaf [members, P] the pack's optimiser updates.</summary>
    public Tensor Flat { get; }
    public int Count { get; }
    /// <summary>The members' net (its structure, not its weights).</summary>
    public ConditionedMlp Template => template;
    /// <summary>Parameters per member (the length of a row of <see cref="Flat"/>).</summary>
    public long Row => layout.Sum(l => l.Count);

    /// <summary>Where one of the template's parameters starts in a member's row; -1 for none.</summary>
    public long OffsetOf(Tensor? parameter) =>
        parameter is null ? -1 : layout[IndexOf(parameter) ?? throw new InvalidOperationException("a layer of the member net is not among its parameters")].Offset;

    /// <summary>Scores [members, n, 1] for features [members, n, d] (or [n, d] shared by all) and masses [members, n, 1].</summary>
    public Tensor Logits(Tensor features, Tensor? scaledMass)
    {
        var views = layout.Select(l => Flat.Narrow(1, l.Offset, l.Count).Reshape([Count, .. l.Shape])).ToArray();
        return template.Logits(features, scaledMass, (layer, x) =>
        {
            var (w, b) = Layer(layer);
            var y = x.Matmul(views[w].Transpose(1, 2));
            return b is { } bias ? y + views[bias].Unsqueeze(1) : y;
        });
    }

    /// <summary>Copies member <paramref name="k"/>'s row back into its own parameters (for its validation, checkpoint and evaluation).</summary>
    public void WriteBack(int k, IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        using var scope = TensorScope.Begin();
        using var noGrad = Torch.NoGrad();
        var row = Flat.Detach().Narrow(0, k, 1).Squeeze(0);
        for (var i = 0; i < layout.Length; i++)
            parameters[i].Parameter.Copy_(row.Narrow(0, layout[i].Offset, layout[i].Count).Reshape(layout[i].Shape));
    }

    public void ZeroGrad()
    {
        using var scope = TensorScope.Begin();
        if (Flat.Grad is not null) Flat.ZeroGrad();
    }

    private (int Weight, int? Bias) Layer(Linear layer)
    {
        if (layers.TryGetValue(layer, out var found)) return found;
        var weight = IndexOf(layer.Weight) ?? throw new InvalidOperationException("a layer of the member net is not among its parameters");
        found = (weight, layer.Bias is null ? null : IndexOf(layer.Bias));
        layers[layer] = found;
        return found;
    }

    private int? IndexOf(Tensor t)
    {
        for (var i = 0; i < templateParameters.Count; i++) if (ReferenceEquals(templateParameters[i].Parameter, t)) return i;
        return null;
    }

    public void Dispose() => Flat.Dispose();
}

/// <summary>A member's net as its loss sees it in a pack: it hands back the scores the pack computed for the member's events.</summary>
internal sealed class ReplayedModel(bool usesMass) : ClassifierModel
{
    public Tensor? Next { get; set; }

    public override bool UsesMass => usesMass;

    public override Tensor Logits(Tensor features, Tensor? scaledMass)
    {
        var next = Next ?? throw new InvalidOperationException("no scores computed for this step");
        if (next.Size(0) != features.Size(0)) throw new InvalidOperationException($"the pack scored {next.Size(0)} events, the loss asks for {features.Size(0)}");
        return next;
    }
}
