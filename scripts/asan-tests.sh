#!/usr/bin/env bash
# Builds a few unit test binaries with AddressSanitizer and UBSan in their
# own build directory (default <repo>/build-asan; the normal build is
# untouched) and runs them. scripts/test.sh runs this after the suite, so CI
# runs the tests written to catch memory errors only a sanitizer sees: the
# late produce callbacks of issue 13 point 8 (a stack-use-after-return in the
# workers' AckWaiter, a heap-use-after-free in egress) pass quietly in a
# Release build even on the broken code.
#
#   scripts/asan-tests.sh            build and run every binary below
#   scripts/asan-tests.sh BINARY...  only these (names from the list below)
#
# Only the targets listed are built (not the whole tree), with gcc, -O1 and
# the same ccache as the normal build. Environment: SMIMEGATE_ASAN_BUILD_DIR,
# SMIMEGATE_JOBS (default: the number of cores).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${SMIMEGATE_ASAN_BUILD_DIR:-$repo/build-asan}"
jobs="${SMIMEGATE_JOBS:-$(nproc)}"

# target  path of the binary in the build tree
TESTS=(
  "worker_pool_test tests/workers/worker_pool_test"
  "egress_unit_tests tests/egress/egress_unit_tests"
  "ingress_protocol_test tests/ingress/ingress_protocol_test"
)

wanted=("$@")
selected=()
for t in "${TESTS[@]}"; do
  name="${t%% *}"
  if [ ${#wanted[@]} -eq 0 ] || printf '%s\n' "${wanted[@]}" | grep -qx "$name"; then
    selected+=("$t")
  fi
done
if [ ${#selected[@]} -eq 0 ]; then
  echo "asan-tests.sh: none of '$*' is in the list: ${TESTS[*]%% *}" >&2
  exit 2
fi

if [ ! -f "$build_dir/build.ninja" ]; then
  launcher=()
  if command -v ccache >/dev/null 2>&1; then
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  cmake -S "$repo" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
    -DSMIMEGATE_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
fi

targets=()
for t in "${selected[@]}"; do targets+=("${t%% *}"); done
cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}"

# Fake stacks catch a late callback into a returned frame; leaks are on.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_stack_use_after_return=1:detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
for t in "${selected[@]}"; do
  name="${t%% *}"
  binary="$build_dir/${t#* }"
  echo "asan-tests.sh: $name"
  log="$build_dir/$name.log"
  if ! (cd "$build_dir" && "$binary" --gtest_brief=1 >"$log" 2>&1); then
    echo "asan-tests.sh: $name FAILED under ASan/UBSan; the end of $log:" >&2
    tail -60 "$log" >&2
    failed=1
  fi
done
exit $failed
