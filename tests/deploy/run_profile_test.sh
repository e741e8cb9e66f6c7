#!/usr/bin/env bash
# scripts/run.sh installs and builds only what the gateway needs: the run
# list of scripts/setup-deps.sh has none of the test or benchmark tools, and
# the run build profile configures a fresh build dir without the tests and
# benchmarks and builds nothing but the two binaries; the default profile
# (scripts/test.sh) turns the tests back on in that same build dir.
# Configures into a temp dir and only lists the build commands (no compile).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d /tmp/smimegate-run-profile-XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

run_list="$("$repo/scripts/setup-deps.sh" --run --list)"
all_list="$("$repo/scripts/setup-deps.sh" --list)"
for p in postfix prometheus python3-matplotlib libgtest-dev libbenchmark-dev chromium \
         linux-perf slapd testssl.sh clang-tidy gpgsm; do
  if grep -qx "$p" <<<"$run_list"; then fail "run list installs the test tool $p"; fi
  grep -qx "$p" <<<"$all_list" || fail "the full list lacks $p"
done
for p in cmake ninja-build libssl-dev librdkafka-dev prometheus-cpp-dev git curl; do
  grep -qx "$p" <<<"$run_list" || fail "run list lacks $p"
done
while read -r p; do
  grep -qx "$p" <<<"$all_list" || fail "$p is in the run list but not in the full one"
done <<<"$run_list"

# The run profile: a fresh build dir without tests and benchmarks, only the binaries.
SMIMEGATE_BUILD_DIR="$work/build" SMIMEGATE_BUILD_PROFILE=run SMIMEGATE_BUILD_DRY_RUN=1 \
  "$repo/scripts/build.sh" > "$work/run.txt" 2>&1 || { cat "$work/run.txt"; fail "run profile"; }
grep -q '^SMIMEGATE_BUILD_TESTS:BOOL=OFF' "$work/build/CMakeCache.txt" || fail "tests configured"
grep -q '^SMIMEGATE_BUILD_BENCH:BOOL=OFF' "$work/build/CMakeCache.txt" || fail "benchmarks configured"
grep -qE -- '-o cmd/smimegate/smimegate( |$)' "$work/run.txt" || fail "smimegate not built"
grep -qE -- '-o cmd/smimegatectl/smimegatectl( |$)' "$work/run.txt" || fail "smimegatectl not built"
if grep -qE -- '-o (tests|bench)/' "$work/run.txt"; then
  fail "the run profile builds tests: $(grep -m1 -oE -- '-o (tests|bench)/[^ ]*' "$work/run.txt")"
fi
run_compiles="$(grep -c -- ' -c ' "$work/run.txt")"

# The default profile (scripts/test.sh) in the same dir: tests on again.
SMIMEGATE_BUILD_DIR="$work/build" SMIMEGATE_BUILD_DRY_RUN=1 \
  "$repo/scripts/build.sh" > "$work/all.txt" 2>&1 || { cat "$work/all.txt"; fail "all profile"; }
grep -q '^SMIMEGATE_BUILD_TESTS:BOOL=ON' "$work/build/CMakeCache.txt" || fail "tests not turned on"
grep -q '^SMIMEGATE_BUILD_BENCH:BOOL=ON' "$work/build/CMakeCache.txt" || fail "benchmarks not turned on"
grep -qE -- '-o tests/' "$work/all.txt" || fail "the default profile builds no tests"
all_compiles="$(grep -c -- ' -c ' "$work/all.txt")"
echo "run profile: $run_compiles compile steps, $(wc -l <<<"$run_list") packages;" \
     "full: $all_compiles compile steps, $(wc -l <<<"$all_list") packages"
