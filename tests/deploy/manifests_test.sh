#!/usr/bin/env bash
# Renders every deploy/k8s overlay with kubectl kustomize and validates it
# (manifests_test.mjs says what). Installs its npm packages into the build
# tree (<npm dir>, kept between runs). Exit 77 (skipped) when kubectl or
# npm is missing or npm cannot fetch the packages.
# Usage: manifests_test.sh <smimegate binary> <npm dir>
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
smimegate="$1"
npm_dir="$2"
for tool in kubectl node npm openssl; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not found (scripts/setup-deps.sh installs it)"; exit 77
  fi
done
packages=(kubernetes-models@5.1.0 @kubernetes-models/keda@0.4.2
          @kubernetes-models/prometheus-operator@6.0.0 js-yaml@5.5.0)
stamp="$npm_dir/.installed-$(echo "${packages[*]}" | md5sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  mkdir -p "$npm_dir"
  if ! (cd "$npm_dir" && npm install --no-audit --no-fund --silent "${packages[@]}" >npm.log 2>&1); then
    echo "SKIP: npm could not install ${packages[*]}:"; tail -20 "$npm_dir/npm.log"; exit 77
  fi
  touch "$stamp"
fi
work="$(mktemp -d /tmp/smimegate-manifests-XXXXXX)"
trap 'rm -rf "$work"' EXIT
# The test's modules resolve from the npm dir.
cp "$repo/tests/deploy/manifests_test.mjs" "$npm_dir/manifests_test.mjs"
node "$npm_dir/manifests_test.mjs" "$repo" "$smimegate" "$work"
