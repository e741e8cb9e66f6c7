#!/usr/bin/env bash
# Configures and builds smimegate (Release by default) into $SMIMEGATE_BUILD_DIR
# (default <repo>/build). Safe to run again: only what changed is rebuilt.
#
# SMIMEGATE_BUILD_PROFILE=run builds only the binaries (smimegate,
# smimegatectl) and configures a new build dir without the tests and the
# benchmarks, whose libraries `scripts/setup-deps.sh --run` does not install
# (scripts/run.sh). The default profile, all, builds everything and turns the
# tests and benchmarks back on in a build dir that a run profile configured.
# SMIMEGATE_BUILD_DRY_RUN=1 configures, then only prints the commands that
# building would run (ninja -t commands), without running them.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${SMIMEGATE_BUILD_DIR:-$repo/build}"
build_type="${SMIMEGATE_BUILD_TYPE:-Release}"
jobs="${SMIMEGATE_JOBS:-$(nproc)}"
profile="${SMIMEGATE_BUILD_PROFILE:-all}"

case "$profile" in
  run) with_tests=OFF; targets=(smimegate smimegatectl) ;;
  all) with_tests=ON; targets=() ;;
  *) echo "build.sh: SMIMEGATE_BUILD_PROFILE must be run or all, not '$profile'" >&2; exit 2 ;;
esac

launcher=()
# ccache (installed by setup-deps) makes rebuilds and parallel checkouts cheap.
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
# The value of a cache entry of the build dir ("" when unset).
cache_value() {
  sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt" 2>/dev/null || true
}

if [ ! -f "$build_dir/build.ninja" ]; then
  cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" "${launcher[@]}" \
    -DSMIMEGATE_BUILD_TESTS="$with_tests" -DSMIMEGATE_BUILD_BENCH="$with_tests" "$@"
elif [ "$profile" = all ] &&
     { [ "$(cache_value SMIMEGATE_BUILD_TESTS)" = OFF ] || [ "$(cache_value SMIMEGATE_BUILD_BENCH)" = OFF ]; }; then
  cmake -S "$repo" -B "$build_dir" -DSMIMEGATE_BUILD_TESTS=ON -DSMIMEGATE_BUILD_BENCH=ON "$@"
elif [ $# -gt 0 ]; then
  cmake -S "$repo" -B "$build_dir" "$@"
fi
if [ "${SMIMEGATE_BUILD_DRY_RUN:-0}" = 1 ]; then
  ninja -C "$build_dir" -t commands "${targets[@]}"
  exit 0
fi
target_args=()
for t in "${targets[@]}"; do target_args+=(--target "$t"); done
cmake --build "$build_dir" -j "$jobs" "${target_args[@]}"
