#!/usr/bin/env bash
# scripts/clang-tidy-changed.sh in a scratch repository with the project's
# .clang-tidy: a finding on a changed line fails, a finding on an untouched
# line does not, and a clone with no history beyond HEAD is skipped (exit 0),
# not linted whole and not an error.
set -euo pipefail
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
script="$src/scripts/clang-tidy-changed.sh"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

repo="$tmp/repo"
mkdir -p "$repo/build"
cp "$src/.clang-tidy" "$repo/"
cd "$repo"
git init -q -b main
git config user.email t@example.org
git config user.name test
cat > a.cc <<'CC'
int* Old() {
  int* old = 0;  // an old finding (modernize-use-nullptr) on a line nobody touches
  return old;
}
int Clean() { return 1; }
CC
printf '[{"directory": "%s", "file": "%s/a.cc", "command": "g++ -std=c++20 -c a.cc"}]\n' \
  "$repo" "$repo" > build/compile_commands.json
git add a.cc .clang-tidy && git commit -q -m base
git checkout -q -b feature

# A clean change next to the old finding: passes.
sed -i 's/return 1;/return 2;/' a.cc
git commit -q -am clean-change
out="$("$script" 2>&1)" || fail "clean change failed: $out"
echo "$out" | grep -q "clean" || fail "expected 'clean': $out"

# A new finding on a changed line: fails and names the check.
sed -i 's/int Clean() { return 2; }/int Clean() { int* p = 0; return p == 0 ? 2 : 3; }/' a.cc
if out="$("$script" 2>&1)"; then fail "finding on a changed line passed: $out"; fi
echo "$out" | grep -q "modernize-use-nullptr" || fail "expected the check name: $out"
echo "$out" | grep -q "a.cc:2:" && fail "reported the untouched line 2: $out"
git checkout -q a.cc

# No history beyond HEAD: skipped with a reason.
git clone -q --depth 1 --branch feature "file://$repo" "$tmp/shallow"
cd "$tmp/shallow"
mkdir -p build && cp "$repo/build/compile_commands.json" build/
out="$("$script" 2>&1)" || fail "shallow clone failed: $out"
echo "$out" | grep -q "no history beyond HEAD" || fail "expected the shallow-clone reason: $out"
echo "clang-tidy-changed: ok"
