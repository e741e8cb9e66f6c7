#!/usr/bin/env bash
# The end-to-end benchmark in one command (issue 8; docs/benchmarks.md):
# builds the Release targets it needs (unless --no-build), then runs
# bench/e2e/e2e_bench.py, which writes bench/results/<UTC timestamp>/
# (report.md, results.json, throughput.png, ratios.png, latency.png).
#
#   bench/e2e/run.sh             full matrix (~20-30 min on 2 cores)
#   bench/e2e/run.sh --quick     10 KB, embedded, RSA + P-256 (~3-5 min)
#   bench/e2e/run.sh --smoke     2 KB, embedded, RSA (< 90 s)
#   bench/e2e/run.sh --scaling   workers 1, 2, 4 in CPU cgroups, distributed mode
#                                (--quick: 1, 2; e2e_scaling.py, docs/benchmarks.md)
#   bench/e2e/run.sh --help      every option
#
# --build-dir DIR (default <repo>/build) is passed on; SMIMEGATE_BUILD_JOBS
# (default 2) sets the build parallelism.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="$repo/build"
build=1
command="bench/e2e/run.sh $*"
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --build-dir) build_dir="$2"; args+=("$1" "$2"); shift ;;
    --build-dir=*) build_dir="${1#*=}"; args+=("$1") ;;
    *) args+=("$1") ;;
  esac
  shift
done
for a in "${args[@]}"; do
  if [ "$a" = "--help" ] || [ "$a" = "-h" ]; then build=0; fi
done

if [ "$build" = 1 ]; then
  # The benchmark's peers and tools (Postfix, Prometheus, matplotlib, perf):
  # scripts/run.sh installs only what the gateway itself needs.
  "$repo/scripts/setup-deps.sh"
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
  elif grep -qE '^SMIMEGATE_BUILD_(TESTS|BENCH):BOOL=OFF' "$build_dir/CMakeCache.txt"; then
    # A build dir that scripts/run.sh configured (binaries only): the
    # benchmark needs the test broker and the load generators too.
    cmake -S "$repo" -B "$build_dir" -DSMIMEGATE_BUILD_TESTS=ON -DSMIMEGATE_BUILD_BENCH=ON
  fi
  type="$(grep -E '^CMAKE_BUILD_TYPE:' "$build_dir/CMakeCache.txt" | cut -d= -f2)"
  if [ "$type" != "Release" ]; then
    echo "run.sh: $build_dir is a '$type' build; benchmarks need Release" \
         "(cmake -S . -B build -DCMAKE_BUILD_TYPE=Release, or --build-dir)" >&2
    exit 2
  fi
  cmake --build "$build_dir" -j "${SMIMEGATE_BUILD_JOBS:-2}" --target \
    smimegate smimegatectl smimegate-test-broker smimegate-bench-smtp smimegate-bench-crypto-limit
fi
# The report quotes the command as typed.
export SMIMEGATE_E2E_COMMAND="$command"
exec /usr/bin/python3 "$repo/bench/e2e/e2e_bench.py" --build-dir "$build_dir" "${args[@]}"
