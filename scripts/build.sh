#!/usr/bin/env bash
# Configures and builds smimegate (Release by default) into $SMIMEGATE_BUILD_DIR
# (default <repo>/build). Safe to run again: only what changed is rebuilt.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${SMIMEGATE_BUILD_DIR:-$repo/build}"
build_type="${SMIMEGATE_BUILD_TYPE:-Release}"
jobs="${SMIMEGATE_JOBS:-$(nproc)}"

launcher=()
# ccache (installed by setup-deps) makes rebuilds and parallel checkouts cheap.
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "${launcher[@]}" "$@"
elif [ $# -gt 0 ]; then
  cmake -S "$repo" -B "$build_dir" "$@"
fi
cmake --build "$build_dir" -j "$jobs"
