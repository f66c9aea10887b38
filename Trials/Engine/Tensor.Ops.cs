namespace Studies.Trials.Engine;

// The differentiable operations. Codes match the enums in Trials/Native/src/ops.cpp.
public sealed partial class Tensor
{
    private enum UnaryOp { Neg, Abs, Exp, Log, Sqrt, Tanh, Relu, Sigmoid, LogSigmoid, Sign, Square, LogicalNot, IsFinite, IsNan, T, Floor, Log1p, Nonzero, Rsqrt }

    private enum BinaryOp { Add, Sub, Mul, Div, Pow, Gt, Lt, Ge, Le, Eq, Ne, Maximum, Minimum, LogicalAnd, LogicalOr, Matmul }

    private enum ScalarOp { Add, Sub, Mul, Div, Pow, Gt, Lt, Ge, Le, Eq, Ne, RSub, RDiv }

    private Tensor Unary(UnaryOp op) => Wrap(Native.st_unary((int)op, Handle));
    private Tensor Binary(BinaryOp op, Tensor other) => Wrap(Native.st_binary((int)op, Handle, other.Handle));
    private Tensor Binary(ScalarOp op, double scalar) => Wrap(Native.st_binary_scalar((int)op, Handle, scalar));

    public Tensor Neg() => Unary(UnaryOp.Neg);
    public Tensor Abs() => Unary(UnaryOp.Abs);
    public Tensor Exp() => Unary(UnaryOp.Exp);
    public Tensor Log() => Unary(UnaryOp.Log);
    public Tensor Log1p() => Unary(UnaryOp.Log1p);
    public Tensor Sqrt() => Unary(UnaryOp.Sqrt);
    public Tensor Rsqrt() => Unary(UnaryOp.Rsqrt);
    public Tensor Tanh() => Unary(UnaryOp.Tanh);
    public Tensor Relu() => Unary(UnaryOp.Relu);
    public Tensor Sigmoid() => Unary(UnaryOp.Sigmoid);
    public Tensor LogSigmoid() => Unary(UnaryOp.LogSigmoid);
    public Tensor Sign() => Unary(UnaryOp.Sign);
    public Tensor Square() => Unary(UnaryOp.Square);
    public Tensor Floor() => Unary(UnaryOp.Floor);
    public Tensor LogicalNot() => Unary(UnaryOp.LogicalNot);
    public Tensor IsFinite() => Unary(UnaryOp.IsFinite);
    public Tensor IsNan() => Unary(UnaryOp.IsNan);
    /// <summary>Transpose of a matrix (PyTorch's <c>t()</c>).</summary>
    public Tensor T() => Unary(UnaryOp.T);
    /// <summary>Indices of the non-zero elements, one row per element (PyTorch's <c>nonzero()</c>).</summary>
    public Tensor Nonzero() => Unary(UnaryOp.Nonzero);

    public Tensor Add(Tensor other) => Binary(BinaryOp.Add, other);
    public Tensor Sub(Tensor other) => Binary(BinaryOp.Sub, other);
    public Tensor Mul(Tensor other) => Binary(BinaryOp.Mul, other);
    public Tensor Div(Tensor other) => Binary(BinaryOp.Div, other);
    public Tensor Pow(Tensor exponent) => Binary(BinaryOp.Pow, exponent);
    public Tensor Matmul(Tensor other) => Binary(BinaryOp.Matmul, other);
    public Tensor Maximum(Tensor other) => Binary(BinaryOp.Maximum, other);
    public Tensor Minimum(Tensor other) => Binary(BinaryOp.Minimum, other);
    public Tensor LogicalAnd(Tensor other) => Binary(BinaryOp.LogicalAnd, other);
    public Tensor LogicalOr(Tensor other) => Binary(BinaryOp.LogicalOr, other);
    public Tensor Gt(Tensor other) => Binary(BinaryOp.Gt, other);
    public Tensor Lt(Tensor other) => Binary(BinaryOp.Lt, other);
    public Tensor Ge(Tensor other) => Binary(BinaryOp.Ge, other);
    public Tensor Le(Tensor other) => Binary(BinaryOp.Le, other);
    public Tensor Eq(Tensor other) => Binary(BinaryOp.Eq, other);
    public Tensor Ne(Tensor other) => Binary(BinaryOp.Ne, other);

