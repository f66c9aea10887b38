// Optimisers (libtorch's own SGD, Adam and AdamW, so updates match PyTorch bit for bit; RAdam, which
// libtorch's C++ API lacks, written here after torch.optim.RAdam's single-tensor path) with one
// parameter group per weight-decay setting, and checkpoint files for tensors and optimiser state.
#include "api.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace {

// libtorch 1.13 writes an archive through caffe2's PytorchStreamWriter, whose destructor writes the zip's end record and
// throws when the file cannot take it (a full disk): thrown from a destructor during unwinding, that is std::terminate,
// and the worker died with "terminate called after throwing an instance of 'c10::Error'" and a 1.7 KB backtrace. So the
// archive is serialised to memory (a checkpoint is a few MB at most) and written here, where a failed write is an
// ordinary error with the system's reason. A partly written file is removed: a later resume must not load half of one.
void save_archive(torch::serialize::OutputArchive& archive, const char* path) {
  std::ostringstream buffer(std::ios::out | std::ios::binary);
  archive.save_to(buffer);
  const std::string bytes = buffer.str();
  std::FILE* file = std::fopen(path, "wb");
  if (file == nullptr) throw std::runtime_error(std::string("cannot write ") + path + ": " + std::strerror(errno));
  int error = 0;
  if (std::fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) error = errno;
  if (std::fflush(file) != 0 && error == 0) error = errno;
  if (std::fclose(file) != 0 && error == 0) error = errno;
  if (error != 0) {
    std::remove(path);
    throw std::runtime_error(std::string("cannot write ") + path + ": " + std::strerror(error));
  }
}

enum Kind { SGD, ADAM, ADAMW, RADAM };

struct Hyper {
  double lr, momentum, beta1, beta2, eps, weight_decay;
  int nesterov;
};

std::unique_ptr<torch::optim::OptimizerOptions> options_for(int kind, const Hyper& h) {
  switch (kind) {
    case SGD:
      return std::make_unique<torch::optim::SGDOptions>(
          torch::optim::SGDOptions(h.lr).momentum(h.momentum).weight_decay(h.weight_decay).nesterov(h.nesterov != 0));
    case ADAM:
    case RADAM:
      return std::make_unique<torch::optim::AdamOptions>(
          torch::optim::AdamOptions(h.lr).betas({h.beta1, h.beta2}).eps(h.eps).weight_decay(h.weight_decay));
    case ADAMW:
      return std::make_unique<torch::optim::AdamWOptions>(
          torch::optim::AdamWOptions(h.lr).betas({h.beta1, h.beta2}).eps(h.eps).weight_decay(h.weight_decay));
  }
  throw std::runtime_error("unknown optimiser kind " + std::to_string(kind));
}

// Rectified Adam (Liu et al. 2020) with PyTorch's defaults (no decoupled weight decay): Adam's
// moments and state (so checkpoints save and load through Adam's own serialisation), a plain
// momentum step while the variance estimate is not yet tractable (rho_t <= 5), the rectified
// adaptive step afterwards.
class RAdam : public torch::optim::Adam {
 public:
  using torch::optim::Adam::Adam;

  torch::Tensor step(LossClosure closure = nullptr) override {
    at::NoGradGuard no_grad;
    torch::Tensor loss = {};
    if (closure != nullptr) {
      at::AutoGradMode enable_grad(true);
      loss = closure();
    }
    for (auto& group : param_groups_) {
      auto& options = static_cast<torch::optim::AdamOptions&>(group.options());
      const double lr = options.lr(), eps = options.eps(), decay = options.weight_decay();
      const double beta1 = std::get<0>(options.betas()), beta2 = std::get<1>(options.betas());
      for (auto& p : group.params()) {
        if (!p.grad().defined()) continue;
        auto grad = p.grad();
        auto key = c10::guts::to_string(p.unsafeGetTensorImpl());  // libtorch 1.13 keys state by the impl address
        if (state_.find(key) == state_.end()) {
          auto fresh = std::make_unique<torch::optim::AdamParamState>();
          fresh->step(0);
          fresh->exp_avg(torch::zeros_like(p, at::MemoryFormat::Preserve));
          fresh->exp_avg_sq(torch::zeros_like(p, at::MemoryFormat::Preserve));
          state_[key] = std::move(fresh);
        }
        auto& st = static_cast<torch::optim::AdamParamState&>(*state_[key]);
        st.step(st.step() + 1);
        const double t = static_cast<double>(st.step());
        if (decay != 0) grad = grad.add(p, decay);
        st.exp_avg().lerp_(grad, 1 - beta1);
        st.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);
        const double correction1 = 1 - std::pow(beta1, t);
        const double correction2 = 1 - std::pow(beta2, t);
        auto corrected = st.exp_avg() / correction1;
        const double rho_inf = 2 / (1 - beta2) - 1;
        const double rho_t = rho_inf - 2 * t * std::pow(beta2, t) / correction2;
        if (rho_t > 5) {
          const double rect = std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t));
          auto adaptive = std::sqrt(correction2) / st.exp_avg_sq().sqrt().add_(eps);
          p.add_(corrected * adaptive * (lr * rect), -1.0);
        } else {
          p.add_(corrected * lr, -1.0);
        }
      }
    }
    return loss;
  }
};

}  // namespace

