using System.Globalization;
using System.Text.Json.Nodes;
using Studies.Trials.Components;
using Studies.Trials.Data;
using Studies.Trials.Engine;
using Studies.Trials.Losses;
using Studies.Trials.Metrics;
using Studies.Trials.Models;
using Studies.Trials.Specs;

namespace Studies.Trials.Training;

/// <summary>Creates the loss of a phase over a training or validation set.</summary>
public interface IPhaseLossFactory
{
    /// <param name="model">The trial's model: losses that score events per mass need to know whether it is parametric.</param>
    IPhaseLoss Create(PhaseSpec phase, TrainingSet set, ClassifierModel model, bool balancedBatches);
}

/// <summary>Creates a phase's loss from the catalog's loss registry (methods.md section 3: <c>bce</c>, <c>punzi</c>, <c>lovasz</c>).</summary>
public sealed class PhaseLossFactory(Registry<LossEntry>? losses = null) : IPhaseLossFactory
{
    /// <summary>
    /// The built-in losses. The component catalog (<c>Trials/Catalog</c>) takes this registry as its losses; it is here,
    /// next to the losses, so that Training does not depend on the catalog above it.
    /// </summary>
    public static Registry<LossEntry> BuiltIn { get; } = new("loss",
    [
        BceLoss.Entry,
        PunziPhaseLoss.Entry,
        LovaszPhaseLoss.Entry,
    ]);

    private readonly Registry<LossEntry> losses = losses ?? BuiltIn;

    public IPhaseLoss Create(PhaseSpec phase, TrainingSet set, ClassifierModel model, bool balancedBatches) =>
        losses.Get(phase.Loss).Create(new LossContext(phase, set, model, balancedBatches));
}

/// <summary>Reads a phase's <c>loss_options</c>; an unknown key is an error, so a typo never falls back to a default.</summary>
public static class LossOptions
{
    /// <summary>BCE settings: event weighting and which events count (defaults: cross-section, all).</summary>
    public static BceOptions Bce(JsonObject options)
    {
        Check(options, BceLoss.Entry);
        var bce = BceOptions.Default;
        if (options["weighting"] is { } weighting) bce = bce with { Weighting = weighting.ToString() };
        if (options["events"] is { } events) bce = bce with { Events = events.ToString() };
        return bce;
    }

    /// <summary>
    /// Punzi settings: the reference defaults, the data set's luminosity unless the phase names a
    /// target luminosity (background weights are then rescaled to it by the loss).
    /// </summary>
    public static PunziParameters Punzi(JsonObject options, TrialData data)
    {
        Check(options, PunziPhaseLoss.Entry);
        var p = PunziParameters.Default with { Luminosity = data.Luminosity };
        if (options["formula"] is { } formula)
        {
            p = p with
            {
                Formula = formula.ToString() switch
                {
                    "full" => PunziFormula.Full,
                    "simple" => PunziFormula.Simple,
                    var other => throw new ArgumentException($"punzi loss option 'formula': '{other}' is not full or simple"),
                },
            };
        }
        return p with
        {
            A = Number(options, "a") ?? p.A,
            B = Number(options, "b") ?? p.B,
            Luminosity = Number(options, "luminosity") ?? p.Luminosity,
            Scale = Number(options, "scale") ?? p.Scale,
            NSigma = Number(options, "n_sigma") ?? p.NSigma,
            EfficiencyFloor = Number(options, "eps_floor") ?? p.EfficiencyFloor,
            BackgroundFloor = Number(options, "b_floor") ?? p.BackgroundFloor,
        };
    }

    /// <summary>
    /// Lovász settings: one entry per process of the data set. Cross-sections come from the data set
    /// when it has them; otherwise sigma_i = (expected events of process i) / L, which is what the
    /// set function needs (sigma_i L is the expected count).
    /// </summary>
    public static LovaszZParameters Lovasz(JsonObject options, TrialData data)
    {
        Check(options, LovaszPhaseLoss.Entry);
        var luminosity = Number(options, "luminosity") ?? data.Luminosity;
        var yields = new double[data.ProcessNames.Length];
        var isSignal = new bool[data.ProcessNames.Length];
        for (var i = 0; i < data.Count; i++)
        {
            yields[data.Process[i]] += data.Weight[i];
            isSignal[data.Process[i]] |= data.IsSignal[i];
        }
        var processes = data.ProcessNames.Select((name, k) => new LovaszProcess(
            name,
            data.CrossSections.TryGetValue(name, out var sigma) ? sigma : yields[k] / luminosity,
            isSignal[k])).ToList();
        return new LovaszZParameters(processes, luminosity, Number(options, "eps")).Validate();
    }

    /// <summary>Options reach the loss checked by the study reader; this guards specs written by hand or by older versions.</summary>
    public static void Check(JsonObject options, LossEntry loss)
    {
        foreach (var (key, _) in options)
        {
            if (loss.Options.All(o => o.Key != key))
                throw new ArgumentException($"{loss.Name} loss: unknown option '{key}' (known: {string.Join(", ", loss.Options.Select(o => o.Key))})");
        }
    }

