#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest.
# Usage: scripts/test.sh [extra ctest arguments, e.g. -R queue]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${SMIMEGATE_BUILD_DIR:-$repo/build}"

"$repo/scripts/setup-deps.sh"
"$repo/scripts/build.sh"
cd "$build_dir"
# Tests bind loopback ports chosen free at run time, so they may run in parallel.
ctest --output-on-failure --timeout 600 -j "${SMIMEGATE_TEST_JOBS:-2}" "$@"
