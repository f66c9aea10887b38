// One training step of a fused pack of small MLPs on the CPU, in one call: for every member its
// batch's forward pass, its weighted BCE, the backward pass and its Adam or SGD update
// (Trials/Fusion/NativePackStep.cs describes the net and calls it). A quickstart-sized step through
// libtorch is ~20 calls of a few microseconds of work each per pack; here the whole pack's step is
// one call of plain loops over [width, events] rows, which the compiler vectorises (AVX2+FMA where the
// CPU has it, chosen at load time; SSE2 otherwise).
//
// The arithmetic is libtorch's up to the order of float sums (and tanh/exp to ~1e-7, see below); the
// optimiser updates are written as Trials/Fusion/PackOptimizer.cs writes them (libtorch 1.13's rules).
#include "api.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace {

// The net, as NativePackStep.Describe lays it out: a header, then 5 numbers per dense layer, then 4
// per conditioning point (0: the input; l: after hidden layer l), offsets into a member's parameter row.
struct Layer {
  int64_t in, out, concat, weight, bias;  // in: width of the representation read (the mass column apart)
};
struct Point {
  int64_t scale_w, scale_b, shift_w, shift_b;  // -1: absent
  bool any() const { return scale_w >= 0 || shift_w >= 0; }
};
struct Net {
  int64_t features = 0, layers = 0, activation = 0, row = 0, uses_mass = 0;
  std::vector<Layer> layer;
  std::vector<Point> point;
};

constexpr int64_t kHeader = 5;

Net parse(const int64_t* d) {
  Net net;
  net.features = d[0];
  net.layers = d[1];
  net.activation = d[2];
  net.row = d[3];
  net.uses_mass = d[4];
  if (net.layers < 1 || net.features < 1) throw std::runtime_error("pack_mlp_step: a net needs features and a layer");
  const int64_t* l = d + kHeader;
  for (int64_t k = 0; k < net.layers; ++k, l += 5) net.layer.push_back({l[0], l[1], l[2], l[3], l[4]});
  for (int64_t k = 0; k < net.layers; ++k, l += 4) net.point.push_back({l[0], l[1], l[2], l[3]});
  if (net.layer.back().out != 1) throw std::runtime_error("pack_mlp_step: the last layer must have one output");
  return net;
}

// exp and tanh in branch-free float arithmetic so that loops over events vectorise (libm's tanhf is a
// call per element: ~12 ns against ~1 ns here with AVX2, and a 16-8 net has 24 tanh per event and
// step). exp: Cephes' expf polynomial, relative error < 1e-7 over [-87, 88]. tanh: Cephes' odd
// polynomial below |x| = 0.625, 1 - 2 / (exp(2|x|) + 1) above; absolute error < 8e-8 (libm's tanhf: 1e-7),
// measured against double tanh on a 1e-5 grid over [-20, 20].
inline float exp_approx(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float t = x * 1.44269504088896341f;
  const float n = (t + 12582912.0f) - 12582912.0f;  // round to nearest without a libm call
  const int32_t ni = static_cast<int32_t>(n);
  const float r = x - n * 0.693359375f - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (ni + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float tanh_approx(float x) {
  const float a = std::min(std::fabs(x), 20.0f);
  const float z = x * x;
  const float small =
      ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z - 3.33332819422e-1f) * z * x + x;
  const float big = 1.0f - 2.0f / (exp_approx(2.0f * a) + 1.0f);
  const float sign = x < 0.0f ? -1.0f : 1.0f;
  const float r = a < 0.625f ? small : big * sign;
  return x != x ? x : r;  // NaN stays NaN (a diverging member must show it)
}

// The gradient's sums over a batch's events: 8 float lanes over blocks of 64 events (which the compiler
// vectorises without reassociating on its own), each block's sum added in double. A bias's gradient is
// often a sum of terms that nearly cancel: float lanes over the whole batch put its error above 1e-5 of
// a small bias after ten Adam steps (the test's bound); all-double sums cost a third of the step.
constexpr int64_t kBlock = 64;
template <class Term>
inline float block_sum(int64_t n, Term term) {
  double total = 0;
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    float acc[8] = {};
    for (int64_t b = 0; b < kBlock; b += 8)
      for (int u = 0; u < 8; ++u) acc[u] += term(i + b + u);
    total += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  }
  for (; i < n; ++i) total += term(i);
  return static_cast<float>(total);
}
inline float sum1(const float* a, int64_t n) {
  return block_sum(n, [=](int64_t i) { return a[i]; });
}
inline float dot2(const float* a, const float* b, int64_t n) {
  return block_sum(n, [=](int64_t i) { return a[i] * b[i]; });
}
inline float dot3(const float* a, const float* b, const float* c, int64_t n) {
  return block_sum(n, [=](int64_t i) { return a[i] * b[i] * c[i]; });
}

