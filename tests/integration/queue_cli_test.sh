#!/usr/bin/env bash
# Issue 24: `smimegatectl queue` against a running `smimegate run` with
# deferred mail for two domains (an SMTP peer that answers every RCPT with
# 451): list, summary (table and --json), show, hold (still held after a
# restart, never attempted), retry --domain, release, delete (kept as a dead
# letter, and recorded in the audit log with the caller and the message id).
# Mode distributed: the Kafka mode with one process per stage and two egress
# pods, each serving its own queue on egress.admin.listen; every command goes
# to both with `queue --egress A --egress B` and the answers are merged; the
# restart is the egress pods'; the audit records are in the egress logs.
# Usage: queue_cli_test.sh <build dir> [embedded|kafka|distributed]
set -euo pipefail
build="$(cd "${1:?build dir}" && pwd)"
mode="${2:-embedded}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
gw="$build/cmd/smimegate/smimegate"
ctl="$build/cmd/smimegatectl/smimegatectl"
work="$(mktemp -d /tmp/sg-queue-cli-XXXXXX)"
pid="" peer_pid="" broker_pid="" stage_pids=() egress_pids=()
cleanup() {
  for p in "$pid" "$peer_pid" "$broker_pid" "${stage_pids[@]}" "${egress_pids[@]}"; do
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL ($mode): $*"
  # The egress logs fill with the queue commands' audit records: leave them out.
  for l in "$work"/*.log; do echo "--- $l"; grep -v "audit: " "$l" | tail -n 60 || true; done
  exit 1
}

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
relay=$(free_port); metrics=$(free_port); ksport=$(free_port)
home="$work/home"
mkdir -p "$home/mail/inbound" "$work/peer"

/usr/bin/python3 "$repo/tests/egress/peers/smtp_peer.py" --port-file "$work/peer.port" \
  --log "$work/peer.log" --dir "$work/peer" --tempfail-rcpt 100000 > "$work/peer.out" 2>&1 &
peer_pid=$!
for _ in $(seq 1 100); do [ -s "$work/peer.port" ] && break; sleep 0.1; done
peer_port="$(cat "$work/peer.port")"
[ -n "$peer_port" ] || fail "the SMTP peer did not start"

queue_yaml="{type: embedded}"
if [ "$mode" = kafka ] || [ "$mode" = distributed ]; then
  topics=()
  for t in inbound outbound deliver retry; do topics+=(--topic "smimegate.$t:2"); done
  topics+=(--topic "smimegate.deadletter:1")
  "$build/tests/support/smimegate-test-broker" "${topics[@]}" > "$work/broker.out" 2> "$work/broker.log" &
  broker_pid=$!
  for _ in $(seq 1 100); do grep -q bootstrap= "$work/broker.out" && break; sleep 0.1; done
  bootstrap="$(grep bootstrap= "$work/broker.out" | cut -d= -f2)"
  [ -n "$bootstrap" ] || fail "the test broker did not start"
  queue_yaml="{type: kafka, partitions: 2, kafka: {brokers: \"$bootstrap\", create_topics: false}}"
fi

cat > "$home/smimegate.yaml" <<YAML
hosted_domains: [example.com]
log: {format: text, level: info}
metrics: {address: 127.0.0.1, port: $metrics}
queue: $queue_yaml
ingress:
  listeners:
    - {name: relay, address: 127.0.0.1, port: $relay, role: relay, trusted_networks: [127.0.0.0/8]}
keyservice: {listen: "127.0.0.1:$ksport", kek_file: kek, kek_create: true}
workers: {threads: 1}
egress:
  poll_interval: 5ms
  retry: {initial: 1h, multiplier: 2, max_interval: 4h, max_age: 5d}
  inbound: {transport: maildir, path: mail/inbound}
  outbound: {transport: smtp, allowed_networks: [127.0.0.1/32], hosts: ["127.0.0.1:$peer_port"]}
YAML
egress_flags=()
q() { "$ctl" --config "$home/smimegate.yaml" --timeout 20 queue "${egress_flags[@]}" "$@"; }
# The distributed mode: `smimegate <stage>` each with its own data_dir and
# metrics port (environment overrides of the one config file); the
# keyservice keeps the config's data_dir (smimegatectl finds its admin
# credentials there).
start_stage() {  # start_stage <name> <stage> [VAR=value...]
  local name="$1" stage="$2"; shift 2
  mkdir -p "$work/$name/mail/inbound"
  env SMIMEGATE__METRICS__PORT="$(free_port)" "$@" \
    "$gw" "$stage" --config "$home/smimegate.yaml" >> "$work/$name.log" 2>&1 &
  last_pid=$!
}
wait_ready() {  # wait_ready <name> <pid> <count>
  for _ in $(seq 1 600); do
    [ "$(grep -c "smimegate ready" "$work/$1.log" 2>/dev/null || true)" -ge "$3" ] 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || fail "$1 exited"
    sleep 0.1
  done
  fail "$1 not ready"
}
egress_admin=()
start_egress() {  # start_egress <ready count>
  egress_pids=()
  for i in 0 1; do
    start_stage "egress-$i" egress SMIMEGATE__DATA_DIR="$work/egress-$i" \
      SMIMEGATE__EGRESS__ADMIN__LISTEN="127.0.0.1:${egress_admin[$i]}"
    egress_pids+=("$last_pid")
  done
  wait_ready egress-0 "${egress_pids[0]}" "$1"
  wait_ready egress-1 "${egress_pids[1]}" "$1"
}
start_distributed() {
  start_stage keyservice keyservice
  stage_pids+=("$last_pid")
  wait_ready keyservice "$last_pid" 1
  c() { "$ctl" --config "$home/smimegate.yaml" --timeout 20 "$@" > /dev/null || fail "ctl $*"; }
  c credentials issue --role worker --out "$work/worker/credentials/worker"
  for i in 0 1; do
    egress_admin+=("$(free_port)")
    c credentials issue --role egress --name "egress-$i" --out "$work/egress-$i/credentials/egress"
    egress_flags+=(--egress "127.0.0.1:${egress_admin[$i]}")
  done
  start_stage worker worker SMIMEGATE__DATA_DIR="$work/worker"
  stage_pids+=("$last_pid")
  wait_ready worker "$last_pid" 1
  start_egress 1
  # Both pods are ready, but the second one's join rebalances the deliver
  # group: a record being delivered by one pod when its partition moves to
  # the other is delivered by both (at least once, docs/operations.md).
  # Mail is sent once the group has settled. (Waiting retries are held by one
  # pod at a time, whatever the rebalances: egress drops what it held of a
  # partition that moved away.)
  sleep 12
  start_stage ingress ingress SMIMEGATE__DATA_DIR="$work/ingress"
  stage_pids+=("$last_pid")
  wait_ready ingress "$last_pid" 1
}
restart_gw() {  # the process that holds the queue: `smimegate run`, or the egress pods
  if [ "$mode" = distributed ]; then
    for p in "${egress_pids[@]}"; do kill -TERM "$p"; wait "$p" || true; done
    start_egress 2
  else
    kill -TERM "$pid"; wait "$pid" || true; pid=""
    start_gw 2
  fi
}
audit_has() {  # audit_has <method> <argument>
  if [ "$mode" = distributed ]; then
    grep -hq "audit: .*QueueAdmin/$1.*$2" "$work"/egress-*.log
  else
    "$ctl" --config "$home/smimegate.yaml" audit list > "$work/audit.out" || fail "audit list"
    grep -q "QueueAdmin/$1.*$2" "$work/audit.out"
  fi
}
start_gw() {
  "$gw" run --config "$home/smimegate.yaml" >> "$work/gw.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    [ "$(grep -c "smimegate ready" "$work/gw.log")" -ge "$1" ] && return 0
    kill -0 "$pid" 2>/dev/null || fail "smimegate exited"
    sleep 0.1
  done
  fail "not ready"
}
attempts() { grep -c "\"from\": \"$1\"" "$work/peer.log" 2>/dev/null || true; }
state_of() { q show "$1" 2>/dev/null | sed -n 's/^state: \([a-z]*\).*/\1/p' | head -1; }
wait_for() {  # wait_for <seconds> <command...>
  local n=$(($1 * 10)); shift
  for _ in $(seq 1 "$n"); do "$@" && return 0; sleep 0.1; done
  return 1
}

if [ "$mode" = distributed ]; then start_distributed; else start_gw 1; fi
swaks --silent 2 --server "127.0.0.1:$relay" --from one@example.com --to a@one.example \
  --header "Subject: to one" > "$work/swaks1.log" 2>&1 || fail "swaks: $(cat "$work/swaks1.log")"
swaks --silent 2 --server "127.0.0.1:$relay" --from two@example.com --to b@two.example,c@two.example \
  --header "Subject: to two" > "$work/swaks2.log" 2>&1 || fail "swaks: $(cat "$work/swaks2.log")"

# --- list and summary: both deferred after their first attempt.
two_deferred() { [ "$(q list 2>/dev/null | grep -c "	deferred	")" = 2 ]; }
wait_for 60 two_deferred || fail "not two deferred messages: $(q list 2>&1)"
id1="$(q list | grep "one@example.com" | cut -f1 | sort -u)"
id2="$(q list | grep "two@example.com" | cut -f1 | sort -u)"
[ -n "$id1" ] && [ -n "$id2" ] || fail "ids: $(q list)"
q summary > "$work/summary.out" 2> "$work/summary.err" || fail "summary"
grep -Eq "^ *TOTAL +3 +3( +0){9}$" "$work/summary.out" || fail "summary total: $(cat "$work/summary.out")"
grep -Eq "^ *two.example +2 " "$work/summary.out" || fail "summary two.example: $(cat "$work/summary.out")"
grep -Eq "^ *one.example +1 " "$work/summary.out" || fail "summary one.example"
grep -q "2 deferred" "$work/summary.err" || fail "summary states: $(cat "$work/summary.err")"
q summary --json | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
rows = {r["domain"]: r["total"] for r in d["domains"]}
assert rows == {"two.example": 2, "one.example": 1}, rows
assert d["messages"] == {"deferred": 2}, d["messages"]
assert len(d["bucket_minutes"]) + 1 == len(d["total"]["buckets"])' || fail "summary --json"

# --- show: envelope, attempts, last error; never the body.
q show "$id2" > "$work/show.out" || fail "show"
grep -q "^state: deferred$" "$work/show.out" || fail "show state: $(cat "$work/show.out")"
grep -q "^to: b@two.example c@two.example$" "$work/show.out" || fail "show rcpts"
grep -q "^attempts: 1$" "$work/show.out" || fail "show attempts"
grep -q "^last error: 451 " "$work/show.out" || fail "show last error"
grep -q "to two" "$work/show.out" && fail "show printed the message"
if q show nosuchid 2> "$work/err.out"; then fail "show of a missing id succeeded"; fi
grep -q "no message nosuchid" "$work/err.out" || fail "missing id: $(cat "$work/err.out")"

# --- hold: durable across a restart, never attempted.
q hold "$id1" | grep -q "held 1 queue record" || fail "hold"
held() { [ "$(state_of "$id1")" = held ]; }
wait_for 20 held || fail "not held: $(q show "$id1")"
restart_gw
# Distributed: two consumer groups rebalance over both restarted pods; a
# member whose LeaveGroup the mock cluster answered late is dropped only
# after queue.kafka.session_timeout (10 s).
wait_for "$([ "$mode" = distributed ] && echo 90 || echo 30)" held || fail "not held after the restart: $(q show "$id1" 2>&1)"
[ "$(attempts one@example.com)" = 1 ] || fail "the held message was attempted"

# --- retry --domain: only two.example is attempted now. After the restart
# the deferred message must be back in its pod's queue first (distributed:
# the pod that owns its partition may settle after the one holding id1).
deferred2() { [ "$(state_of "$id2")" = deferred ]; }
wait_for "$([ "$mode" = distributed ] && echo 90 || echo 30)" deferred2 ||
  fail "not deferred after the restart: $(q show "$id2" 2>&1)"
before2=$(attempts two@example.com)
retried=$(q retry --domain two.example 2>&1)
grep -q "retrying 1 queue record" <<< "$retried" || fail "retry --domain: $retried"
more2() { [ "$(attempts two@example.com)" -gt "$before2" ]; }
wait_for 20 more2 || fail "retry --domain did not attempt two.example"
[ "$(attempts one@example.com)" = 1 ] || fail "retry --domain attempted the held message"

# --- release: attempted at once (deferred again by the peer).
q release "$id1" | grep -q "released 1 queue record" || fail "release"
more1() { [ "$(attempts one@example.com)" = 2 ]; }
wait_for 20 more1 || fail "release did not attempt it"
deferred1() { [ "$(state_of "$id1")" = deferred ]; }
wait_for 20 deferred1 || fail "not deferred after release: $(q show "$id1")"

# --- delete: out of the queue, kept as a dead letter, in the audit log.
deferred2() { [ "$(state_of "$id2")" = deferred ]; }
wait_for 20 deferred2 || fail "message 2 not deferred: $(q show "$id2")"
q delete "$id2" | grep -q "deleted 1 queue record" || fail "delete"
gone2() { ! q show "$id2" >/dev/null 2>&1; }
wait_for 20 gone2 || fail "still queued after delete"
"$ctl" --config "$home/smimegate.yaml" deadletter list > "$work/dl.out" 2>&1 || fail "deadletter list"
grep -q "$id2.*deleted from the queue by" "$work/dl.out" || fail "no dead letter: $(cat "$work/dl.out")"
audit_has QueueDelete "$id2" || fail "no audit record of the delete"
audit_has QueueHold "$id1" || fail "hold not audited"
for p in "$pid" "${egress_pids[@]}" "${stage_pids[@]}"; do
  if [ -n "$p" ]; then kill -TERM "$p"; wait "$p" || true; fi
done
pid="" egress_pids=() stage_pids=()
echo "queue CLI ($mode): OK"
