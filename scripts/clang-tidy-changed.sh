#!/usr/bin/env bash
# clang-tidy with the repository's .clang-tidy on the lines changed since the
# merge base (committed and uncommitted changes of .cc files); exits 1 when a
# changed line has a finding, so old findings in untouched code never block.
#
# Usage: scripts/clang-tidy-changed.sh [BASE]
#   BASE defaults to $SG_TIDY_BASE, else the merge base of HEAD with
#   origin/main or main, else HEAD~1 (a build of main itself). A fresh clone
#   with no history beyond HEAD (git clone --depth 1) has no base: the script
#   says so and exits 0 instead of linting the whole tree or failing at random;
#   `git fetch --deepen=50` (or passing a BASE) turns it on.
# Needs the compile database of a configured build ($SMIMEGATE_BUILD_DIR,
# default <repo>/build; scripts/build.sh writes it) and clang-tidy-diff.
# Headers are checked through the .cc files that include them (clang-tidy
# needs a compile command, and headers have none).
set -euo pipefail
repo="$(git rev-parse --show-toplevel)"
cd "$repo"
build_dir="${SMIMEGATE_BUILD_DIR:-$repo/build}"
jobs="${SMIMEGATE_JOBS:-2}"

tidy_diff=""
for c in clang-tidy-diff-14.py clang-tidy-diff /usr/lib/llvm-14/share/clang/clang-tidy-diff.py; do
  if command -v "$c" >/dev/null 2>&1; then tidy_diff="$(command -v "$c")"; break; fi
done
if [ -z "$tidy_diff" ]; then
  echo "clang-tidy-changed: clang-tidy-diff not found (scripts/setup-deps.sh installs clang-tidy)" >&2
  exit 2
fi

base="${1:-${SG_TIDY_BASE:-}}"
head="$(git rev-parse HEAD)"
if [ -z "$base" ]; then
  for ref in origin/main main; do
    git rev-parse -q --verify "$ref^{commit}" >/dev/null 2>&1 || continue
    mb="$(git merge-base HEAD "$ref" 2>/dev/null || true)"
    if [ -n "$mb" ] && [ "$mb" != "$head" ]; then base="$mb"; break; fi
  done
fi
if [ -z "$base" ] && git rev-parse -q --verify "HEAD~1^{commit}" >/dev/null 2>&1; then
  base="HEAD~1"
fi
if [ -z "$base" ]; then
  echo "clang-tidy-changed: no history beyond HEAD (shallow clone), nothing to diff against:" \
       "skipped. Fetch history (git fetch --deepen=50) or pass a base revision."
  exit 0
fi

changed="$(git diff --name-only --diff-filter=AMR "$base" -- '*.cc' | grep -v '^build' || true)"
if [ -z "$changed" ]; then
  echo "clang-tidy-changed: no .cc file changed since $(git rev-parse --short "$base")"
  exit 0
fi
if [ ! -f "$build_dir/compile_commands.json" ]; then
  echo "clang-tidy-changed: $build_dir/compile_commands.json missing: run scripts/build.sh first" >&2
  exit 2
fi
echo "clang-tidy-changed: $(echo "$changed" | wc -l) file(s) changed since $(git rev-parse --short "$base")"

out="$(mktemp)"
db_dir="$(mktemp -d)"
trap 'rm -rf "$out" "$db_dir"' EXIT
# Unity-built targets (cmd/smimegatectl) have compile commands only for their
# unity sources: give each real source the command of its unity source.
/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/compile_db_unity.py" "$build_dir" "$db_dir"
git diff -U0 --no-color "$base" -- '*.cc' |
  "$tidy_diff" -p1 -path "$db_dir" -j "$jobs" -iregex '.*\.cc' -quiet \
    -extra-arg=-Wno-unknown-warning-option >"$out" 2>&1 || true
# clang-tidy exits 0 on warnings: a finding on a changed line is what fails.
# (The compile flags are GCC's: -Wno-unknown-warning-option keeps clang from
# refusing the GCC-only ones, e.g. -Wno-restrict, under -Werror.)
findings="$(grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' "$out" || true)"
if [ -n "$findings" ]; then
  cat "$out"
  echo "clang-tidy-changed: $(echo "$findings" | wc -l) finding(s) on changed lines" >&2
  exit 1
fi
echo "clang-tidy-changed: clean"
