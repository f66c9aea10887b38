// Shared helpers of the C ABI. Every exported function catches every C++ exception: an exception
// crossing into .NET would abort the process. Failures are reported as a null handle or a
// non-zero status, and the message is kept per thread for st_last_error().
#pragma once
#include "pch.h"

#if TORCH_VERSION_MAJOR < 1 || (TORCH_VERSION_MAJOR == 1 && TORCH_VERSION_MINOR < 13)
#error "studies_native needs libtorch 1.13 or newer (Debian 12's libtorch-dev, or a 2.x build)"
#endif

#define ST_API extern "C" __attribute__((visibility("default")))

using TensorH = at::Tensor*;

namespace st {

// c10::optional became an alias of std::optional in libtorch 2.4; before that it is its own type,
// which libtorch 1.13's signatures take. These names work with both.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
template <class T>
using optional = std::optional<T>;
inline constexpr auto nullopt = std::nullopt;
#else
template <class T>
using optional = c10::optional<T>;
inline constexpr auto nullopt = c10::nullopt;
#endif

// What kind of failure the last error was, so .NET can react to it (mirrored in TorchErrorKind).
enum ErrorKind { ERROR_OTHER = 0, ERROR_OUT_OF_MEMORY = 1 };

void set_error(const char* message, ErrorKind kind = ERROR_OTHER);

// Runs f and turns any exception into the thread's last error. Returns fallback on failure.
template <class F, class R>
R guarded(F&& f, R fallback) {
  try {
    return f();
  } catch (const c10::OutOfMemoryError& e) {
    // CUDA's caching allocator throws this; libtorch's CPU allocator throws a plain c10::Error
    // ("not enough memory"), which .NET recognises by its message.
    set_error(e.what_without_backtrace(), ERROR_OUT_OF_MEMORY);
  } catch (const std::bad_alloc& e) {
    set_error(e.what(), ERROR_OUT_OF_MEMORY);
  } catch (const c10::Error& e) {
    set_error(e.what_without_backtrace());
  } catch (const std::exception& e) {
    set_error(e.what());
  } catch (...) {
    set_error("unknown native error");
  }
  return fallback;
}

// For functions that produce a tensor: a heap copy of the (reference-counted) handle.
template <class F>
TensorH make(F&& f) {
  return guarded([&]() -> TensorH { return new at::Tensor(f()); }, static_cast<TensorH>(nullptr));
}

// For functions with no result: 0 on success, -1 on failure.
template <class F>
int run(F&& f) {
  return guarded([&]() -> int { f(); return 0; }, -1);
}

inline at::Device device_of(int type, int index) {
  return at::Device(static_cast<c10::DeviceType>(type), static_cast<c10::DeviceIndex>(index));
}

inline at::TensorOptions options(int dtype, int device_type, int device_index) {
  return at::TensorOptions()
      .dtype(static_cast<c10::ScalarType>(dtype))
      .device(device_of(device_type, device_index));
}

inline std::vector<at::Tensor> tensor_list(const TensorH* handles, int n) {
  std::vector<at::Tensor> list;
  list.reserve(n);
  for (int i = 0; i < n; ++i) list.push_back(*handles[i]);
  return list;
}

}  // namespace st
