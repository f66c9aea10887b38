using Studies.Trials.Engine;

namespace Studies.Trials.Models;

/// <summary>
/// A signal/background classifier f(x, m) = sigmoid(F(x, m)) (methods.md section 2). Models return
/// the pre-sigmoid score F: BCE is computed on it for numerical stability and the Lovász loss needs it.
/// </summary>
public abstract class ClassifierModel : Module
{
    /// <summary>Whether the mass hypothesis is an input; a plain dnn ignores it.</summary>
    public abstract bool UsesMass { get; }

    /// <summary>Scores F for features [n, d] at scaled masses m~ [n, 1] (ignored when <see cref="UsesMass"/> is false).</summary>
    public abstract Tensor Logits(Tensor features, Tensor? scaledMass);

    public override Tensor Forward(Tensor input) => Logits(input, null);
}
