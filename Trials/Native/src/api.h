// Shared helpers of the C ABI. Every exported function catches every C++ exception: an exception
// crossing into .NET would abort the process. Failures are reported as a null handle or a
// non-zero status, and the message is kept per thread for st_last_error().
#pragma once
#include "pch.h"

#define ST_API extern "C" __attribute__((visibility("default")))

using TensorH = at::Tensor*;

namespace st {

void set_error(const char* message);

// Runs f and turns any exception into the thread's last error. Returns fallback on failure.
template <class F, class R>
R guarded(F&& f, R fallback) {
  try {
    return f();
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