// log(1 + u) for u in [0, 1]: 2 atanh(s) with s = u / (2 + u) <= 1/3, its odd series to s^19 (error < 1e-9).
inline float log1p_unit(float u) {
  const float s = u / (2.0f + u), s2 = s * s;
  float p = 1.0f / 19;
  for (int k = 17; k >= 1; k -= 2) p = p * s2 + 1.0f / k;
  return 2.0f * s * p;
}

// y += sum_k w[k * w_stride] x_k over rows x_k = x + k * x_stride, four rows per pass over y (one load
// and store of y per four products rather than per product: 72 -> 64 us per member step of the quickstart
// net, CPU time; summing 16-event chunks in registers instead was 3x slower, GCC unrolls those loops to scalars).
inline void accumulate(float* __restrict y, int64_t n, int64_t count, const float* w, int64_t w_stride,
                       const float* __restrict x, int64_t x_stride) {
  int64_t k = 0;
  for (; k + 4 <= count; k += 4) {
    const float w0 = w[k * w_stride], w1 = w[(k + 1) * w_stride], w2 = w[(k + 2) * w_stride], w3 = w[(k + 3) * w_stride];
    const float* __restrict x0 = x + k * x_stride;
    const float* __restrict x1 = x0 + x_stride;
    const float* __restrict x2 = x1 + x_stride;
    const float* __restrict x3 = x2 + x_stride;
    for (int64_t i = 0; i < n; ++i) y[i] += (w0 * x0[i] + w1 * x1[i]) + (w2 * x2[i] + w3 * x3[i]);
  }
  for (; k < count; ++k) {
    const float w0 = w[k * w_stride];
    const float* __restrict x0 = x + k * x_stride;
    for (int64_t i = 0; i < n; ++i) y[i] += w0 * x0[i];
  }
}

// What one member's step reads and updates.
struct Member {
  float* params;        // its parameter row [row]
  float* first;         // Adam's first moment or SGD's momentum buffer [row]
  float* second;        // Adam's second moment [row] (unused by SGD)
  const float* decay;   // weight decay per element [row], or null
  const float* features;  // its training set [N, features]
  const float* labels;    // [N]
  const float* weights;   // BCE weights [N]
  const float* mass;      // mass input: [N] indexed by position, or [n] per row; null for a plain net
  int mass_per_row;
  const int64_t* positions;  // its batch: positions into the set
  int64_t n;
  int rule;  // 0 adam, 1 sgd, 2 sgd with momentum
  float lr, beta1, one_minus_beta1, beta2, one_minus_beta2, eps, step_size, sqrt_correction, momentum;
};

struct Workspace {
  std::vector<float> buffer;
  float* take(int64_t count, int64_t& used) {
    float* p = buffer.data() + used;
    used += count;
    return p;
  }
};

// Modulation at a point: rep = pre * (Ws m + bs) + (Wb m + bb), one unit (row) at a time.
inline void modulate(const Point& at, const float* p, const float* pre, float* rep, const float* m, int64_t width, int64_t n) {
  for (int64_t j = 0; j < width; ++j) {
    const float* h = pre + j * n;
    float* r = rep + j * n;
    if (at.scale_w >= 0) {
      const float w = p[at.scale_w + j], b = p[at.scale_b + j];
      for (int64_t i = 0; i < n; ++i) r[i] = h[i] * (w * m[i] + b);
    } else {
      for (int64_t i = 0; i < n; ++i) r[i] = h[i];
    }
    if (at.shift_w >= 0) {
      const float w = p[at.shift_w + j], b = p[at.shift_b + j];
      for (int64_t i = 0; i < n; ++i) r[i] += w * m[i] + b;
    }
  }
}

