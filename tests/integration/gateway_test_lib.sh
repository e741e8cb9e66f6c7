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
