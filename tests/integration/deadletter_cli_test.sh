#!/usr/bin/env bash
# Issue 13 point 9 end to end through `smimegate run` (embedded queue):
#   1. a message the workers give up on (a participating sender's broken
#      multipart cannot be signed) is dead-lettered, and its sender gets one
#      DSN that names no internal reason;
#   2. `smimegatectl deadletter list|show` see it through the running
#      gateway's QueueAdmin service; `show --message` prints the message;
#   3. `replay` puts it back; it fails again, is dead-lettered again, and the
#      sender still has one DSN (the DSN is suppressed as a duplicate);
#   4. `purge` removes dead letters; with the gateway stopped, the CLI reads
#      the queue database itself.
# Usage: deadletter_cli_test.sh <build dir>
set -euo pipefail
. "$(dirname "$0")/gateway_test_lib.sh"
SG_LOG_LINES=40
sg_init "$1" sg-deadletter
mx=$(free_port); relay=$(free_port); metrics=$(free_port); ksport=$(free_port)
home="$work/home"
mkdir -p "$home/mail/inbound" "$home/mail/outbound"
cat > "$home/smimegate.yaml" <<YAML
hosted_domains: [example.com]
log: {format: text, level: info}
metrics: {address: 127.0.0.1, port: $metrics}
queue: {type: embedded, deadletter: {max_age: 7d, max_bytes: 100MB}}
ingress:
  listeners:
    - {name: mx, address: 127.0.0.1, port: $mx, role: mx}
    - {name: relay, address: 127.0.0.1, port: $relay, role: relay, trusted_networks: [127.0.0.0/8]}
keyservice: {listen: "127.0.0.1:$ksport", kek_file: kek, kek_create: true}
workers:
  threads: 1
  policy:
    dsn: {reporting_mta: gw.example.com}
egress:
  poll_interval: 5ms
  inbound: {transport: maildir, path: mail/inbound}
  outbound: {transport: maildir, path: mail/outbound}
YAML
dl() { "$ctl" --config "$home/smimegate.yaml" --timeout 10 deadletter "$@"; }

sg_start_gateway "$home/smimegate.yaml"
"$ctl" --config "$home/smimegate.yaml" user add alice@example.com >/dev/null || fail "user add"

# --- 1. a message the workers cannot sign: dead letter and one DSN.
printf 'From: alice@example.com\r\nTo: bob@example.org\r\nSubject: broken parts\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nBROKEN-BODY\r\n' > "$work/broken.eml"
swaks --silent 2 --server "127.0.0.1:$relay" --from alice@example.com --to bob@example.org \
  --data "$work/broken.eml" > "$work/swaks.log" 2>&1 || fail "swaks: $(cat "$work/swaks.log")"
dsn=""
for _ in $(seq 1 200); do
  dsn=$(grep -lrs "broken parts" "$home/mail/inbound/new" 2>/dev/null | head -1 || true)
  [ -n "$dsn" ] && break
  sleep 0.1
done
[ -n "$dsn" ] || fail "no DSN to alice"
grep -q "Status: 5.3.0" "$dsn" || fail "DSN status: $(grep Status "$dsn")"
grep -q "kept for the administrator" "$dsn" || fail "DSN wording"
grep -q "missing or invalid" "$dsn" && fail "the DSN tells the internal reason"
[ -z "$(ls -A "$home/mail/outbound/new" 2>/dev/null)" ] || fail "something went out"

# --- 2. list and show through the running gateway.
dl list > "$work/list.out" 2> "$work/list.err" || fail "list: $(cat "$work/list.err")"
grep -q "1 dead letters held" "$work/list.err" || fail "list count: $(cat "$work/list.err")"
grep -q "^0:0	.*	workers	.*alice@example.com -> bob@example.org	.*boundary" "$work/list.out" ||
  fail "list line: $(cat "$work/list.out")"
# One command, one call, one audit record (issue 14): no probe call first.
audited() { "$ctl" --config "$home/smimegate.yaml" audit list | grep -c "QueueAdmin/" || true; }
before=$(audited)
dl list > /dev/null 2>&1 || fail "list (audit)"
[ "$(audited)" = "$((before + 1))" ] || fail "deadletter list left $(( $(audited) - before )) audit records, not 1"
dl show 0:0 > "$work/show.out" || fail "show"
grep -q "^source topic: outbound$" "$work/show.out" || fail "show: $(cat "$work/show.out")"
grep -q "^reason: .*boundary" "$work/show.out" || fail "show reason"
dl show 0 --message | grep -q "BROKEN-BODY" || fail "show --message"
if dl show 0:9 2> "$work/err.out"; then fail "show of a missing id succeeded"; fi
grep -q "no dead letter 0:9" "$work/err.out" || fail "missing id error: $(cat "$work/err.out")"

# --- 3. replay: it fails again and is kept again; still one DSN.
dl replay 0:0 | grep -q "replayed 0:0 onto outbound" || fail "replay"
for _ in $(seq 1 200); do
  dl list 2>&1 >/dev/null | grep -q "2 dead letters held" && break
  sleep 0.1
done
dl list 2>&1 >/dev/null | grep -q "2 dead letters held" || fail "the replayed record was not kept again"
sleep 1
[ "$(grep -lrs "broken parts" "$home/mail/inbound/new" | wc -l)" = 1 ] || fail "a second DSN"

# --- 4. purge, online and offline.
dl purge --before 0:1 | grep -q "purged 1 dead letters" || fail "purge --before"
if dl purge 2>/dev/null; then fail "purge without a choice succeeded"; fi
kill -TERM "$pid"
wait "$pid" || true
pid=""
dl list 2> "$work/list.err" >/dev/null || fail "offline list: $(cat "$work/list.err")"
grep -q "1 dead letters held" "$work/list.err" || fail "offline count: $(cat "$work/list.err")"
dl purge --all | grep -q "purged 1 dead letters" || fail "purge --all"
dl list 2>&1 >/dev/null | grep -q "0 dead letters held" || fail "not empty after purge"
echo "deadletter CLI: OK"