    private static double? Number(JsonObject options, string key) => options[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<double>(out var d) => d,
        JsonValue v when double.TryParse(v.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        var other => throw new ArgumentException($"loss option '{key}': {other.ToJsonString()} is not a number"),
    };
}

/// <summary>
/// The Punzi loss over a training set (methods.md section 3), always full batch. Signal efficiencies
/// are absolute: the set holds only its split's share of each mass's generated events, so N_gen
/// is scaled by that share. A parametric net scores every (event, trained mass) pair at that mass,
/// as the loss of mass i is a property of the classifier for hypothesis i; a plain net scores each
/// event once.
/// </summary>
public sealed class PunziPhaseLoss : IPhaseLoss
{
    public static readonly LossEntry Entry = new("punzi",
        "Punzi loss: the mean over trained masses of sigma_min in each mass window, always full batch.",
        [
            OptionSpec.Choice("formula", ["full", "simple"], "The paper's sigma_min expression or the earlier poster's.", "full"),
            OptionSpec.Positive("a", "Discovery significance in sigmas.", "3"),
            OptionSpec.Positive("b", "One-sided exclusion quantile (1.28155: 90 %).", "1.28155"),
            OptionSpec.Positive("luminosity", "Target integrated luminosity (fb^-1); background weights are rescaled to it.", "the data set's"),
            OptionSpec.Positive("scale", "Common efficiency scale applied to signal and background.", "0.9"),
            OptionSpec.Positive("n_sigma", "Window half-width in resolution units.", "2"),
            OptionSpec.Positive("eps_floor", "Signal efficiency floor (sigma_min diverges at 0).", "1e-6"),
            OptionSpec.Positive("b_floor", "Background floor (the derivative of sqrt(B) diverges at 0).", "1e-9"),
        ],
        c => new PunziPhaseLoss(c.Set, LossOptions.Punzi(c.Phase.LossOptions, c.Set.Data), c.Model.UsesMass));

    private readonly TrainingSet set;
    private readonly PunziLoss loss;
    private readonly Tensor? pairFeatures;
    private readonly Tensor? pairMass;

    public PunziPhaseLoss(TrainingSet set, PunziParameters parameters, bool parametric)
    {
        this.set = set;
        var data = set.Data;
        var trained = data.TrainedMasses;
        // The set holds only its split's share of each mass's signal: N_gen scales with that share.
        var inSet = new double[trained.Length];
        foreach (var k in set.MassIndex) if (k >= 0) inSet[k]++;
        var generated = trained.Select((m, k) => data.SignalCount(m) is var total and > 0
            ? data.GeneratedSignal(m) * inSet[k] / total
            : data.GeneratedSignal(m)).ToArray();
        var luminosityScale = parameters.Luminosity / data.Luminosity;
        var weights = set.Events.Select(i => data.Weight[i] * luminosityScale).ToArray();
        var events = new PunziEvents(set.IsSignal, set.MassIndex, weights, generated);

        WindowMembership windows;
        if (data.Window is { } v && data.Windows is { } massWindows)
            windows = WindowMembership.Build(set.Events.Select(i => v[i]).ToArray(), trained, massWindows, parameters.NSigma);
        else
            windows = parametric ? WindowMembership.EveryPair(set.Count, trained.Length) : WindowMembership.Everywhere(set.Count, trained.Length);
        loss = PunziLoss.Prepare(windows, events, parameters, ScalarType.Float32, set.Features.Device);
        if (parametric && windows.HasWindowVariable)
        {
            using var scope = TensorScope.Begin();
            var masses = loss.PairMassIndex().Select(k => (float)set.MassEncoding.Encode(trained[k])).ToArray();
            pairMass = TensorScope.Detach(scope.MoveToOuter(Torch.Tensor(masses, [masses.Length, 1], set.Features.Device)));
            // Features do not change during training: gather them per pair once, not every epoch.
            pairFeatures = TensorScope.Detach(scope.MoveToOuter(set.Features.IndexSelect(0, loss.PairEvents)));
        }
    }

    public bool SupportsBatches => false;

    /// <summary>The inputs <see cref="Compute"/> scores when they are not the set's own events (the event-mass pairs of a
    /// parametric net with mass windows); a fused pack computes the logits of its members itself.</summary>
    internal (Tensor Features, Tensor Mass)? PairInputs(ClassifierModel model) => model.UsesMass && pairMass is not null ? (pairFeatures!, pairMass) : null;

    /// <summary>Batches are ignored: the Punzi loss is defined on the whole set.</summary>
    public Tensor Compute(ClassifierModel model, long[]? positions)
    {
        if (model.UsesMass && pairMass is not null)
        {
            var f = model.Logits(pairFeatures!, pairMass).Sigmoid();
            return loss.SigmaMinOfPairs(f).Mean();
        }
        return loss.Compute(set.Logits(model, null).Sigmoid());
    }

    public void Dispose()
    {
        loss.Dispose();
        pairFeatures?.Dispose();
        pairMass?.Dispose();
    }
}

/// <summary>
/// The Lovász Z loss per batch (methods.md section 3) on the raw score; process counts are those
/// of the batch. A parametric net sees each event at its own (signal) or assigned (background) mass.
/// </summary>
public sealed class LovaszPhaseLoss(TrainingSet set, LovaszZParameters parameters) : IPhaseLoss
{
    public static readonly LossEntry Entry = new("lovasz",
        "Lovász Z loss: a convex surrogate of the discovery significance, per batch.",
        [
            OptionSpec.Positive("luminosity", "Integrated luminosity (fb^-1).", "the data set's"),
            OptionSpec.Positive("eps", "Regulator under the square root.", "sum of signal cross-sections x L"),
        ],
        c => new LovaszPhaseLoss(c.Set, LossOptions.Lovasz(c.Phase.LossOptions, c.Set.Data)));

    public Tensor Compute(ClassifierModel model, long[]? positions)
    {
        if (positions is null) return LovaszZLoss.Compute(set.Logits(model, null), set.Labels, set.ProcessIndex, parameters);
        var index = Torch.Tensor(positions, device: set.Features.Device);
        return LovaszZLoss.Compute(set.Logits(model, index), set.Labels.IndexSelect(0, index), set.ProcessIndex.IndexSelect(0, index), parameters);
    }

    public void Dispose()
    {
    }
}
