#!/usr/bin/env bash
# Issue 6 end to end through `smimegate run` (embedded queue, real SMTP
# clients, Maildir sinks), with openssl cms and gpgsm as the partner's client:
#   1. a partner's signed inbound message is marked [signed OK] and its
#      certificate harvested; alice's reply is then signed and encrypted, and
#      decrypts and verifies with `openssl cms` and with `gpgsm`, and its
#      signed payload carries the protected header fields (RFC 9788);
#   2. an inbound message encrypted to a key alice does not have gives a DSN
#      (5.7.5) to its sender and nothing at alice;
#   3. [confidential] to a recipient without a certificate: DSN, nothing out.
# Usage: policy_e2e_test.sh <build dir>
set -euo pipefail
. "$(dirname "$0")/gateway_test_lib.sh"
sg_init "$1" sg-policy-e2e
sg_cleanup_extra() {
  if [ -n "${GNUPGHOME:-}" ]; then
    gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1 || true
    rm -rf "$GNUPGHOME"
  fi
}
mx=$(free_port); relay=$(free_port); metrics=$(free_port)
home="$work/home"
sg_maildir_config "$home" "$mx" "$relay" "$metrics"

# The partner's PKI (what a correspondent's CA would be).
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -keyout pca.key -out pca.pem -days 30 \
  -subj "/CN=Partner CA" -addext "basicConstraints=critical,CA:true" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -keyout partner.key -out partner.csr \
  -subj "/CN=Partner/emailAddress=partner@example.org" 2>/dev/null
printf 'subjectAltName=email:partner@example.org\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\n' > ext.cnf
openssl x509 -req -in partner.csr -CA pca.pem -CAkey pca.key -CAcreateserial -days 20 \
  -extfile ext.cnf -out partner.pem 2>/dev/null
# A key nobody at the gateway has (for the undecryptable message).
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 5 \
  -subj "/CN=Other/emailAddress=alice@example.com" 2>/dev/null

sg_start_gateway "$home/smimegate.yaml"
export SMIMEGATE_HOME="$home"
"$ctl" --config "$home/smimegate.yaml" user add alice@example.com >/dev/null || fail "user add"
"$ctl" --config "$home/smimegate.yaml" trust add pca.pem >/dev/null || fail "trust add"

send() {  # port from to file
  swaks --silent 2 --server "127.0.0.1:$1" --from "$2" --to "$3" --data "$4" > "$work/swaks.log" 2>&1 ||
    fail "swaks $2 -> $3: $(cat "$work/swaks.log")"
}
wait_file() {  # dir pattern -> path of the first file with pattern
  for _ in $(seq 1 400); do
    f=$(grep -lrs -- "$2" "$1/new" 2>/dev/null | head -1 || true)
    if [ -n "$f" ]; then echo "$f"; return 0; fi
    sleep 0.1
  done
  return 1
}

# --- 1. signed inbound: [signed OK], harvest; the reply is encrypted.
printf 'From: Partner <partner@example.org>\r\nTo: alice@example.com\r\nSubject: Quote 42\r\nDate: %s\r\n' "$(date -R)" > in1.hdr
printf 'Content-Type: text/plain\r\n\r\nPlease find the quote.\r\n' > in1.body
openssl cms -sign -in in1.body -signer partner.pem -inkey partner.key -certfile pca.pem \
  -outform SMIME > in1.smime 2>/dev/null || fail "openssl sign"
# openssl writes its own MIME headers; put ours on top (CRLF throughout).
{ cat in1.hdr; sed 's/$/\r/' in1.smime | sed 's/\r\r$/\r/'; } > in1.eml
send "$mx" partner@example.org alice@example.com in1.eml
got=$(wait_file "$home/mail/inbound" "Quote 42") || fail "signed inbound not delivered"
grep -q "^Subject: \[signed OK\] Quote 42" "$got" || fail "no [signed OK]: $(grep -i ^subject "$got")"
openssl cms -verify -in "$got" -CAfile pca.pem -purpose any -out /dev/null 2>/dev/null ||
  fail "the delivered signed message no longer verifies"
grep -q "harvest signer=<partner@example.org> outcome=stored" "$work/gw.log" || fail "not harvested"

printf 'From: Alice <alice@example.com>\r\nTo: partner@example.org\r\nSubject: Re: Quote 42\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nREPLY-BODY accepted.\r\n' > out1.eml
send "$relay" alice@example.com partner@example.org out1.eml
out=$(wait_file "$home/mail/outbound" "Re: Quote 42") || fail "reply not delivered"
grep -q "REPLY-BODY" "$out" && fail "the reply went out in clear"
grep -qi "application/pkcs7-mime" "$out" || fail "the reply is not encrypted"
openssl cms -decrypt -in "$out" -recip partner.pem -inkey partner.key -out dec.eml 2>/dev/null ||
  fail "openssl cms cannot decrypt the reply"
