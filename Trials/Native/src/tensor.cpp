// Tensor lifetime, metadata, creation, data transfer to and from .NET memory, and autograd.
#include "api.h"

#include <cstring>

namespace {
at::IntArrayRef dims(const int64_t* shape, int ndim) { return at::IntArrayRef(shape, static_cast<size_t>(ndim)); }
at::Generator gen_or_default(at::Generator* gen) { return gen ? *gen : at::Generator(); }
// at:: factory functions ignore TensorOptions::requires_grad; the flag is set on the result.
at::Tensor with_grad(at::Tensor t, int requires_grad) {
  if (requires_grad) t.set_requires_grad(true);
  return t;
}
}  // namespace

ST_API void st_tensor_free(TensorH t) { delete t; }

ST_API int st_tensor_dim(TensorH t) { return static_cast<int>(t->dim()); }
ST_API int64_t st_tensor_numel(TensorH t) { return t->numel(); }
ST_API int st_tensor_dtype(TensorH t) { return static_cast<int>(t->scalar_type()); }
ST_API int st_tensor_device_type(TensorH t) { return static_cast<int>(t->device().type()); }
ST_API int st_tensor_device_index(TensorH t) { return t->device().index(); }
ST_API int st_tensor_shape(TensorH t, int64_t* out) {
  for (int64_t i = 0; i < t->dim(); ++i) out[i] = t->size(i);
  return static_cast<int>(t->dim());
}

// ---- creation --------------------------------------------------------------------------------

ST_API TensorH st_from_data(const void* data, const int64_t* shape, int ndim, int dtype, int device_type,
                            int device_index, int requires_grad) {
  return st::make([&] {
    auto cpu = at::empty(dims(shape, ndim), st::options(dtype, 0, -1));
    std::memcpy(cpu.data_ptr(), data, cpu.nbytes());
    auto t = cpu.to(st::device_of(device_type, device_index));
    if (requires_grad) t.set_requires_grad(true);
    return t;
  });
}

// Copies the tensor's elements into .NET memory (moving them to the CPU first if needed).
ST_API int st_copy_to(TensorH t, void* destination, int64_t destination_bytes) {
  return st::run([&] {
    auto cpu = t->detach().to(at::kCPU).contiguous();
    if (static_cast<int64_t>(cpu.nbytes()) != destination_bytes)
      throw std::runtime_error("copy_to: tensor has " + std::to_string(cpu.nbytes()) + " bytes, destination " +
                               std::to_string(destination_bytes));
    std::memcpy(destination, cpu.data_ptr(), cpu.nbytes());
  });
}

ST_API int st_item(TensorH t, double* out) {
  return st::run([&] { *out = t->item<double>(); });
}

ST_API TensorH st_zeros(const int64_t* shape, int ndim, int dtype, int dt, int di, int rg) {
  return st::make([&] { return with_grad(at::zeros(dims(shape, ndim), st::options(dtype, dt, di)), rg); });
}
ST_API TensorH st_ones(const int64_t* shape, int ndim, int dtype, int dt, int di, int rg) {
  return st::make([&] { return with_grad(at::ones(dims(shape, ndim), st::options(dtype, dt, di)), rg); });
}
ST_API TensorH st_empty(const int64_t* shape, int ndim, int dtype, int dt, int di, int rg) {
  return st::make([&] { return with_grad(at::empty(dims(shape, ndim), st::options(dtype, dt, di)), rg); });
}
ST_API TensorH st_full(const int64_t* shape, int ndim, double value, int dtype, int dt, int di, int rg) {
  return st::make([&] { return with_grad(at::full(dims(shape, ndim), value, st::options(dtype, dt, di)), rg); });
}
ST_API TensorH st_arange(double start, double end, double step, int dtype, int dt, int di) {
  return st::make([&] { return at::arange(start, end, step, st::options(dtype, dt, di)); });
}
ST_API TensorH st_randn(const int64_t* shape, int ndim, int dtype, int dt, int di, at::Generator* gen) {
  return st::make([&] { return at::randn(dims(shape, ndim), gen_or_default(gen), st::options(dtype, dt, di)); });
}
ST_API TensorH st_rand(const int64_t* shape, int ndim, int dtype, int dt, int di, at::Generator* gen) {
  return st::make([&] { return at::rand(dims(shape, ndim), gen_or_default(gen), st::options(dtype, dt, di)); });
}
ST_API TensorH st_randint(int64_t low, int64_t high, const int64_t* shape, int ndim, int dt, int di, at::Generator* gen) {
  return st::make([&] { return at::randint(low, high, dims(shape, ndim), gen_or_default(gen), st::options(4, dt, di)); });
}
ST_API TensorH st_randperm(int64_t n, int dt, int di, at::Generator* gen) {
  return st::make([&] { return at::randperm(n, gen_or_default(gen), st::options(4, dt, di)); });
}
ST_API TensorH st_bernoulli(TensorH probabilities, at::Generator* gen) {
  return st::make([&] { return at::bernoulli(*probabilities, gen_or_default(gen)); });
}

