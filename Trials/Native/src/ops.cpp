// Differentiable operations. Families of elementwise operations share one entry point with an
// operation code (the codes are mirrored in Trials/Engine/NativeOps.cs): it keeps the ABI small
// without hiding anything the C# surface names.
#include "api.h"

namespace {
at::IntArrayRef dims(const int64_t* shape, int ndim) { return at::IntArrayRef(shape, static_cast<size_t>(ndim)); }
}

enum Unary { NEG, ABS, EXP, LOG, SQRT, TANH, RELU, SIGMOID, LOG_SIGMOID, SIGN, SQUARE, LOGICAL_NOT, ISFINITE, ISNAN,
             T, FLOOR, LOG1P, NONZERO, RSQRT };

ST_API TensorH st_unary(int op, TensorH a) {
  return st::make([&]() -> at::Tensor {
    const at::Tensor& x = *a;
    switch (op) {
      case NEG: return x.neg();
      case ABS: return x.abs();
      case EXP: return x.exp();
      case LOG: return x.log();
      case SQRT: return x.sqrt();
      case TANH: return x.tanh();
      case RELU: return x.relu();
      case SIGMOID: return x.sigmoid();
      case LOG_SIGMOID: return at::log_sigmoid(x);
      case SIGN: return x.sign();
      case SQUARE: return x.square();
      case LOGICAL_NOT: return x.logical_not();
      case ISFINITE: return x.isfinite();
      case ISNAN: return x.isnan();
      case T: return x.t();
      case FLOOR: return x.floor();
      case LOG1P: return x.log1p();
      case NONZERO: return x.nonzero();
      case RSQRT: return x.rsqrt();
    }
    throw std::runtime_error("unknown unary operation " + std::to_string(op));
  });
}

enum Binary { ADD, SUB, MUL, DIV, POW, GT, LT, GE, LE, EQ, NE, MAXIMUM, MINIMUM, LOGICAL_AND, LOGICAL_OR, MATMUL };

ST_API TensorH st_binary(int op, TensorH a, TensorH b) {
  return st::make([&]() -> at::Tensor {
    const at::Tensor& x = *a;
    const at::Tensor& y = *b;
    switch (op) {
      case ADD: return x.add(y);
      case SUB: return x.sub(y);
      case MUL: return x.mul(y);
      case DIV: return x.div(y);
      case POW: return x.pow(y);
      case GT: return x.gt(y);
      case LT: return x.lt(y);
      case GE: return x.ge(y);
      case LE: return x.le(y);
      case EQ: return x.eq(y);
      case NE: return x.ne(y);
      case MAXIMUM: return at::maximum(x, y);
      case MINIMUM: return at::minimum(x, y);
      case LOGICAL_AND: return x.logical_and(y);
      case LOGICAL_OR: return x.logical_or(y);
      case MATMUL: return x.matmul(y);
    }
    throw std::runtime_error("unknown binary operation " + std::to_string(op));
  });
}

// Tensor (op) scalar; RSUB and RDIV put the scalar on the left.
enum Scalar { S_ADD, S_SUB, S_MUL, S_DIV, S_POW, S_GT, S_LT, S_GE, S_LE, S_EQ, S_NE, S_RSUB, S_RDIV };

ST_API TensorH st_binary_scalar(int op, TensorH a, double s) {
  return st::make([&]() -> at::Tensor {
    const at::Tensor& x = *a;
    switch (op) {
      case S_ADD: return x.add(s);
      case S_SUB: return x.sub(s);
      case S_MUL: return x.mul(s);
      case S_DIV: return x.div(s);
      case S_POW: return x.pow(s);
      case S_GT: return x.gt(s);
      case S_LT: return x.lt(s);
      case S_GE: return x.ge(s);
      case S_LE: return x.le(s);
      case S_EQ: return x.eq(s);
      case S_NE: return x.ne(s);
      case S_RSUB: return at::rsub(x, s);
      case S_RDIV: return x.reciprocal().mul(s);
    }
    throw std::runtime_error("unknown scalar operation " + std::to_string(op));
  });
}

ST_API TensorH st_linear(TensorH input, TensorH weight, TensorH bias) {
  return st::make([&] { return at::linear(*input, *weight, bias ? *bias : at::Tensor()); });
}

ST_API TensorH st_clamp(TensorH a, int has_min, double min, int has_max, double max) {
  return st::make([&] {
    return a->clamp(has_min ? st::optional<at::Scalar>(min) : st::nullopt,
                    has_max ? st::optional<at::Scalar>(max) : st::nullopt);
  });
}

// reduction: 0 none, 1 mean, 2 sum (at::Reduction)
ST_API TensorH st_bce_with_logits(TensorH logits, TensorH target, TensorH weight, TensorH pos_weight, int reduction) {
  return st::make([&] {
    return at::binary_cross_entropy_with_logits(*logits, *target, weight ? *weight : at::Tensor(),
                                                pos_weight ? *pos_weight : at::Tensor(), reduction);
  });
}
ST_API TensorH st_bce(TensorH probabilities, TensorH target, TensorH weight, int reduction) {
  return st::make([&] {
    return at::binary_cross_entropy(*probabilities, *target, weight ? *weight : at::Tensor(), reduction);
  });
}