    public Tensor Add(double s) => Binary(ScalarOp.Add, s);
    public Tensor Sub(double s) => Binary(ScalarOp.Sub, s);
    public Tensor Mul(double s) => Binary(ScalarOp.Mul, s);
    public Tensor Div(double s) => Binary(ScalarOp.Div, s);
    public Tensor Pow(double exponent) => Binary(ScalarOp.Pow, exponent);
    public Tensor Gt(double s) => Binary(ScalarOp.Gt, s);
    public Tensor Lt(double s) => Binary(ScalarOp.Lt, s);
    public Tensor Ge(double s) => Binary(ScalarOp.Ge, s);
    public Tensor Le(double s) => Binary(ScalarOp.Le, s);
    public Tensor Eq(double s) => Binary(ScalarOp.Eq, s);
    public Tensor Ne(double s) => Binary(ScalarOp.Ne, s);

    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    public static Tensor operator +(Tensor a, double s) => a.Add(s);
    public static Tensor operator -(Tensor a, double s) => a.Sub(s);
    public static Tensor operator *(Tensor a, double s) => a.Mul(s);
    public static Tensor operator /(Tensor a, double s) => a.Div(s);
    public static Tensor operator +(double s, Tensor a) => a.Add(s);
    public static Tensor operator -(double s, Tensor a) => a.Binary(ScalarOp.RSub, s);
    public static Tensor operator *(double s, Tensor a) => a.Mul(s);
    public static Tensor operator /(double s, Tensor a) => a.Binary(ScalarOp.RDiv, s);
    public static Tensor operator -(Tensor a) => a.Neg();

    public Tensor Clamp(double? min = null, double? max = null) =>
        Wrap(Native.st_clamp(Handle, min.HasValue ? 1 : 0, min ?? 0, max.HasValue ? 1 : 0, max ?? 0));
    public Tensor ClampMin(double min) => Clamp(min, null);
    public Tensor ClampMax(double max) => Clamp(null, max);

    // ---- reductions ---------------------------------------------------------------------------

    public Tensor Sum() => Wrap(Native.st_sum(Handle));
    public Tensor Mean() => Wrap(Native.st_mean(Handle));
    public Tensor Max() => Wrap(Native.st_max_all(Handle));
    public Tensor Min() => Wrap(Native.st_min_all(Handle));

    public unsafe Tensor Sum(long dim, bool keepdim = false) => Wrap(Native.st_sum_dim(Handle, &dim, 1, keepdim ? 1 : 0));
    public unsafe Tensor Mean(long dim, bool keepdim = false) => Wrap(Native.st_mean_dim(Handle, &dim, 1, keepdim ? 1 : 0));

    public (Tensor Values, Tensor Indices) Max(long dim, bool keepdim = false) => Extreme(dim, keepdim, isMax: true);
    public (Tensor Values, Tensor Indices) Min(long dim, bool keepdim = false) => Extreme(dim, keepdim, isMax: false);

    private (Tensor, Tensor) Extreme(long dim, bool keepdim, bool isMax)
    {
        Native.Check(Native.st_extreme_dim(Handle, dim, keepdim ? 1 : 0, isMax ? 1 : 0, out var values, out var indices));
        return (Wrap(values), Wrap(indices));
    }

    // ---- ordering and indexing ----------------------------------------------------------------

    public (Tensor Values, Tensor Indices) Sort(long dim = -1, bool descending = false, bool stable = false)
    {
        Native.Check(Native.st_sort(Handle, dim, descending ? 1 : 0, stable ? 1 : 0, out var values, out var indices));
        return (Wrap(values), Wrap(indices));
    }

    public Tensor Argsort(long dim = -1, bool descending = false, bool stable = false) =>
        Wrap(Native.st_argsort(Handle, dim, descending ? 1 : 0, stable ? 1 : 0));

    public Tensor Cumsum(long dim) => Wrap(Native.st_cumsum(Handle, dim));
    public Tensor Gather(long dim, Tensor index) => Wrap(Native.st_gather(Handle, dim, index.Handle));
    public Tensor IndexSelect(long dim, Tensor index) => Wrap(Native.st_index_select(Handle, dim, index.Handle));
    /// <summary>A copy with <paramref name="source"/>'s slices added at <paramref name="index"/> (segment sums).</summary>
    public Tensor IndexAdd(long dim, Tensor index, Tensor source) => Wrap(Native.st_index_add(Handle, dim, index.Handle, source.Handle));
    public Tensor MaskedSelect(Tensor mask) => Wrap(Native.st_masked_select(Handle, mask.Handle));
    public Tensor MaskedFill(Tensor mask, double value) => Wrap(Native.st_masked_fill(Handle, mask.Handle, value));

    // ---- shape --------------------------------------------------------------------------------

    public unsafe Tensor Reshape(params long[] shape)
    {
        fixed (long* p = shape) return Wrap(Native.st_reshape(Handle, p, shape.Length));
    }

    public unsafe Tensor Expand(params long[] shape)
    {
        fixed (long* p = shape) return Wrap(Native.st_expand(Handle, p, shape.Length));
    }

    public Tensor Transpose(long dim0, long dim1) => Wrap(Native.st_transpose(Handle, dim0, dim1));
    public Tensor Squeeze(long dim) => Wrap(Native.st_squeeze(Handle, dim));
    public Tensor Unsqueeze(long dim) => Wrap(Native.st_unsqueeze(Handle, dim));
    public Tensor Narrow(long dim, long start, long length) => Wrap(Native.st_narrow(Handle, dim, start, length));
}