// params: all parameter handles; group_sizes[g] consecutive parameters form group g, which uses
// weight_decays[g]. Every other hyperparameter is shared by all groups.
ST_API torch::optim::Optimizer* st_optim_new(int kind, const TensorH* params, const int* group_sizes,
                                             const double* weight_decays, int groups, double lr, double momentum,
                                             double beta1, double beta2, double eps, int nesterov) {
  return st::guarded([&]() -> torch::optim::Optimizer* {
    std::vector<torch::optim::OptimizerParamGroup> param_groups;
    int offset = 0;
    for (int g = 0; g < groups; ++g) {
      Hyper h{lr, momentum, beta1, beta2, eps, weight_decays[g], nesterov};
      param_groups.emplace_back(st::tensor_list(params + offset, group_sizes[g]), options_for(kind, h));
      offset += group_sizes[g];
    }
    Hyper defaults{lr, momentum, beta1, beta2, eps, 0.0, nesterov};
    switch (kind) {
      case SGD:
        return new torch::optim::SGD(param_groups, static_cast<torch::optim::SGDOptions&>(*options_for(kind, defaults)));
      case ADAM:
        return new torch::optim::Adam(param_groups, static_cast<torch::optim::AdamOptions&>(*options_for(kind, defaults)));
      case ADAMW:
        return new torch::optim::AdamW(param_groups, static_cast<torch::optim::AdamWOptions&>(*options_for(kind, defaults)));
      case RADAM:
        return new RAdam(param_groups, static_cast<torch::optim::AdamOptions&>(*options_for(kind, defaults)));
    }
    throw std::runtime_error("unknown optimiser kind " + std::to_string(kind));
  }, static_cast<torch::optim::Optimizer*>(nullptr));
}

ST_API void st_optim_free(torch::optim::Optimizer* opt) { delete opt; }
ST_API int st_optim_step(torch::optim::Optimizer* opt) { return st::run([&] { opt->step(); }); }
ST_API int st_optim_zero_grad(torch::optim::Optimizer* opt) { return st::run([&] { opt->zero_grad(); }); }
ST_API int st_optim_set_lr(torch::optim::Optimizer* opt, double lr) {
  return st::run([&] {
    for (auto& group : opt->param_groups()) group.options().set_lr(lr);
  });
}
ST_API double st_optim_get_lr(torch::optim::Optimizer* opt) { return opt->param_groups().at(0).options().get_lr(); }
ST_API int st_optim_save(torch::optim::Optimizer* opt, const char* path) {
  return st::run([&] {
    torch::serialize::OutputArchive archive;
    opt->save(archive);
    save_archive(archive, path);
  });
}
// The optimiser state is read onto the device of the optimiser's parameters (map_location), so a
// checkpoint written on a GPU resumes on a CPU-only host and the other way round.
ST_API int st_optim_load(torch::optim::Optimizer* opt, const char* path) {
  return st::run([&] {
    at::Device device = at::kCPU;
    for (const auto& group : opt->param_groups())
      if (!group.params().empty()) {
        device = group.params().front().device();
        break;
      }
    torch::serialize::InputArchive archive;
    archive.load_from(path, device);
    opt->load(archive);
  });
}

// ---- named tensors in one file (parameters, generator state) -----------------------------------

ST_API int st_save_tensors(const char* path, const char** names, const TensorH* tensors, int n) {
  return st::run([&] {
    torch::serialize::OutputArchive archive;
    // Written from CPU copies: the file then loads on any host, with or without a GPU.
    for (int i = 0; i < n; ++i) archive.write(names[i], tensors[i]->detach().to(at::kCPU));
    save_archive(archive, path);
  });
}

// Copies the stored values into the given (existing) tensors, keeping their identity, so that
// optimisers and modules holding them see the restored values.
ST_API int st_load_tensors(const char* path, const char** names, const TensorH* tensors, int n) {
  return st::run([&] {
    torch::serialize::InputArchive archive;
    // map_location cpu: older files may hold CUDA tensors; copy_ below moves values to each target's device.
    archive.load_from(path, at::Device(at::kCPU));
    at::NoGradGuard no_grad;
    for (int i = 0; i < n; ++i) {
      at::Tensor stored;
      archive.read(names[i], stored);
      if (!stored.sizes().equals(tensors[i]->sizes()))
        throw std::runtime_error(std::string("checkpoint tensor '") + names[i] + "' has shape " +
                                 c10::str(stored.sizes()) + ", expected " + c10::str(tensors[i]->sizes()));
      tensors[i]->copy_(stored);
    }
  });
}
