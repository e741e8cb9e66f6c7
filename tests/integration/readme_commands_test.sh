#!/usr/bin/env bash
# The README's quick start as a user runs it: scripts/run.sh in the
# background with a fresh data dir and free ports, until ready; the swaks
# lines it prints deliver into the demo Maildirs; Ctrl-C (SIGINT) stops it.
# (scripts/test.sh, the other README command, is what runs this test.)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d /tmp/smimegate-readme-XXXXXX)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export SMIMEGATE_HOME="$work/home"
export SMIMEGATE_MX_PORT="$(free_port)"
export SMIMEGATE_RELAY_PORT="$(free_port)"
export SMIMEGATE_METRICS_PORT="$(free_port)"
export SMIMEGATE_KEYSERVICE_PORT="$(free_port)"
export SMIMEGATE_PORTAL_PORT="$(free_port)"

# Its own process group, so the test can stop it (and everything it started).
setsid "$repo/scripts/run.sh" > "$work/run.log" 2>&1 &
pid=$!

ready=0
for _ in $(seq 1 600); do
  if grep -q "demo users created" "$work/run.log" 2>/dev/null; then ready=1; break; fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.5
done
if [ "$ready" != 1 ]; then
  echo "FAIL: run.sh did not become ready"; cat "$work/run.log"; exit 1
fi
grep -q "swaks --server 127.0.0.1:$SMIMEGATE_RELAY_PORT" "$work/run.log" || {
  echo "FAIL: run.sh did not print the swaks line"; cat "$work/run.log"; exit 1; }
[ -f "$SMIMEGATE_HOME/smimegate.yaml" ] || { echo "FAIL: no demo config"; exit 1; }

# The swaks line run.sh printed, as a user would paste it.
line="$(grep -m1 "swaks --server 127.0.0.1:$SMIMEGATE_RELAY_PORT" "$work/run.log" | sed 's/^ *//')"
eval "$line" > "$work/swaks-out.log" 2>&1 || { echo "FAIL: swaks outbound"; cat "$work/swaks-out.log"; exit 1; }
swaks --server "127.0.0.1:$SMIMEGATE_MX_PORT" --from partner@example.org --to bob@example.com \
  --header "Subject: inbound readme test" > "$work/swaks-in.log" 2>&1 || {
  echo "FAIL: swaks inbound"; cat "$work/swaks-in.log"; exit 1; }

wait_for_mail() {  # dir subject
  for _ in $(seq 1 100); do
    if grep -rqs "$2" "$1/new" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "FAIL: nothing with \"$2\" in $1/new"; ls -R "$1" || true; cat "$work/run.log"; return 1
}
wait_for_mail "$SMIMEGATE_HOME/mail/outbound" "hello from smimegate"
wait_for_mail "$SMIMEGATE_HOME/mail/inbound" "inbound readme test"

# An open relay it is not: the MX listener refuses a foreign recipient.
if swaks --server "127.0.0.1:$SMIMEGATE_MX_PORT" --from a@example.org --to someone@example.net \
     > "$work/swaks-relay.log" 2>&1; then
  echo "FAIL: the MX listener relayed to a foreign domain"; exit 1
fi
grep -q "550 5.7.1" "$work/swaks-relay.log" || { echo "FAIL: no 550 5.7.1"; cat "$work/swaks-relay.log"; exit 1; }

# Ctrl-C: a clean, graceful stop.
kill -INT -- "-$pid"
status=0
wait "$pid" || status=$?
pid=""
grep -q "smimegate: stopped" "$work/run.log" || { echo "FAIL: no graceful stop"; cat "$work/run.log"; exit 1; }
echo "readme commands: run.sh started, delivered outbound and inbound mail, refused relaying, stopped (exit $status)"
