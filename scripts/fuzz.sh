#!/usr/bin/env bash
# Runs one libFuzzer target, built with clang, ASan and UBSan, in its own
# build directory (default <repo>/build-fuzz; the normal build is untouched).
#
#   scripts/fuzz.sh --list                    the targets
#   scripts/fuzz.sh TARGET SECONDS [ARGS...]  fuzz for SECONDS (ARGS go to libFuzzer,
#                                             e.g. -runs=10000000 to stop earlier)
#   scripts/fuzz.sh TARGET run FILE...        run the target once on each FILE
#                                             (replay a crash; a sanitizer report
#                                             or abort fails with its exit code)
#
# The fuzzer starts from the committed seed corpus (read-only) and keeps what
# it learns in build-fuzz/corpus/TARGET; crashes, leaks and timeouts go to
# build-fuzz/artifacts/TARGET/, the log to build-fuzz/logs/. The last line is
# a summary (executions, coverage, features, corpus, artifacts) for
# docs/security.md. Everything runs under `nice -n 19` (the machine is shared);
# SMIMEGATE_FUZZ_NICE=0 runs a campaign at full priority.
#
# Targets are declared in CMake with sg_fuzz_target() (tests/support/fuzz.cmake).
# Environment: SMIMEGATE_FUZZ_BUILD_DIR, SMIMEGATE_JOBS (default 2),
# SMIMEGATE_FUZZ_NICE (default 19).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${SMIMEGATE_FUZZ_BUILD_DIR:-$repo/build-fuzz}"
jobs="${SMIMEGATE_JOBS:-2}"
niceness="${SMIMEGATE_FUZZ_NICE:-19}"

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

configure() {
  if ! command -v clang++ >/dev/null 2>&1; then
    echo "fuzz.sh: clang++ not found (scripts/setup-deps.sh installs clang and libclang-rt-14-dev)" >&2
    exit 2
  fi
  [ -f "$build_dir/build.ninja" ] && return 0
  local launcher=()
  if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  # Every target gets coverage instrumentation and both sanitizers; only the
  # <name>_fuzzer binaries link libFuzzer's main. -O1 without NDEBUG: asserts stay on.
  local san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
  san+=" -fsanitize=fuzzer-no-link -fno-omit-frame-pointer"
  CC=clang CXX=clang++ nice -n 19 cmake -S "$repo" -B "$build_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DSMIMEGATE_FUZZ=ON -DSMIMEGATE_BUILD_BENCH=OFF \
    -DSMIMEGATE_WERROR=OFF "${launcher[@]}" >/dev/null
}

list_targets() {
  local f
  for f in "$build_dir"/fuzz/*.env; do basename "$f" .env; done
}

[ $# -ge 1 ] || usage
case "$1" in -h|--help) usage ;; esac
configure
if [ "$1" = "--list" ]; then
  list_targets
  exit 0
fi
[ $# -ge 2 ] || usage
target="$1"
mode="$2"
shift 2
env_file="$build_dir/fuzz/$target.env"
if [ ! -f "$env_file" ]; then
  echo "fuzz.sh: unknown target '$target'; targets: $(list_targets | tr '\n' ' ')" >&2
  exit 2
fi
binary="$(sed -n 's/^binary=//p' "$env_file")"
seeds="$(sed -n 's/^corpus=//p' "$env_file")"
dict="$(sed -n 's/^dict=//p' "$env_file")"

nice -n 19 cmake --build "$build_dir" -j "$jobs" --target "${target}_fuzzer" >&2

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

if [ "$mode" = "run" ]; then
  [ $# -ge 1 ] || usage
  exec nice -n "$niceness" "$binary" -runs=1 "$@"
fi
case "$mode" in
  ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a number, got '$mode'" >&2; exit 2 ;;
esac

corpus="$build_dir/corpus/$target"
artifacts="$build_dir/artifacts/$target"
mkdir -p "$corpus" "$artifacts" "$build_dir/logs"
log="$build_dir/logs/$target-$(date +%Y%m%d-%H%M%S).log"
dict_arg=()
[ -n "$dict" ] && dict_arg=(-dict="$dict")

echo "fuzz.sh: $target for ${mode}s at $(git -C "$repo" rev-parse --short HEAD); log $log" >&2
set +e
nice -n "$niceness" "$binary" -max_total_time="$mode" -timeout=30 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict_arg[@]}" "$@" \
  "$corpus" "$seeds" >"$log" 2>&1
rc=$?
set -e

# libFuzzer's last status line carries cov (edges) and ft (features).
last="$(grep -E '^#[0-9]+' "$log" | tail -1)"
execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
units="$(find "$corpus" -type f | wc -l)"
found="$(find "$artifacts" -type f | wc -l)"
echo "fuzz.sh: $target: ${execs:-?} executions, cov ${cov:-?}, ft ${ft:-?}, corpus $units," \
  "artifacts $found, exit $rc"
if [ $rc -ne 0 ]; then
  echo "fuzz.sh: the fuzzer failed; the report ends the log:" >&2
  tail -40 "$log" >&2
fi
exit $rc
