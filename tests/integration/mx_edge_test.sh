#!/usr/bin/env bash
# The internet-facing MX listener of `smimegate run`, as a sending MTA and
# an operator meet it (issues 13 and 14):
#   1. STARTTLS is offered without any configured certificate (a self-signed
#      one made at the first start, key 0600, a warning in the log), and
#      testssl.sh finds only TLS 1.2/1.3 with forward-secret AEAD suites
#      (when the Debian package testssl.sh is installed);
#   2. recipients are verified before 250: a participating user (registry)
#      and a listed one are accepted, an unknown one gets 550 5.1.1;
#   3. a message that has looped (51 Received: fields) gets 554 5.4.6;
#   4. a second gateway on the same MX port exits 1 naming the port.
# Usage: mx_edge_test.sh <build dir>
set -euo pipefail
. "$(dirname "$0")/gateway_test_lib.sh"
SG_STOP=term
SG_LOG_LINES=40
sg_init "$1" sg-mx-edge
mx=$(free_port); relay=$(free_port); metrics=$(free_port); ksport=$(free_port)
write_config() {  # dir mx relay metrics keyservice
  mkdir -p "$1/mail/inbound" "$1/mail/outbound"
  echo "carol@example.com" > "$1/recipients.txt"
  cat > "$1/smimegate.yaml" <<YAML
hosted_domains: [example.com]
log: {format: text, level: info}
metrics: {address: 127.0.0.1, port: $4}
queue: {type: embedded}
ingress:
  hostname: mx.example.com
  listeners:
    - {name: mx, address: 127.0.0.1, port: $2, role: mx}
    - {name: relay, address: 127.0.0.1, port: $3, role: relay, trusted_networks: [127.0.0.0/8]}
  recipient_verification:
    domains:
      - {domain: example.com, sources: [registry, list], list: recipients.txt}
keyservice: {listen: "127.0.0.1:$5", kek_file: kek, kek_create: true}
egress:
  inbound: {transport: maildir, path: mail/inbound}
  outbound: {transport: maildir, path: mail/outbound}
YAML
}
home="$work/a"
write_config "$home" "$mx" "$relay" "$metrics" "$ksport"
sg_start_gateway "$home/smimegate.yaml"

# 1. STARTTLS without a configured certificate.
grep -q "STARTTLS uses a self-signed certificate for mx.example.com" "$work/gw.log" ||
  fail "no self-signed warning in the log"
[ "$(stat -c %a "$home/ingress/selfsigned.key")" = 600 ] || fail "self-signed key is not 0600"
subject=$(openssl s_client -starttls smtp -connect "127.0.0.1:$mx" -servername mx.example.com \
            </dev/null 2>/dev/null | openssl x509 -noout -subject 2>/dev/null || true)
case "$subject" in *"CN = mx.example.com"*) ;; *) fail "STARTTLS: got certificate '$subject'" ;; esac
if openssl s_client -starttls smtp -connect "127.0.0.1:$mx" -tls1_1 </dev/null >/dev/null 2>&1; then
  fail "TLS 1.1 handshake succeeded"
fi
testssl_bin=$(command -v testssl || command -v testssl.sh || true)
if [ -n "$testssl_bin" ]; then
  nice -n 10 "$testssl_bin" --quiet --warnings off --color 0 --starttls smtp --protocols --std --fs \
    --jsonfile "$work/testssl.json" "127.0.0.1:$mx" > "$work/testssl.log" 2>&1 || true
  /usr/bin/python3 - "$work/testssl.json" <<'PY' || fail "testssl.sh findings (see above)"
import json, sys
found = {e["id"]: e for e in json.load(open(sys.argv[1]))}
want_not_offered = ["SSLv2", "SSLv3", "TLS1", "TLS1_1", "cipherlist_NULL", "cipherlist_aNULL",
                    "cipherlist_EXPORT", "cipherlist_LOW", "cipherlist_3DES_IDEA",
                    "cipherlist_AVERAGE"]
bad = []
for i in want_not_offered:
    if not found.get(i, {}).get("finding", "").startswith("not offered"):
        bad.append("%s: %s" % (i, found.get(i, {}).get("finding", "missing")))
for i in ["TLS1_2", "TLS1_3", "cipherlist_STRONG", "PFS"]:
    if not found.get(i, {}).get("finding", "").startswith("offered"):
        bad.append("%s: %s" % (i, found.get(i, {}).get("finding", "missing")))
bad += ["%s: %s %s" % (i, e["severity"], e["finding"]) for i, e in found.items()
        if e.get("severity") in ("MEDIUM", "HIGH", "CRITICAL")]
for b in bad:
    print("testssl:", b)
sys.exit(1 if bad else 0)
PY
  echo "testssl.sh: protocols, cipher categories and forward secrecy as expected"
else
  echo "testssl.sh not installed: that part skipped (Debian package testssl.sh)"
fi

# 2. Recipient verification: registry (participating alice), list (carol), unknown.
export SMIMEGATE_HOME="$home"
"$ctl" --config "$home/smimegate.yaml" user add alice@example.com >/dev/null || fail "user add"
rcpt() {  # address -> the reply line to RCPT
  swaks --server "127.0.0.1:$mx" --from sender@remote.example --to "$1" --quit-after RCPT \
    2>&1 | awk '/-> RCPT TO/ { getline; print; exit }' || true
}
case "$(rcpt alice@example.com)" in *"250 2.1.5"*) ;; *) fail "alice (registry) not accepted" ;; esac
case "$(rcpt carol@example.com)" in *"250 2.1.5"*) ;; *) fail "carol (list) not accepted" ;; esac
reply=$(rcpt nobody@example.com)
case "$reply" in *"550 5.1.1"*) ;; *) fail "unknown recipient: '$reply'" ;; esac

# 3. A mail loop is refused at the end of the data.
hops=""
for i in $(seq 1 51); do hops="$hops --add-header 'Received: from hop$i by relay$i; Sat, 5 Dec 2026 10:00:00 +0000'"; done
out=$(eval swaks --server "127.0.0.1:$mx" --from sender@remote.example --to carol@example.com $hops 2>&1 || true)
case "$out" in *"554 5.4.6"*) ;; *) fail "51 Received: fields not refused: $(echo "$out" | tail -n 3)" ;; esac

# 4. A second gateway on the same MX port (every other port its own).
other="$work/b"
write_config "$other" "$mx" "$(free_port)" "$(free_port)" "$(free_port)"
set +e
timeout 60 "$gw" run --config "$other/smimegate.yaml" > "$work/second.log" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || fail "second gateway: exit $rc, expected 1: $(tail -n 3 "$work/second.log")"
grep -q "127.0.0.1:$mx is already in use" "$work/second.log" ||
  fail "second gateway does not name the port: $(tail -n 3 "$work/second.log")"
# ...and the first one still serves.
case "$(rcpt carol@example.com)" in *"250 2.1.5"*) ;; *) fail "first gateway stopped serving" ;; esac

kill -TERM "$pid"
wait "$pid" || fail "smimegate exit code $?"
pid=""
echo "PASS"
