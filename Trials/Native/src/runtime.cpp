// Process-wide runtime: errors, start-up safeguards, threads, BLAS identification, devices and
// per-trial random generators.
#include "api.h"

#include <dlfcn.h>
#include <malloc.h>
#include <climits>
#include <cstring>

#ifdef STUDIES_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif

namespace st {
thread_local std::string last_error;
thread_local ErrorKind last_error_kind = ERROR_OTHER;
void set_error(const char* message, ErrorKind kind) {
  last_error = message ? message : "";
  last_error_kind = kind;
}
}  // namespace st

ST_API const char* st_last_error() { return st::last_error.c_str(); }
ST_API int st_last_error_kind() { return static_cast<int>(st::last_error_kind); }

// glibc returns freed memory to the kernel and faults it back in on every training step once a
// step frees all its tensors together (measured: 2 million page faults, 4x slower). Keeping freed
// memory in the process and serving large tensors from the heap avoids that churn.
ST_API int st_init() {
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  return 0;
}

ST_API const char* st_torch_version() {
  static const std::string version = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
                                     "." + std::to_string(TORCH_VERSION_PATCH);
  return version.c_str();
}

using openblas_set_threads_fn = void (*)(int);
using openblas_config_fn = char* (*)();

// Names the BLAS that libtorch's gemm calls resolve to: which library provides dgemm_, and its
// own description when it is OpenBLAS. Debian's libtorch uses whatever libblas.so.3 the
// alternatives system selects, and the reference BLAS there is ~20x slower on wide nets.
ST_API int st_blas_info(char* buffer, int length) {
  std::string info;
  void* dgemm = dlsym(RTLD_DEFAULT, "dgemm_");
  Dl_info where{};
  std::string path = (dgemm && dladdr(dgemm, &where) && where.dli_fname) ? where.dli_fname : "";
  auto config = reinterpret_cast<openblas_config_fn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  if (config) {
    info = config();  // starts with "OpenBLAS <version>"
  } else if (dlsym(RTLD_DEFAULT, "mkl_get_max_threads")) {
    info = "MKL";
  } else if (dlsym(RTLD_DEFAULT, "bli_info_get_version_str")) {
    info = "BLIS";
  } else if (!path.empty()) {
    info = "unknown BLAS";
  } else {
    info = "no dgemm_ symbol (BLAS linked statically or not at all)";
  }
  if (!path.empty()) {
    char resolved[PATH_MAX];
    info += " | " + std::string(realpath(path.c_str(), resolved) ? resolved : path.c_str());
  }
  std::strncpy(buffer, info.c_str(), length - 1);
  buffer[length - 1] = '\0';
  return static_cast<int>(info.size());
}

// libtorch's intra-op pool and an OpenBLAS built with pthreads keep separate thread counts;
// both must follow the trial's setting or two trials on two cores oversubscribe them.
ST_API int st_set_num_threads(int n) {
  return st::run([&] {
    at::set_num_threads(n);
    if (auto f = reinterpret_cast<openblas_set_threads_fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(n);
  });
}

ST_API int st_get_num_threads() { return at::get_num_threads(); }

// torch::cuda::device_count is the public API in libtorch 1.x and 2.x alike (the CUDA hooks behind
// it changed names); it honours CUDA_VISIBLE_DEVICES as the CUDA runtime does.
ST_API int st_cuda_device_count() {
  return st::guarded([] { return static_cast<int>(torch::cuda::device_count()); }, 0);
}

// Whether this build links a CUDA libtorch (per-trial CUDA generators need it).
ST_API int st_cuda_is_built() {
#ifdef STUDIES_WITH_CUDA
  return 1;
#else
  return 0;
#endif
}

ST_API int st_set_grad_enabled(int enabled) {
  bool previous = at::GradMode::is_enabled();
  at::GradMode::set_enabled(enabled != 0);
  return previous ? 1 : 0;
}

ST_API int st_is_grad_enabled() { return at::GradMode::is_enabled() ? 1 : 0; }

// ---- generators: one per trial, so concurrent trials never share random state ----------------

ST_API at::Generator* st_generator_new(uint64_t seed, int device_type, int device_index) {
  return st::guarded([&]() -> at::Generator* {
    at::Device device = st::device_of(device_type, device_index);
    if (device.is_cpu()) return new at::Generator(at::detail::createCPUGenerator(seed));
#ifdef STUDIES_WITH_CUDA
    if (device.is_cuda()) {
      auto gen = at::cuda::detail::createCUDAGenerator(device.has_index() ? device.index() : 0);
      gen.set_current_seed(seed);
      return new at::Generator(gen);
    }
#endif
    throw std::runtime_error("no generator for device " + device.str() + " in this build of studies_native");
  }, static_cast<at::Generator*>(nullptr));
}

ST_API void st_generator_free(at::Generator* gen) { delete gen; }

ST_API uint64_t st_generator_initial_seed(at::Generator* gen) { return gen->current_seed(); }

ST_API TensorH st_generator_get_state(at::Generator* gen) {
  return st::make([&] {
    std::lock_guard<std::mutex> lock(gen->mutex());
    return gen->get_state();
  });
}

ST_API int st_generator_set_state(at::Generator* gen, TensorH state) {
  return st::run([&] {
    std::lock_guard<std::mutex> lock(gen->mutex());
    gen->set_state(*state);
  });
}
