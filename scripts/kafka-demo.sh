#!/usr/bin/env bash
# Tries the distributed mode on one machine: a Kafka-protocol test broker
# (librdkafka's mock cluster, tests/support/kafka_test_broker.cc) and every
# stage as its own process (keyservice, ingress, two workers, egress), the
# way Kubernetes runs them. Ctrl-C stops everything: the stages first (each
# gets one SIGTERM and up to shutdown.deadline + 2 s, then SIGKILL), the
# broker last, so the stages can still commit through it. The broker and the
# stages run in sessions of their own (setsid): the terminal's Ctrl-C (a
# SIGINT to the whole foreground process group) reaches only this script,
# which then stops them in that order.
#
# The workers reach the keyservice over TCP with mutual TLS: once the
# keyservice is up, `smimegatectl credentials issue --role worker` writes
# their credentials to $SMIMEGATE_KAFKA_HOME/credentials/worker.
#
# Data in $SMIMEGATE_KAFKA_HOME (default <repo>/var-kafka); the same ports
# as scripts/run.sh (SMIMEGATE_MX_PORT, SMIMEGATE_RELAY_PORT), metrics on
# free ports (printed by each stage).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${SMIMEGATE_BUILD_DIR:-$repo/build}"
home="${SMIMEGATE_KAFKA_HOME:-$repo/var-kafka}"
partitions="${SMIMEGATE_PARTITIONS:-4}"

"$repo/scripts/setup-deps.sh"
"$repo/scripts/build.sh"
mkdir -p "$home/logs"
home="$(cd "$home" && pwd)"

deadline_s=5  # shutdown.deadline of the stages (below)
pids=()
# Waits up to $2 seconds for process $1 to end, then kills it.
stop_within() {
  local p="$1" i
  for ((i = 0; i < $2 * 10; i++)); do
    kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  echo "kafka-demo: process $p did not stop within $2 s; killing it" >&2
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
stopping=0
stop() {
  [ "$stopping" = 1 ] && return
  stopping=1
  trap '' INT TERM  # a second Ctrl-C does not interrupt the orderly stop
  # The stages first, all at once (they commit through the broker), the broker last.
  for p in "${pids[@]:1}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]:1}"; do stop_within "$p" $((deadline_s + 2)); done
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[0]}" 2>/dev/null || true
    stop_within "${pids[0]}" 5
  fi
}
trap stop EXIT
trap 'exit 130' INT TERM

topics=()
for t in inbound outbound deliver retry; do topics+=(--topic "smimegate.$t:$partitions"); done
topics+=(--topic "smimegate.deadletter:1")
setsid "$build_dir/tests/support/smimegate-test-broker" "${topics[@]}" > "$home/logs/broker.out" 2>"$home/logs/broker.log" &
pids+=($!)
for _ in $(seq 1 100); do grep -q bootstrap= "$home/logs/broker.out" && break; sleep 0.1; done
bootstrap="$(grep bootstrap= "$home/logs/broker.out" | cut -d= -f2)"

cat > "$home/smimegate.yaml" <<YAML
hosted_domains: [example.com]
metrics: {port: 0}
shutdown: {deadline: ${deadline_s}s}
queue:
  type: kafka
  partitions: $partitions
  kafka:
    brokers: "$bootstrap"
    create_topics: false   # the test broker cannot create topics; it was started with them
keyservice:
  listen: 127.0.0.1:\${SMIMEGATE_KEYSERVICE_PORT:-7443}
  kek_file: kek
  kek_create: true
ingress:
  listeners:
    - name: mx
      address: 127.0.0.1
      port: \${SMIMEGATE_MX_PORT:-2525}
      role: mx
    - name: relay
      address: 127.0.0.1
      port: \${SMIMEGATE_RELAY_PORT:-2587}
      role: relay
      trusted_networks: [127.0.0.0/8]
egress:
  inbound: {transport: maildir, path: mail/inbound}
  outbound: {transport: maildir, path: mail/outbound}
YAML

start_stage() {
  local stage="$1" log="$home/logs/$1-${#pids[@]}.log"
  # Every worker process needs a key cache directory of its own.
  SMIMEGATE__WORKERS__KEY_CACHE__PATH="worker-key-cache-${#pids[@]}" \
    setsid "$build_dir/cmd/smimegate/smimegate" "$stage" --config "$home/smimegate.yaml" > "$log" 2>&1 &
  pids+=($!)
}
start_stage keyservice
# Worker credentials, issued by the running keyservice with the local
# admin's credentials (written by the keyservice under $home/credentials/admin).
ctl="$build_dir/cmd/smimegatectl/smimegatectl"
issued=0
for _ in $(seq 1 150); do
  if "$ctl" --config "$home/smimegate.yaml" --timeout 2 credentials issue --role worker \
       --out "$home/credentials/worker" > "$home/logs/credentials.log" 2>&1; then
    issued=1; break
  fi
  kill -0 "${pids[1]}" 2>/dev/null || break
  sleep 0.2
done
if [ "$issued" != 1 ]; then
  echo "kafka-demo: could not issue worker credentials:" >&2
  cat "$home/logs/credentials.log" "$home"/logs/keyservice-*.log >&2
  exit 1
fi
for stage in worker worker egress ingress; do start_stage "$stage"; done
# Wait until every stage says it is ready, or stop on the first that fails.
for _ in $(seq 1 300); do
  ready=$(cat "$home"/logs/*-*.log 2>/dev/null | grep -c "smimegate ready" || true)
  [ "$ready" -ge 5 ] && break
  for p in "${pids[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
      echo "kafka-demo: a stage stopped; its log:" >&2
      grep -L "smimegate ready" "$home"/logs/*-*.log | xargs tail -n 5 >&2
      exit 1
    fi
  done
  sleep 0.2
done
echo "broker $bootstrap; stages running (logs in $home/logs):"
grep -h "smimegate ready" "$home"/logs/*-*.log
echo "send mail: swaks --server 127.0.0.1:${SMIMEGATE_RELAY_PORT:-2587} --from alice@example.com --to partner@example.org"
echo "results in $home/mail/outbound/new/; Ctrl-C stops everything"
wait