// Returns the member's loss (sum_j w_j BCE_j / sum_j w_j) and, when training, updates its parameters and optimiser state.
__attribute__((target_clones("arch=x86-64-v3", "default")))
float member_step(const Net& net, const Member& mb, bool train, Workspace& ws) {
  const int64_t n = mb.n, d = net.features, L = net.layers;
  int64_t widest = d;
  for (const auto& l : net.layer) widest = std::max(widest, l.out);
  int64_t need = n * (2 * widest + 3);  // two gradient buffers, mass, logits, logit gradient
  for (int64_t l = 0; l < L; ++l) need += n * net.layer[l].in * (net.point[l].any() ? 2 : 1);
  need += net.row;
  if (static_cast<int64_t>(ws.buffer.size()) < need) ws.buffer.resize(need);
  int64_t used = 0;
  std::vector<float*> rep(L), pre(L);
  for (int64_t l = 0; l < L; ++l) {
    rep[l] = ws.take(n * net.layer[l].in, used);
    pre[l] = net.point[l].any() ? ws.take(n * net.layer[l].in, used) : rep[l];
  }
  float* m = ws.take(n, used);
  float* z = ws.take(n, used);
  float* dz = ws.take(n, used);
  float* g_a = ws.take(n * widest, used);
  float* g_b = ws.take(n * widest, used);
  float* grad = ws.take(net.row, used);
  std::memset(grad, 0, sizeof(float) * net.row);
  const float* p = mb.params;

  // Inputs, feature-major: pre[0][j][i] = features[positions[i]][j]; labels and weights of the batch beside
  // them. A shuffled batch reads its set at random: each event is a cache miss in each array (a pack's sets
  // are tens of MB), which was a third of the step in a pack of 32 (perf) before the rows were prefetched.
  float* label = g_a;  // free until the backward pass
  float* weight = g_b;
  constexpr int64_t kAhead = 16;
  for (int64_t i = 0; i < n; ++i) {
    if (i + kAhead < n) {
      const int64_t q = mb.positions[i + kAhead];
      __builtin_prefetch(mb.features + q * d);
      __builtin_prefetch(mb.labels + q);
      __builtin_prefetch(mb.weights + q);
      if (net.uses_mass && !mb.mass_per_row) __builtin_prefetch(mb.mass + q);
    }
    const int64_t at = mb.positions[i];
    const float* f = mb.features + at * d;
    for (int64_t j = 0; j < d; ++j) pre[0][j * n + i] = f[j];
    label[i] = mb.labels[at];
    weight[i] = mb.weights[at];
    if (net.uses_mass) m[i] = mb.mass_per_row ? mb.mass[i] : mb.mass[at];
  }
  if (net.point[0].any()) modulate(net.point[0], p, pre[0], rep[0], m, d, n);

  // Forward: dense layer l reads point l (and the mass when concatenated), its activation output is point l + 1.
  for (int64_t l = 0; l < L; ++l) {
    const Layer& ly = net.layer[l];
    const int64_t in_w = ly.in + ly.concat;
    const bool last = l == L - 1;
    float* out = last ? z : pre[l + 1];
    for (int64_t o = 0; o < ly.out; ++o) {
      float* y = out + o * n;
      const float b = ly.bias >= 0 ? p[ly.bias + o] : 0.0f;
      for (int64_t i = 0; i < n; ++i) y[i] = b;
      accumulate(y, n, ly.in, p + ly.weight + o * in_w, 1, rep[l], n);
      if (ly.concat) {
        const float w = p[ly.weight + o * in_w + ly.in];
        for (int64_t i = 0; i < n; ++i) y[i] += w * m[i];
      }
      if (!last) {
        if (net.activation == 0) {
          for (int64_t i = 0; i < n; ++i) y[i] = tanh_approx(y[i]);
        } else {
          for (int64_t i = 0; i < n; ++i) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        }
      }
    }
    if (!last && net.point[l + 1].any()) modulate(net.point[l + 1], p, pre[l + 1], rep[l + 1], m, ly.out, n);
  }

  // Weighted BCE on logits, w (max(x, 0) - x y + log(1 + exp(-|x|))) (libtorch's value to float rounding),
  // and its gradient w (sigmoid(z) - y) / sum w.
  const float weight_sum = sum1(weight, n);
  const float total = block_sum(n, [=](int64_t i) {
    const float x = z[i];
    return weight[i] * (std::max(x, 0.0f) - x * label[i] + log1p_unit(exp_approx(-std::fabs(x))));
  });
  const float denominator = std::max(weight_sum, 1e-30f);
  for (int64_t i = 0; i < n; ++i) {
    const float sigmoid = 1.0f / (1.0f + exp_approx(-z[i]));
    dz[i] = weight[i] * (sigmoid - label[i]) / denominator;
  }
  const float loss = total / denominator;
  if (!train) return loss;

  // Backward: dy holds the gradient of dense layer l's output.
  const float* dy = dz;
  for (int64_t l = L - 1; l >= 0; --l) {
    const Layer& ly = net.layer[l];
    const int64_t in_w = ly.in + ly.concat;
    for (int64_t o = 0; o < ly.out; ++o) {
      const float* g = dy + o * n;
      if (ly.bias >= 0) grad[ly.bias + o] += sum1(g, n);
      for (int64_t j = 0; j < ly.in; ++j) grad[ly.weight + o * in_w + j] += dot2(g, rep[l] + j * n, n);
      if (ly.concat) grad[ly.weight + o * in_w + ly.in] += dot2(g, m, n);
    }
    const Point& at = net.point[l];
    if (l == 0 && !at.any()) break;
    // The gradient of point l's representation: W^T dy.
    float* gr = dy == g_a ? g_b : g_a;
    for (int64_t j = 0; j < ly.in; ++j) {
      float* r = gr + j * n;
      std::memset(r, 0, sizeof(float) * n);
      accumulate(r, n, ly.out, p + ly.weight + j, in_w, dy, n);
    }
    if (at.any()) {
      for (int64_t j = 0; j < ly.in; ++j) {
        float* g = gr + j * n;
        const float* h = pre[l] + j * n;
        if (at.shift_w >= 0) {
          grad[at.shift_w + j] += dot2(g, m, n);
          grad[at.shift_b + j] += sum1(g, n);
        }
        if (at.scale_w >= 0) {
          grad[at.scale_w + j] += dot3(g, h, m, n);
          grad[at.scale_b + j] += dot2(g, h, n);
          const float w = p[at.scale_w + j], b = p[at.scale_b + j];
          for (int64_t i = 0; i < n; ++i) g[i] *= w * m[i] + b;
        }
      }
    }
    if (l == 0) break;
    // Through hidden layer l - 1's activation (its output is pre[l]).
    for (int64_t j = 0; j < ly.in; ++j) {
      float* g = gr + j * n;
      const float* y = pre[l] + j * n;
      if (net.activation == 0) {
        for (int64_t i = 0; i < n; ++i) g[i] *= 1.0f - y[i] * y[i];
      } else {
        for (int64_t i = 0; i < n; ++i) g[i] = y[i] > 0.0f ? g[i] : 0.0f;
      }
    }
    dy = gr;
  }

  // The update, as PackOptimizer writes it (libtorch 1.13's Adam and SGD).
  float* q = mb.params;
  const int64_t P = net.row;
  if (mb.decay) {
    for (int64_t e = 0; e < P; ++e) grad[e] = grad[e] + mb.decay[e] * q[e];
  }
  if (mb.rule == 0) {
    for (int64_t e = 0; e < P; ++e) {
      const float g = grad[e];
      const float m1 = mb.first[e] * mb.beta1 + g * mb.one_minus_beta1;
      const float v = mb.second[e] * mb.beta2 + g * g * mb.one_minus_beta2;
      mb.first[e] = m1;
      mb.second[e] = v;
      q[e] -= m1 / (std::sqrt(v) / mb.sqrt_correction + mb.eps) * mb.step_size;
    }
  } else if (mb.rule == 2) {
    for (int64_t e = 0; e < P; ++e) {
      const float buffer = mb.first[e] * mb.momentum + grad[e];
      mb.first[e] = buffer;
      q[e] -= buffer * mb.lr;
    }
  } else {
    for (int64_t e = 0; e < P; ++e) q[e] -= grad[e] * mb.lr;
  }
  return loss;
}

