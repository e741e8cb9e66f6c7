#!/usr/bin/env bash
# The portal benchmark's long run (issue 17; docs/benchmarks.md "Portal"):
# builds smimegate-bench-portal in Release (unless --no-build), then runs it
# at nice 15 with 100 recipients x 1,000 stored messages, 2,000 intake
# records x 3 repetitions, 8 concurrent clients, and the connection
# exhaustion case at 8 idle connections (enforced) and 64 and 256 (reported).
# Results: bench/results/portal-<UTC timestamp>/{report.txt,results.json}.
#
#   bench/portal/run.sh [--build-dir DIR] [--no-build] [smimegate-bench-portal options]
#
# SMIMEGATE_BUILD_JOBS (default 2) sets the build parallelism. The smoke
# version is the ctest bench.portal_smoke (--smoke, a few seconds).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="$repo/build"
build=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --build-dir) build_dir="$2"; shift ;;
    --build-dir=*) build_dir="${1#*=}" ;;
    *) args+=("$1") ;;
  esac
  shift
done

if [ "$build" = 1 ]; then
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release
  fi
  type="$(grep -E '^CMAKE_BUILD_TYPE:' "$build_dir/CMakeCache.txt" | cut -d= -f2)"
  if [ "$type" != "Release" ]; then
    echo "run.sh: $build_dir is a '$type' build; benchmarks need Release" >&2
    exit 2
  fi
  nice -n 5 cmake --build "$build_dir" -j "${SMIMEGATE_BUILD_JOBS:-2}" --target smimegate-bench-portal
fi

out="$repo/bench/results/portal-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
echo "results: $out"
nice -n 15 "$build_dir/bench/portal/smimegate-bench-portal" \
  --records 2000 --reps 3 --recipients 100 --per-recipient 1000 --clients 8 --requests 200 \
  --logins 20 --idle 8 --idle-report 64,256 --json "$out/results.json" ${args[@]+"${args[@]}"} \
  | tee "$out/report.txt"
