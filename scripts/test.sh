#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest,
# then the sanitizer run (scripts/asan-tests.sh: a few unit tests built with
# ASan+UBSan in build-asan; a few minutes on 2 cores with a cold ccache).
# Usage: scripts/test.sh [extra ctest arguments, e.g. -R queue]
# With extra arguments only ctest runs (a subset); SMIMEGATE_ASAN=0 skips the
# sanitizer run, SMIMEGATE_ASAN=1 forces it.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${SMIMEGATE_BUILD_DIR:-$repo/build}"

"$repo/scripts/setup-deps.sh"
"$repo/scripts/build.sh"
cd "$build_dir"
# Tests bind loopback ports chosen free at run time, so they may run in parallel.
ctest --output-on-failure --timeout 600 -j "${SMIMEGATE_TEST_JOBS:-2}" "$@"
asan="${SMIMEGATE_ASAN:-}"
if [ -z "$asan" ]; then asan=$([ $# -eq 0 ] && echo 1 || echo 0); fi
if [ "$asan" = 1 ]; then
  "$repo/scripts/asan-tests.sh"
fi