float* float_data(TensorH t, int64_t at_least, const char* what) {
  if (!t) throw std::runtime_error(std::string("pack_mlp_step: no tensor for ") + what);
  const at::Tensor& x = *t;
  if (!x.device().is_cpu() || x.scalar_type() != at::kFloat || !x.is_contiguous() || x.numel() < at_least)
    throw std::runtime_error(std::string("pack_mlp_step: ") + what + " must be a contiguous float CPU tensor of at least " +
                             std::to_string(at_least) + " elements");
  return x.data_ptr<float>();
}

}  // namespace

// net: the description above. params: the pack's [members, row] parameters; member k is row rows[k]
// (only the members stepping this time are passed). first/second/decay: each member's own optimiser
// tensors [row] (decay may be null). features/labels/weights/mass: each member's training set tensors
// (mass null for a plain net; mass_per_row: the mass is the batch's own [n] rather than the set's).
// positions: the members' batches end to end, counts[k] events each. hyper: 9 per member (lr, beta1,
// beta2, eps, step_size, sqrt_correction, momentum, unused, unused) in double, rounded to float as the
// libtorch path rounds them; rules: 0 adam, 1 sgd, 2 sgd with momentum. losses: each member's loss.
// train 0: only the losses (a validation pass; first, second, decay, hyper and rules are not read).
ST_API int st_pack_mlp_step(const int64_t* net_description, int train, int members, TensorH params, const int64_t* rows, const TensorH* first,
                            const TensorH* second, const TensorH* decay, const TensorH* features, const TensorH* labels,
                            const TensorH* weights, const TensorH* mass, const int* mass_per_row, const int64_t* positions,
                            const int64_t* counts, const double* hyper, const int* rules, float* losses) {
  return st::run([&] {
    const Net net = parse(net_description);
    const int64_t row = net.row;
    float* flat = float_data(params, 0, "params");
    const int64_t pack = params->dim() == 2 ? params->size(0) : 0;
    if (params->dim() != 2 || params->size(1) != row) throw std::runtime_error("pack_mlp_step: params must be [members, row]");
    std::vector<Member> list(members);
    const int64_t* batch = positions;
    for (int k = 0; k < members; ++k) {
      Member& mb = list[k];
      if (rows[k] < 0 || rows[k] >= pack) throw std::runtime_error("pack_mlp_step: member row out of range");
      mb.params = flat + rows[k] * row;
      if (train) {
        mb.first = float_data(first[k], row, "first moment");
        mb.second = rules[k] == 0 ? float_data(second[k], row, "second moment") : nullptr;
        mb.decay = decay[k] ? float_data(decay[k], row, "decay") : nullptr;
      }
      const int64_t set = features[k] ? features[k]->size(0) : 0;
      mb.features = float_data(features[k], set * net.features, "features");
      if (features[k]->dim() != 2 || features[k]->size(1) != net.features) throw std::runtime_error("pack_mlp_step: features must be [events, features]");
      mb.labels = float_data(labels[k], set, "labels");
      mb.weights = float_data(weights[k], set, "weights");
      mb.n = counts[k];
      mb.mass_per_row = mass_per_row[k];
      mb.mass = net.uses_mass ? float_data(mass[k], mb.mass_per_row ? mb.n : set, "mass") : nullptr;
      mb.positions = batch;
      for (int64_t i = 0; i < mb.n; ++i)
        if (batch[i] < 0 || batch[i] >= set) throw std::runtime_error("pack_mlp_step: batch position out of range");
      batch += mb.n;
      if (!train) continue;
      const double* h = hyper + 9 * k;
      mb.rule = rules[k];
      mb.lr = static_cast<float>(h[0]);
      mb.beta1 = static_cast<float>(h[1]);
      mb.one_minus_beta1 = static_cast<float>(1 - h[1]);
      mb.beta2 = static_cast<float>(h[2]);
      mb.one_minus_beta2 = static_cast<float>(1 - h[2]);
      mb.eps = static_cast<float>(h[3]);
      mb.step_size = static_cast<float>(h[4]);
      mb.sqrt_correction = static_cast<float>(h[5]);
      mb.momentum = static_cast<float>(h[6]);
    }
    // Members are independent: spread over libtorch's intra-op threads (one per trial by default).
    at::parallel_for(0, members, 1, [&](int64_t begin, int64_t end) {
      thread_local Workspace ws;
      for (int64_t k = begin; k < end; ++k) losses[k] = member_step(net, list[k], train != 0, ws);
    });
  });
}
