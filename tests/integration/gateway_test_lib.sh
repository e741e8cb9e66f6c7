# Shared set-up of the shell end-to-end tests that run `smimegate run`.
# Source it after `set -euo pipefail`:
#   . "$(dirname "$0")/gateway_test_lib.sh"
#   sg_init "$1" sg-mytest        # sets build, gw, ctl, work (temp dir), pid=""
#
# sg_init BUILD_DIR NAME   paths of the binaries in BUILD_DIR, a temp work dir
#                          /tmp/NAME-XXXXXX, and an EXIT trap that stops the
#                          gateway in $pid (SIGKILL; SIGTERM and a wait with
#                          SG_STOP=term), runs sg_cleanup_extra if the test
#                          defines one, and removes the work dir.
# fail MSG...              prints MSG and the last SG_LOG_LINES (60) lines of
#                          $work/gw.log, exits 1.
# free_port                a free TCP port on 127.0.0.1.
# sg_maildir_config ...    the configuration of the MX+relay maildir tests
#                          (below).
# sg_start_gateway CONFIG  `smimegate run --config CONFIG` in the background,
#                          its output in $work/gw.log, its PID in $pid; returns
#                          once it logs "smimegate ready" (fails after 30 s or
#                          if it exits).

sg_init() {
  build="$(cd "${1:?build dir}" && pwd)"
  gw="$build/cmd/smimegate/smimegate"
  ctl="$build/cmd/smimegatectl/smimegatectl"
  work="$(mktemp -d "/tmp/${2:?work dir name}-XXXXXX")"
  pid=""
  trap sg_cleanup EXIT
}

sg_cleanup() {
  if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
    if [ "${SG_STOP:-kill}" = term ]; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    else
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  if declare -F sg_cleanup_extra >/dev/null; then sg_cleanup_extra; fi
  rm -rf "$work"
}

fail() {
  echo "FAIL: $*"
  echo "--- gateway log"
  tail -n "${SG_LOG_LINES:-60}" "$work/gw.log" || true
  exit 1
}

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

sg_start_gateway() {
  "$gw" run --config "${1:?config}" > "$work/gw.log" 2>&1 &
  pid=$!
  local _
  for _ in $(seq 1 300); do
    grep -q "smimegate ready" "$work/gw.log" && return 0
    kill -0 "$pid" 2>/dev/null || fail "smimegate exited"
    sleep 0.1
  done
  fail "not ready"
}

# sg_maildir_config HOME MX_PORT RELAY_PORT [METRICS_PORT]
#                          writes HOME/smimegate.yaml: hosted domain
#                          example.com, an MX and a relay listener on
#                          127.0.0.1 (the relay trusts 127.0.0.0/8), the
#                          embedded queue, 2 workers, both directions
#                          delivered to maildirs under HOME/mail (created),
#                          and a metrics listener when METRICS_PORT is given.
sg_maildir_config() {
  local home="${1:?home}" metrics_line=""
  mkdir -p "$home/mail/inbound" "$home/mail/outbound"
  if [ -n "${4:-}" ]; then metrics_line="metrics: {address: 127.0.0.1, port: $4}"; fi
  cat > "$home/smimegate.yaml" <<YAML
hosted_domains: [example.com]
log: {format: text, level: info}
$metrics_line
queue: {type: embedded}
ingress:
  listeners:
    - {name: mx, address: 127.0.0.1, port: ${2:?mx port}, role: mx}
    - {name: relay, address: 127.0.0.1, port: ${3:?relay port}, role: relay, trusted_networks: [127.0.0.0/8]}
keyservice: {kek_file: kek, kek_create: true}   # the default Unix socket, mutual TLS
workers:
  threads: 2
  policy:
    dsn: {reporting_mta: gw.example.com}
egress:
  inbound: {transport: maildir, path: mail/inbound}
  outbound: {transport: maildir, path: mail/outbound}
YAML
}
