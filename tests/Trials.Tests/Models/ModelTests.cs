using Studies.Trials.Catalog;
using Studies.Trials.Models;
using Studies.Trials.Specs;

namespace Studies.Trials.Tests.Models;

public sealed class ModelTests
{
    private static (Tensor X, Tensor M) Inputs(int n, int d, Generator g) => (Torch.Randn([n, d], g), Torch.Rand([n, 1], g));

    private static long ParameterCount(Module m) => m.Parameters().Sum(p => p.NumEl);

    [Theory]
    [InlineData("dnn", false, 4 * 8 + 8 + 8 * 4 + 4 + 4 + 1)]
    [InlineData("pnn", true, 5 * 8 + 8 + 8 * 4 + 4 + 4 + 1)]
    // affine after both hidden layers: two (1 -> width) linears per layer
    [InlineData("affine-pnn", true, 4 * 8 + 8 + 8 * 4 + 4 + 4 + 1 + 2 * (8 + 8) + 2 * (4 + 4))]
    public void Reference_kinds_have_the_documented_structure(string kind, bool usesMass, long parameters)
    {
        using var scope = TensorScope.Begin();
        using var g = new Generator(1);
        using var model = ModelFactory.Create(new ModelSpec { Kind = kind, Hidden = [8, 4] }, 4, [0.5, 1], g);
        Assert.Equal(usesMass, model.UsesMass);
        Assert.Equal(parameters, ParameterCount(model));
        var (x, m) = Inputs(10, 4, g);
        Assert.Equal([10L, 1L], model.Logits(x, m).Shape);
    }

    [Theory]
    [InlineData("concat", "input")]
    [InlineData("concat", "start")]
    [InlineData("concat", "end")]
    [InlineData("concat", "all")]
    [InlineData("concat", "every")]
    [InlineData("bias", "input")]
    [InlineData("bias", "start")]
    [InlineData("bias", "end")]
    [InlineData("bias", "all")]
    [InlineData("bias", "every")]
    [InlineData("scale", "input")]
    [InlineData("scale", "start")]
    [InlineData("scale", "end")]
    [InlineData("scale", "all")]
    [InlineData("scale", "every")]
    [InlineData("affine", "input")]
    [InlineData("affine", "start")]
    [InlineData("affine", "end")]
    [InlineData("affine", "all")]
    [InlineData("affine", "every")]
    public void Every_conditioning_makes_the_output_depend_on_the_mass(string method, string place)
    {
        using var scope = TensorScope.Begin();
        using var g = new Generator(2);
        using var model = ModelFactory.Create(new ModelSpec { Kind = "pnn", Hidden = [6, 5], Conditioning = new(method, place) }, 3, [1], g);
        var x = Torch.Randn([16, 3], g);
        var low = model.Logits(x, Torch.Full([16, 1], 0.2)).ToArray<float>();
        var high = model.Logits(x, Torch.Full([16, 1], 0.9)).ToArray<float>();
        Assert.True(low.Zip(high).Count(p => Math.Abs(p.First - p.Second) > 1e-6) >= 8, $"{method}/{place} ignores the mass");
    }

    // Widths 3 (inputs), 6 and 5 (hidden) are distinct, so the width a conditioning acts on names its point:
    // 0 the inputs, 1 after the first, 2 after the last hidden layer. The AffinePNN reference
    // (script/models/affine.py) conditions every hidden layer's output (points 1 and 2), neither the inputs
    // nor the output layer; Baldi's pNN appends the mass to the inputs (point 0).
    [Theory]
    [InlineData("affine", "all", new[] { 1, 2 })]
    [InlineData("affine", "every", new[] { 0, 1, 2 })]
    [InlineData("affine", "input", new[] { 0 })]
    [InlineData("affine", "start", new[] { 1 })]
    [InlineData("affine", "end", new[] { 2 })]
    [InlineData("bias", "all", new[] { 1, 2 })]
    [InlineData("scale", "input", new[] { 0 })]
    [InlineData("concat", "input", new[] { 0 })]
    [InlineData("concat", "start", new[] { 1 })]
    [InlineData("concat", "end", new[] { 2 })]
    [InlineData("concat", "all", new[] { 1, 2 })]
    [InlineData("concat", "every", new[] { 0, 1, 2 })]
    public void Each_place_conditions_exactly_its_points_and_every_conditioning_parameter_reaches_the_output(string method, string place, int[] points)
    {
        using var scope = TensorScope.Begin();
        using var g = new Generator(4);
        int[] widths = [3, 6, 5];
        using var model = ModelFactory.Create(new ModelSpec { Kind = "pnn", Hidden = [6, 5], Conditioning = new(method, place) }, 3, [1], g);
        var parameters = model.NamedParameters().ToList();
        var conditioned = new SortedSet<int>();
        if (method == "concat")
        {
            // Dense layer l reads point l; one extra input column is the appended mass.
            for (var l = 0; l < 3; l++)
            {
                var inputs = parameters.Single(p => p.Name == $"dense{l}.weight").Parameter.Shape[1];
                if (inputs == widths[l] + 1) conditioned.Add(l);
                else Assert.Equal(widths[l], inputs);
            }
        }
        else
        {
            var maps = parameters.Where(p => p.Name.StartsWith("scale") || p.Name.StartsWith("shift")).ToList();
            Assert.NotEmpty(maps);
            foreach (var (name, parameter) in maps.Where(p => p.Name.EndsWith(".weight")))
            {
                Assert.Equal(1, parameter.Shape[1]); // a map of the mass alone
                conditioned.Add(Array.IndexOf(widths, (int)parameter.Shape[0]));
            }
            Assert.Equal(method == "affine" ? 2 : 1, maps.Count(p => p.Name.EndsWith(".weight")) / points.Length);
        }
        Assert.Equal(points, conditioned.ToArray());

        // Every conditioning parameter is used: the output's gradient reaches it.
        var x = Torch.Randn([32, 3], g);
        model.Logits(x, Torch.Rand([32, 1], g)).Sum().Backward();
        foreach (var (name, parameter) in parameters.Where(p => p.Name.StartsWith("scale") || p.Name.StartsWith("shift")))
            Assert.True(parameter.Grad!.Abs().Sum().Item() > 0, $"{method}/{place}: {name} does not reach the output");
    }