// ---- reductions --------------------------------------------------------------------------------

ST_API TensorH st_sum(TensorH a) { return st::make([&] { return a->sum(); }); }
ST_API TensorH st_mean(TensorH a) { return st::make([&] { return a->mean(); }); }
ST_API TensorH st_max_all(TensorH a) { return st::make([&] { return a->max(); }); }
ST_API TensorH st_min_all(TensorH a) { return st::make([&] { return a->min(); }); }
ST_API TensorH st_sum_dim(TensorH a, const int64_t* d, int n, int keepdim) {
  return st::make([&] { return a->sum(dims(d, n), keepdim != 0); });
}
ST_API TensorH st_mean_dim(TensorH a, const int64_t* d, int n, int keepdim) {
  return st::make([&] { return a->mean(dims(d, n), keepdim != 0); });
}
// Values and indices of the maximum (is_max) or minimum along dim.
ST_API int st_extreme_dim(TensorH a, int64_t dim, int keepdim, int is_max, TensorH* values, TensorH* indices) {
  return st::run([&] {
    auto r = is_max ? a->max(dim, keepdim != 0) : a->min(dim, keepdim != 0);
    *values = new at::Tensor(std::get<0>(r));
    *indices = new at::Tensor(std::get<1>(r));
  });
}

// ---- ordering and indexing ---------------------------------------------------------------------

ST_API int st_sort(TensorH a, int64_t dim, int descending, int stable, TensorH* values, TensorH* indices) {
  return st::run([&] {
    auto r = a->sort(stable != 0, dim, descending != 0);
    *values = new at::Tensor(std::get<0>(r));
    *indices = new at::Tensor(std::get<1>(r));
  });
}
ST_API TensorH st_argsort(TensorH a, int64_t dim, int descending, int stable) {
  return st::make([&] { return std::get<1>(a->sort(stable != 0, dim, descending != 0)); });
}
ST_API TensorH st_cumsum(TensorH a, int64_t dim) { return st::make([&] { return a->cumsum(dim); }); }
ST_API TensorH st_gather(TensorH a, int64_t dim, TensorH index) { return st::make([&] { return a->gather(dim, *index); }); }
ST_API TensorH st_index_select(TensorH a, int64_t dim, TensorH index) {
  return st::make([&] { return a->index_select(dim, *index); });
}
// Out-of-place index_add: a copy of a with src's slices added at index along dim (segment sums).
ST_API TensorH st_index_add(TensorH a, int64_t dim, TensorH index, TensorH source) {
  return st::make([&] { return a->index_add(dim, *index, *source); });
}
ST_API TensorH st_masked_select(TensorH a, TensorH mask) { return st::make([&] { return a->masked_select(*mask); }); }
ST_API TensorH st_masked_fill(TensorH a, TensorH mask, double value) {
  return st::make([&] { return a->masked_fill(*mask, value); });
}
ST_API TensorH st_where(TensorH condition, TensorH a, TensorH b) {
  return st::make([&] { return at::where(*condition, *a, *b); });
}

// ---- shape -------------------------------------------------------------------------------------

ST_API TensorH st_cat(const TensorH* list, int n, int64_t dim) {
  return st::make([&] { return at::cat(st::tensor_list(list, n), dim); });
}
ST_API TensorH st_stack(const TensorH* list, int n, int64_t dim) {
  return st::make([&] { return at::stack(st::tensor_list(list, n), dim); });
}
ST_API TensorH st_reshape(TensorH a, const int64_t* shape, int ndim) {
  return st::make([&] { return a->reshape(dims(shape, ndim)); });
}
ST_API TensorH st_expand(TensorH a, const int64_t* shape, int ndim) {
  return st::make([&] { return a->expand(dims(shape, ndim)); });
}
ST_API TensorH st_transpose(TensorH a, int64_t d0, int64_t d1) { return st::make([&] { return a->transpose(d0, d1); }); }
ST_API TensorH st_squeeze(TensorH a, int64_t dim) { return st::make([&] { return a->squeeze(dim); }); }
ST_API TensorH st_unsqueeze(TensorH a, int64_t dim) { return st::make([&] { return a->unsqueeze(dim); }); }
ST_API TensorH st_narrow(TensorH a, int64_t dim, int64_t start, int64_t length) {
  return st::make([&] { return a->narrow(dim, start, length); });
}

// Inverted dropout with the trial's own generator (at::dropout draws from the global one, which
// would make concurrent trials non-deterministic).
ST_API TensorH st_dropout(TensorH a, double p, int training, at::Generator* gen) {
  return st::make([&]() -> at::Tensor {
    if (!training || p == 0.0) return *a;
    if (p >= 1.0) return a->mul(0.0);
    auto keep = at::empty_like(*a, at::MemoryFormat::Contiguous).bernoulli_(1.0 - p, gen ? *gen : at::Generator());
    return a->mul(keep.div_(1.0 - p));
  });
}
