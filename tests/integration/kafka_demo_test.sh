#!/usr/bin/env bash
# Issue 23: scripts/kafka-demo.sh started in the background, one message
# through, then SIGINT to its whole process group (what a terminal's Ctrl-C
# does): within 10 s no smimegate process and no broker of the demo is left,
# and the stages stopped before the broker (each logged its stop).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d /tmp/smimegate-kafka-demo-XXXXXX)"
pid=""
leftovers() { pgrep -f -- "$work/home/smimegate.yaml" || true; }
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
  for p in $(leftovers); do kill -KILL "$p" 2>/dev/null || true; done
  if [ -n "${broker_pid:-}" ]; then kill -KILL "$broker_pid" 2>/dev/null || true; fi
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; tail -n 20 "$work/demo.log" "$work"/home/logs/*.log 2>/dev/null || true; exit 1; }

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export SMIMEGATE_KAFKA_HOME="$work/home"
export SMIMEGATE_MX_PORT="$(free_port)"
export SMIMEGATE_RELAY_PORT="$(free_port)"
export SMIMEGATE_KEYSERVICE_PORT="$(free_port)"

# Its own process group, as a shell gives a foreground job, and SIGINT not
# ignored (a background job of a script starts with it ignored, and bash
# cannot trap a signal ignored at entry; a terminal's foreground job has it).
/usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execv(sys.argv[1], sys.argv[1:])' "$repo/scripts/kafka-demo.sh" > "$work/demo.log" 2>&1 &
pid=$!
ready=0
for _ in $(seq 1 600); do
  if grep -q "stages running" "$work/demo.log" 2>/dev/null; then ready=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
[ "$ready" = 1 ] || fail "kafka-demo.sh did not become ready"
broker_pid="$(pgrep -f -- "smimegate-test-broker" | while read -r p; do
  if [ "$(readlink "/proc/$p/fd/1" 2>/dev/null)" = "$work/home/logs/broker.out" ]; then echo "$p"; fi
done)"
[ -n "$broker_pid" ] || fail "no broker process of this demo found"
[ "$(leftovers | wc -l)" -ge 5 ] || fail "fewer than 5 stages running: $(leftovers | tr '\n' ' ')"

swaks --server "127.0.0.1:$SMIMEGATE_RELAY_PORT" --from alice@example.com --to partner@example.org \
  --header "Subject: kafka demo stop test" > "$work/swaks.log" 2>&1 || fail "swaks: $(cat "$work/swaks.log")"
for _ in $(seq 1 300); do  # the consumer groups settle first (two workers join)
  grep -rqs "kafka demo stop test" "$work/home/mail/outbound/new" && break
  sleep 0.2
done
grep -rqs "kafka demo stop test" "$work/home/mail/outbound/new" || fail "the message was not delivered"

# Ctrl-C: SIGINT to the whole process group.
kill -INT -- "-$pid"
for _ in $(seq 1 100); do
  if [ -z "$(leftovers)" ] && ! kill -0 "$broker_pid" 2>/dev/null && ! kill -0 "$pid" 2>/dev/null; then
    break
  fi
  sleep 0.1
done
[ -z "$(leftovers)" ] || fail "smimegate processes left 10 s after SIGINT: $(leftovers | tr '\n' ' ')"
! kill -0 "$broker_pid" 2>/dev/null || fail "the broker is still running 10 s after SIGINT"
! kill -0 "$pid" 2>/dev/null || fail "kafka-demo.sh is still running 10 s after SIGINT"
pid=""
# Every stage ran its shutdown: clean, or cut off at shutdown.deadline (5 s in
# the demo). A worker whose consumer group is rebalancing when it is told to
# stop (both workers leave at once) may not leave the group within
# close_timeout and then ends at the deadline: bounded, known (docs/operations.md
# "Stopping"), and what the issue asks for is "nothing left after 10 s".
stopped=$( (grep -lE "smimegate: stopped \((clean|deadline)" "$work"/home/logs/*-*.log || true) | wc -l)
[ "$stopped" -eq 5 ] || fail "$stopped of 5 stages logged their stop (the broker went first?)"
clean=$( (grep -l "smimegate: stopped (clean" "$work"/home/logs/*-*.log || true) | wc -l)
echo "kafka demo: one message through, SIGINT to the process group, all 5 stages stopped ($clean clean) before the broker, nothing left"
