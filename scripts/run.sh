#!/usr/bin/env bash
# Installs what is missing for building and running (not the test tools),
# builds the two binaries (Release; not the tests), creates the demo data dir
# and configuration on first run, and runs the gateway in the foreground with
# every stage embedded. Ctrl-C stops it gracefully. scripts/test.sh installs
# and builds the rest.
#
# Environment: SMIMEGATE_HOME (default <repo>/var), SMIMEGATE_MX_PORT (2525),
# SMIMEGATE_RELAY_PORT (2587), SMIMEGATE_METRICS_PORT (9464), SMIMEGATE_PORTAL_PORT (8443).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${SMIMEGATE_BUILD_DIR:-$repo/build}"
home="${SMIMEGATE_HOME:-$repo/var}"
mkdir -p "$home"
home="$(cd "$home" && pwd)"
export SMIMEGATE_HOME="$home"
mx_port="${SMIMEGATE_MX_PORT:-2525}"
relay_port="${SMIMEGATE_RELAY_PORT:-2587}"
metrics_port="${SMIMEGATE_METRICS_PORT:-9464}"
portal_port="${SMIMEGATE_PORTAL_PORT:-8443}"

"$repo/scripts/setup-deps.sh" --run
SMIMEGATE_BUILD_PROFILE=run "$repo/scripts/build.sh"

config="$home/smimegate.yaml"
first_run=0
if [ ! -f "$config" ]; then
  first_run=1
  "$repo/scripts/demo-config.sh" "$home"
fi

cat <<MSG

smimegate demo, data in $home (config: $config)
  internet listener (MX):  127.0.0.1:$mx_port   inbound mail for example.com
  relay listener:          127.0.0.1:$relay_port   outbound mail from example.com (trusts loopback)
  metrics:                 http://127.0.0.1:$metrics_port/metrics
  web-encryption portal:   https://localhost:$portal_port   ([confidential] mail to partners without a certificate)

Send a test message:
  swaks --server 127.0.0.1:$relay_port --from alice@example.com --to partner@example.org --header "Subject: hello from smimegate"
The result lands in the Maildir $home/mail/outbound/new/
(inbound mail, e.g. swaks --server 127.0.0.1:$mx_port --to bob@example.com, in $home/mail/inbound/new/)

MSG

"$build_dir/cmd/smimegate/smimegate" run --config "$config" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null' INT TERM

if [ "$first_run" = 1 ]; then
  # The demo users, created through the running keyservice's API.
  for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$metrics_port/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.2
  done
  ctl="$build_dir/cmd/smimegatectl/smimegatectl"
  if kill -0 "$pid" 2>/dev/null &&
     "$ctl" user add alice@example.com &&
     "$ctl" user add bob@example.com &&
     "$ctl" user add carol@example.com --no-participate; then
    echo "demo users created: alice@example.com, bob@example.com (participating), carol@example.com"
  else
    echo "run.sh: could not create the demo users; see the log above" >&2
  fi
fi

# Wait for the gateway; a signal makes wait return, so wait again for its exit.
status=0
wait "$pid" || status=$?
if kill -0 "$pid" 2>/dev/null; then
  wait "$pid" || status=$?
fi
exit "$status"