// ---- in-place initialisation (used by parameter initialisers; never recorded by autograd) ---

ST_API int st_normal_(TensorH t, double mean, double std, at::Generator* gen) {
  return st::run([&] { at::NoGradGuard g; t->normal_(mean, std, gen_or_default(gen)); });
}
ST_API int st_uniform_(TensorH t, double from, double to, at::Generator* gen) {
  return st::run([&] { at::NoGradGuard g; t->uniform_(from, to, gen_or_default(gen)); });
}
ST_API int st_fill_(TensorH t, double value) {
  return st::run([&] { at::NoGradGuard g; t->fill_(value); });
}
ST_API int st_zero_(TensorH t) {
  return st::run([&] { at::NoGradGuard g; t->zero_(); });
}
ST_API int st_copy_(TensorH dst, TensorH src) {
  return st::run([&] { at::NoGradGuard g; dst->copy_(*src); });
}
ST_API int st_add_(TensorH t, TensorH other, double alpha) {
  return st::run([&] { at::NoGradGuard g; t->add_(*other, alpha); });
}
ST_API int st_mul_scalar_(TensorH t, double factor) {
  return st::run([&] { at::NoGradGuard g; t->mul_(factor); });
}

// ---- conversion ------------------------------------------------------------------------------

ST_API TensorH st_to(TensorH t, int dtype, int dt, int di) {
  return st::make([&] { return t->to(st::device_of(dt, di), static_cast<c10::ScalarType>(dtype)); });
}
ST_API TensorH st_clone(TensorH t) { return st::make([&] { return t->clone(); }); }
ST_API TensorH st_detach(TensorH t) { return st::make([&] { return t->detach(); }); }
ST_API TensorH st_contiguous(TensorH t) { return st::make([&] { return t->contiguous(); }); }
// A new handle to the same tensor (shares storage and autograd identity).
ST_API TensorH st_alias(TensorH t) { return st::make([&] { return *t; }); }

// ---- autograd ----------------------------------------------------------------------------------

ST_API int st_requires_grad(TensorH t) { return t->requires_grad() ? 1 : 0; }
ST_API int st_set_requires_grad(TensorH t, int value) {
  return st::run([&] { t->set_requires_grad(value != 0); });
}
ST_API int st_backward(TensorH t, TensorH gradient, int retain_graph) {
  return st::run([&] {
    t->backward(gradient ? *gradient : at::Tensor(), retain_graph != 0 ? st::optional<bool>(true) : st::nullopt);
  });
}
// Writes the gradient handle to *out, or null when the tensor has no gradient yet.
ST_API int st_grad(TensorH t, TensorH* out) {
  return st::run([&] {
    const at::Tensor& g = t->grad();
    *out = g.defined() ? new at::Tensor(g) : nullptr;
  });
}
ST_API int st_zero_grad(TensorH t) {
  return st::run([&] {
    at::Tensor& g = t->mutable_grad();
    if (g.defined()) g = at::Tensor();
  });
}
