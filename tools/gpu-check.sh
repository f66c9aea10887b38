#!/usr/bin/env bash
# The GPU check, in two parts (docs/gpu.md):
#
#   tools/gpu-check.sh prepare [DIR]    here, with the .NET SDK: writes DIR (default
#                                       artifacts/gpu-check): a self-contained `studies` for
#                                       linux-x64 (no SDK needed where it runs), the native
#                                       sources, the quickstart and this script; fails above 64 MiB.
#   DIR/gpu-check.sh run [FIGURES]      on the GPU host: builds Trials/Native against the
#                                       machine's libtorch (the pip torch's share/cmake/Torch,
#                                       else the system's), then runs `studies selftest` on
#                                       cuda:0, the quickstart on cpu and on cuda:0 (compared),
#                                       and the packing measurement; every figure goes to
#                                       FIGURES (default $OUT/gpu-check-figures.txt, else
#                                       ./gpu-check-figures.txt).
#
# `run` needs only bash, cmake, a C++ compiler and python3 with torch (or Debian's libtorch-dev);
# without a CUDA device it reports "no CUDA device" for the GPU parts and still runs the rest.
set -uo pipefail

limit_bytes=$((64 * 1024 * 1024))

prepare() {
  set -e
  local root out
  root="$(cd "$(dirname "$0")/.." && pwd)"
  out="${1:-$root/artifacts/gpu-check}"
  mkdir -p "$out"
  out="$(cd "$out" && pwd)"
  rm -rf "${out:?}"/*
  "$root/tools/setup.sh"
  echo "gpu-check: publishing a self-contained studies for linux-x64 into $out/bundle" >&2
  # Single file, compressed: the .NET runtime travels inside; native libraries (SQLite, the
  # libtorch binding built here) sit beside it and are not extracted anywhere at run time.
  dotnet publish "$root/Orchestrator/Orchestrator.csproj" -c Release -r linux-x64 --self-contained true \
    -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:DebugType=none \
    -nologo -v quiet -o "$out/bundle" >&2
  mkdir -p "$out/native" "$out/studies"
  cp -r "$root/Trials/Native/CMakeLists.txt" "$root/Trials/Native/src" "$out/native/"
  cp "$root/studies/quickstart.yaml" "$out/studies/"
  cp "$root/tools/gpu-check.sh" "$root/tools/gpu-check-compare.py" "$out/"
  local bytes
  bytes=$(du -sb "$out" | cut -f1)
  echo "gpu-check: $out holds $((bytes / 1024 / 1024)) MiB ($bytes bytes; limit 64 MiB)" >&2
  if [ "$bytes" -gt "$limit_bytes" ]; then
    echo "gpu-check: the bundle is larger than 64 MiB" >&2
    exit 1
  fi
  echo "$out"
}

# Folder of pip torch's TorchConfig.cmake, if python3 has a torch that ships one.
torch_cmake_dir() {
  python3 - <<'EOF' 2>/dev/null
import os, torch, torch.utils
prefix = torch.utils.cmake_prefix_path
if os.path.isfile(os.path.join(prefix, "Torch", "TorchConfig.cmake")):
    print(os.path.join(prefix, "Torch"))
EOF
}

run() {
  local here figures studies build torch_dir home log cuda
  here="$(cd "$(dirname "$0")" && pwd)"
  figures="${1:-${OUT:-.}/gpu-check-figures.txt}"
  mkdir -p "$(dirname "$figures")"
  figures="$(cd "$(dirname "$figures")" && pwd)/$(basename "$figures")"
  # A clean environment (env -i) has no PATH; the tools are the system's.
  export PATH="${PATH:-/usr/local/bin:/usr/bin:/bin}:/usr/local/bin:/usr/bin:/bin"
  export HOME="${HOME:-$(mktemp -d)}"
  # No ICU on minimal hosts: the bundle is built culture-invariant anyway.
  export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
  studies="$here/bundle/studies"
  work="$(mktemp -d /tmp/gpu-check.XXXXXX)"
  : >"$figures"
  say() { echo "$*" | tee -a "$figures"; }
  section() { say ""; say "== $* =="; }
  # Runs a command with a time limit; its output goes to the console and the figures file.
  step() {
    local limit=$1
    shift
    timeout "$limit" "$@" 2>&1 | tee -a "$figures"
    local rc=${PIPESTATUS[0]}
    [ "$rc" -eq 124 ] && say "(stopped after ${limit}s)"
    return "$rc"
  }
  # The same for chatty commands (a study run's progress): the full output goes to a log, its last lines to the figures.
  quiet_step() {
    local limit=$1 log="$work/step.log"
    shift
    timeout "$limit" "$@" >"$log" 2>&1
    local rc=$?
    tail -4 "$log" | tee -a "$figures"
    [ "$rc" -eq 124 ] && say "(stopped after ${limit}s)"
    [ "$rc" -ne 0 ] && say "(exit status $rc)"
    return "$rc"
  }

  say "gpu-check on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  say "cores: $(nproc); GPU: $( (nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo none) | paste -sd ';')"

  section "native library"
  build="$work/native-build"
  torch_dir="$(torch_cmake_dir)"
  log="$work/native-build.log"
  if [ -n "$torch_dir" ]; then
    say "libtorch: pip torch $(python3 -c 'import torch; print(torch.__version__)' 2>/dev/null) ($torch_dir)"
    cmake_args=(-DTorch_DIR="$torch_dir")
    command -v nvcc >/dev/null && cmake_args+=(-DCMAKE_CUDA_COMPILER="$(command -v nvcc)")
  else
    say "libtorch: no pip torch with share/cmake/Torch; the system's (Debian libtorch-dev)"
    cmake_args=()
  fi
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  if timeout 600 cmake -S "$here/native" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}" >"$log" 2>&1 \
     && timeout 600 cmake --build "$build" --parallel >>"$log" 2>&1; then
    grep -E "studies_native:" "$log" | sed 's/^-- //' | tee -a "$figures"
    export STUDIES_NATIVE_LIB="$build/libstudies_native.so"
    say "built $STUDIES_NATIVE_LIB"
  else
    say "FAILED to build the native library; its log:"
    tail -40 "$log" | tee -a "$figures"
    say "gpu-check: stopped (no native library for this host's libtorch)"
    return 1
  fi

  section "studies info"
  step 120 "$studies" info
  cuda=$("$studies" info 2>/dev/null | awk '/^CUDA devices/ {print $3}')
  cuda=${cuda:-0}

  section "CUDA checks (studies selftest --device cuda:0)"
  step 300 "$studies" selftest --device cuda:0
  selftest_rc=$?

  section "quickstart"
  home="$work/home"
  mkdir -p "$home"
  export STUDIES_HOME="$home"
  say "on cpu:"
  quiet_step 600 "$studies" run "$here/studies/quickstart.yaml"
  quiet_step 120 "$studies" export quickstart --out "$work/export-cpu"
  if [ "$cuda" -gt 0 ]; then
    # The same study on cuda:0: its trials differ only in their device (and so in their ids).
    sed -e 's/^study: quickstart$/study: quickstart-cuda/' \
        -e 's/^base:$/base:\n  device: cuda/' \
        -e 's/^resources: .*$/resources: {devices: [0], trials_per_device: 4, threads_per_trial: 1}/' \
        "$here/studies/quickstart.yaml" >"$work/quickstart-cuda.yaml"
    say "on cuda:0:"
    quiet_step 600 "$studies" run "$work/quickstart-cuda.yaml"
    quiet_step 120 "$studies" export quickstart-cuda --out "$work/export-cuda"
    step 60 python3 "$here/gpu-check-compare.py" "$work/export-cpu" "$work/export-cuda"
  else
    say "quickstart on cuda:0: skipped: no CUDA device (the cpu run above completed: $(grep -c ',completed,' "$work/export-cpu/trials.csv" 2>/dev/null || echo 0) trials)"
  fi

  section "packing (quickstart-sized trials at once on one device)"
  if [ "$cuda" -gt 0 ]; then
    step 900 "$studies" bench packing --device cuda:0 --levels 1 2 4 8 16
  else
    say "packing on cuda:0: no CUDA device"
    say "(the measurement itself, exercised on cpu with 1 and 2 at once:)"
    step 600 "$studies" bench packing --device cpu --levels 1 2
  fi

  section "summary"
  say "selftest exit status: $selftest_rc; CUDA devices: $cuda"
  say "figures: $figures"
  rm -rf "$work"
}

case "${1:-}" in
  prepare) shift; prepare "$@" ;;
  run) shift; run "$@" ;;
  *)
    echo "usage: tools/gpu-check.sh prepare [DIR]   (here: writes the bundle)" >&2
    echo "       DIR/gpu-check.sh run [FIGURES]     (on the GPU host)" >&2
    exit 2
    ;;
esac