grep -qi "multipart/signed" dec.eml || fail "decrypted reply is not signed"
openssl cms -verify -in dec.eml -noverify -signer signer.pem -out content.txt 2>/dev/null ||
  fail "signature of the reply does not verify"
grep -q "REPLY-BODY" content.txt || fail "decrypted content differs"
# RFC 9788 header protection: the signed payload carries the real header fields.
grep -q '^Subject: Re: Quote 42' content.txt || fail "no protected Subject in the payload"
grep -q 'hp="cipher"' content.txt || fail "the payload is not marked hp=\"cipher\""
grep -q '^HP-Outer: Subject: Re: Quote 42' content.txt || fail "no HP-Outer record"
openssl x509 -in signer.pem -noout -text | grep -q "alice@example.com" || fail "signer is not alice"

# gpgsm as the recipient: import the partner key, decrypt, verify.
export GNUPGHOME="$(mktemp -d /tmp/sggXXXXXX)"  # short: gpg-agent's socket path must fit
printf 'disable-crl-checks\ndisable-policy-checks\n' > "$GNUPGHOME/gpgsm.conf"
echo "allow-loopback-pinentry" > "$GNUPGHOME/gpg-agent.conf"
openssl pkcs12 -export -inkey partner.key -in partner.pem -certfile pca.pem -name partner \
  -passout pass:pw -out partner.p12 -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 \
  2>/dev/null || fail "pkcs12"
gpg_run() { echo pw | timeout 30 gpgsm --batch --pinentry-mode loopback --passphrase-fd 0 "$@"; }
gpg_run --import partner.p12 > gpg-import.log 2>&1 || fail "gpgsm import: $(cat gpg-import.log)"
/usr/bin/python3 - "$out" > out1.der <<'PY'
import base64, sys
data = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n")
body = data.split(b"\n\n", 1)[1]
sys.stdout.buffer.write(base64.b64decode(body))
PY
gpg_run --decrypt out1.der > gpg-dec.eml 2> gpg-dec.log || fail "gpgsm cannot decrypt: $(cat gpg-dec.log)"
grep -q "REPLY-BODY" gpg-dec.eml || fail "gpgsm decrypted something else"
# ... and what gpgsm decrypts carries the protected header fields (RFC 9788).
grep -q '^Subject: Re: Quote 42' gpg-dec.eml || fail "gpgsm: no protected Subject in the payload"
grep -q 'hp="cipher"' gpg-dec.eml || fail "gpgsm: the payload is not marked hp=\"cipher\""

# --- 2. undecryptable inbound: DSN to the sender, nothing at alice.
printf 'Content-Type: text/plain\r\n\r\nLOST-BODY\r\n' > in2.body
openssl cms -encrypt -in in2.body -aes256 -outform SMIME other.pem > in2.smime 2>/dev/null
{ printf 'From: partner@example.org\r\nTo: alice@example.com\r\nSubject: Lost 7\r\n'; sed 's/$/\r/' in2.smime | sed 's/\r\r$/\r/'; } > in2.eml
send "$mx" partner@example.org alice@example.com in2.eml
dsn=$(wait_file "$home/mail/outbound" "Status: 5.7.5") || fail "no DSN for the undecryptable message"
grep -q "partner@example.org" "$dsn" || fail "DSN not to the sender"
sleep 0.5
grep -lrs "Lost 7" "$home/mail/inbound/new" && fail "undecryptable message delivered"

# --- 3. [confidential] without a certificate: DSN to alice, nothing out.
printf 'From: alice@example.com\r\nTo: nobody@nocert.example\r\nSubject: [Confidential] Plan 9\r\n\r\nPLAN-BODY\r\n' > out3.eml
send "$relay" alice@example.com nobody@nocert.example out3.eml
dsn3=$(wait_file "$home/mail/inbound" "Status: 5.7.1") || fail "no DSN for forced encryption"
grep -q "must be encrypted" "$dsn3" || fail "the DSN does not say why"
grep -lrs "PLAN-BODY" "$home/mail/outbound/new" && fail "confidential mail sent in clear"

grep -q 'smimegate_policy_recipients_total{direction="outbound",action="signed_encrypted"} 1' \
  <(curl -s "http://127.0.0.1:$metrics/metrics") || fail "metrics"
kill -TERM "$pid"; wait "$pid" || true; pid=""
echo "policy e2e: signed inbound marked+harvested, reply encrypted (openssl cms + gpgsm), undecryptable -> DSN 5.7.5, [confidential] without cert -> DSN"
