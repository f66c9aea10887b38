#!/usr/bin/env bash
# Vendors the Vega, Vega-Lite and vega-embed browser bundles (and their licences) into
# Reports/assets/vendor/, so report.html can inline them and a fresh machine needs no npm.
# Run by hand when upgrading; the output is committed. Versions are pinned for reproducible reports.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
vendor="$here/vendor"
versions=(vega@6.3.0 vega-lite@6.5.0 vega-embed@7.3.0)

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
mkdir -p "$vendor"
for spec in "${versions[@]}"; do
  name="${spec%@*}"
  # npm pack fetches the published tarball only: no dependency tree, no install scripts.
  tarball="$(npm pack --silent "$spec" | tail -n 1)"
  mkdir -p "$name"
  tar -xzf "$tarball" -C "$name" --strip-components=1
  bundle="$name/build/$name.min.js"
  if [ ! -s "$bundle" ]; then
    echo "fetch.sh: $spec has no $bundle" >&2
    exit 1
  fi
  cp "$bundle" "$vendor/$name.min.js"
  cp "$name/LICENSE" "$vendor/$name.LICENSE"
  echo "fetch.sh: $spec -> vendor/$name.min.js ($(wc -c <"$bundle") bytes)"
done
