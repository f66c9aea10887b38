#!/usr/bin/env bash
# Installs what Studies needs on Debian 12 (when root; otherwise prints the exact command) and
# builds native and managed code. Idempotent and quick when everything is already there.
# Used by ./studies.sh and ./test.sh; not meant to be called by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

# libtorch (PyTorch 1.13 C++, CPU) and an optimised BLAS: Debian's libtorch calls whatever
# libblas.so.3 is selected, and the reference BLAS is ~20x slower on wide nets.
packages=(libtorch-dev libopenblas0-pthread cmake g++ make)
# Extra packages a caller needs (e.g. the report tests' browser), given as arguments.
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then missing+=("$p"); fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${missing[*]} (first time only; libtorch-dev is ~1 GB)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    echo "setup: missing system packages. Run this once, then try again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET 10 SDK is required (dotnet was not found on PATH)" >&2
  exit 1
fi

# Builds Trials/Native through CMake (only when its sources changed) and the managed projects.
log="$(mktemp)"
if ! dotnet build Studies.sln -c Release -nologo -v quiet >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "setup: the build failed (messages above)" >&2
  exit 1
fi
rm -f "$log"