    [Fact]
    public void The_affine_reference_keeps_its_parameter_names_and_initial_weights()
    {
        // Checkpoints and recorded trials of affine-pnn predate the input point: its modules keep their names.
        using var scope = TensorScope.Begin();
        using var g = new Generator(5);
        using var model = ModelFactory.Create(new ModelSpec { Kind = "affine-pnn", Hidden = [6, 5] }, 3, [1], g);
        Assert.Equal(["dense0", "scale0", "shift0", "dense1", "scale1", "shift1", "dense2"],
            model.NamedParameters().Select(p => p.Name.Split('.')[0]).Distinct().ToArray());
    }

    [Fact]
    public void A_dnn_ignores_the_mass_and_a_pnn_requires_it()
    {
        using var scope = TensorScope.Begin();
        using var g = new Generator(3);
        using var dnn = ModelFactory.Create(new ModelSpec { Kind = "dnn" }, 4, [1], g);
        using var pnn = ModelFactory.Create(new ModelSpec { Kind = "pnn" }, 4, [1], g);
        var (x, m) = Inputs(5, 4, g);
        Assert.Equal(dnn.Logits(x, null).ToArray<float>(), dnn.Logits(x, m).ToArray<float>());
        Assert.Throws<ArgumentException>(() => pnn.Logits(x, null));
    }

    [Fact]
    public void Per_mass_routes_each_event_to_the_net_of_the_nearest_trained_mass()
    {
        using var scope = TensorScope.Begin();
        using var g = new Generator(4);
        var masses = new[] { 0.2, 0.5, 0.8 };
        using var model = (PerMassEnsemble)ModelFactory.Create(new ModelSpec { Kind = "per-mass", Hidden = [4] }, 2, masses, g);
        Assert.Equal(3, model.NetCount);
        Assert.Equal(1, model.NearestNet(0.45));
        Assert.Equal(2, model.NearestNet(5.0));
        var x = Torch.Randn([6, 2], g);
        var m = Torch.Tensor(new float[] { 0.2f, 0.5f, 0.8f, 0.3f, 0.66f, 0.1f }, [6, 1]);
        var mixed = model.Logits(x, m).ToArray<float>();
        // Scoring every event at one mass uses one net throughout; compare event by event.
        var expectedNet = new[] { 0, 1, 2, 0, 2, 0 };
        for (var i = 0; i < 3; i++)
        {
            var all = model.Logits(x, Torch.Full([6, 1], masses[i])).ToArray<float>();
            for (var j = 0; j < 6; j++)
            {
                if (expectedNet[j] == i) Assert.Equal(all[j], mixed[j], 6);
            }
        }
    }

    [Fact]
    public void Dropout_is_active_in_training_only()
    {
        using var scope = TensorScope.Begin();
        using var g = new Generator(5);
        using var model = ModelFactory.Create(new ModelSpec { Kind = "dnn", Hidden = [64], Dropout = 0.5 }, 3, [1], g);
        var x = Torch.Randn([32, 3], g);
        Assert.NotEqual(model.Logits(x, null).ToArray<float>(), model.Logits(x, null).ToArray<float>());
        model.Eval();
        Assert.Equal(model.Logits(x, null).ToArray<float>(), model.Logits(x, null).ToArray<float>());
    }

    [Fact]
    public void The_same_seed_builds_the_same_network()
    {
        using var scope = TensorScope.Begin();
        float[] Weights(ulong seed)
        {
            using var g = new Generator(seed);
            using var model = ModelFactory.Create(new ModelSpec { Kind = "affine-pnn", Hidden = [8, 8] }, 4, [1], g);
            return model.Parameters().SelectMany(p => p.ToArray<float>()).ToArray();
        }
        Assert.Equal(Weights(7), Weights(7));
        Assert.NotEqual(Weights(7), Weights(8));
    }

    [Fact]
    public void Unknown_names_are_refused_with_the_valid_ones()
    {
        using var g = new Generator(6);
        Assert.Contains("dnn, pnn", Assert.Throws<ArgumentException>(() => ModelFactory.Create(new ModelSpec { Kind = "cnn" }, 2, [1], g)).Message);
        Assert.Contains("tanh, relu", Assert.Throws<ArgumentException>(() => ModelFactory.Create(new ModelSpec { Activation = "gelu" }, 2, [1], g)).Message);
    }
}
