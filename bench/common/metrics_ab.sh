#!/usr/bin/env bash
# Metrics cost before/after: builds bench/common/metrics_bench.cc against the
# sg::metrics implementation of a base revision (default: main) and against
# this build's, runs both alternately in the same session and prints the
# median CPU time of each and the ratio new/base (the machine is noisy: only
# ratios from one run mean anything).
#
# Usage: bench/common/metrics_ab.sh [BASE] [ROUNDS]   (run in a Release build)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_dir="${SMIMEGATE_BUILD_DIR:-$repo/build}"
base="${1:-main}"
rounds="${2:-3}"
new_bin="$build_dir/bench/common/metrics_bench"
[ -x "$new_bin" ] || { echo "build $new_bin first (scripts/build.sh)" >&2; exit 2; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/common"
git -C "$repo" show "$base:common/metrics.h" >"$tmp/common/metrics.h"
git -C "$repo" show "$base:common/metrics.cc" >"$tmp/common/metrics.cc"
extra=()
if grep -q prometheus "$tmp/common/metrics.h"; then extra=(-lprometheus-cpp-core); fi
g++ -std=c++20 -O3 -DNDEBUG -I"$tmp" "$repo/bench/common/metrics_bench.cc" \
  "$tmp/common/metrics.cc" -o "$tmp/metrics_bench_base" -lbenchmark -lpthread "${extra[@]}"

for i in $(seq "$rounds"); do
  for which in base new; do
    bin="$tmp/metrics_bench_base"; [ "$which" = new ] && bin="$new_bin"
    nice -n 15 "$bin" --benchmark_repetitions=3 --benchmark_format=json \
      --benchmark_out="$tmp/$which.$i.json" --benchmark_out_format=json >/dev/null
  done
done
python3 - "$tmp" "$rounds" "$base" <<'PY'
import json, statistics, sys
tmp, rounds, base = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = {"base": {}, "new": {}}
for which in runs:
    for i in range(1, rounds + 1):
        for b in json.load(open(f"{tmp}/{which}.{i}.json"))["benchmarks"]:
            if b.get("run_type") == "iteration":
                runs[which].setdefault(b["run_name"], []).append(b["cpu_time"] / 1)
print(f"{'benchmark':40} {'base (' + base + ')':>16} {'new':>12} {'new/base':>9}")
for name in runs["base"]:
    b, n = statistics.median(runs["base"][name]), statistics.median(runs["new"].get(name, [0]))
    unit = "ns" if "Serialize" not in name else "us"
    print(f"{name:40} {b:13.1f} {unit} {n:9.1f} {unit} {n / b if b else 0:9.2f}")
PY
