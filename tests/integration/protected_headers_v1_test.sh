#!/usr/bin/env bash
# Issue 22: inbound header protection in the draft scheme
# (draft-autocrypt-lamps-protected-headers, protected-headers="v1") through
# `smimegate run`. A hosted user's key comes in the way a customer brings
# one: `smimegatectl key import` of a PKCS#12 with legacy PBEs (RC2-40 /
# 3DES, `openssl pkcs12 -legacy`) in the PEM armour GnuTLS's certtool writes
# (the form of the autocrypt example keys). A partner's client (openssl cms)
# then sends, over SMTP to the MX listener, with the Subject obscured:
#   1. sign+enc+legacy-display (protected-headers="v1" on the payload, as
#      Thunderbird writes it): delivered with the inner Subject/From/To; the
#      legacy display stays under the signature, which still verifies;
#   2. enc+legacy-display without any parameter on the payload (the autocrypt
#      smime-enc+legacy-disp shape): inner Subject/From/To and no legacy
#      display part (the body part takes the wrapper's place).
# Usage: protected_headers_v1_test.sh <build dir>
set -euo pipefail
. "$(dirname "$0")/gateway_test_lib.sh"
sg_init "$1" sg-hpv1-e2e
mx=$(free_port); relay=$(free_port)
home="$work/home"
sg_maildir_config "$home" "$mx" "$relay"

# One test CA for both sides: alice@partner.example signs, bob@example.com
# (hosted) decrypts with the key he imports.
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 30 \
  -subj "/CN=Sample Test CA" -addext "basicConstraints=critical,CA:true" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
leaf() {  # name email
  openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
  printf 'subjectAltName=email:%s\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=emailProtection\n' "$2" > "$1.cnf"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 20 \
    -extfile "$1.cnf" -out "$1.pem" 2>/dev/null
}
leaf alice alice@partner.example
leaf bob bob@example.com
openssl pkcs12 -export -legacy -inkey bob.key -in bob.pem -certfile ca.pem -name bob \
  -passout pass:bob -out bob.der.p12 2>/dev/null || fail "pkcs12 -legacy"
{ openssl pkcs12 -legacy -in bob.der.p12 -passin pass:bob -info -noout 2>&1 || true; } > p12.info
grep -q "40BitRC2-CBC" p12.info && grep -q "3-KeyTripleDES-CBC" p12.info ||
  fail "the PKCS#12 does not use the legacy PBEs: $(cat p12.info)"
{ echo "-----BEGIN PKCS12-----"; base64 -w 64 bob.der.p12; echo "-----END PKCS12-----"; } > bob.p12
printf 'bob\n' > bob.pass

sg_start_gateway "$home/smimegate.yaml"
export SMIMEGATE_HOME="$home"
c() { "$ctl" --config "$home/smimegate.yaml" "$@"; }
c user add bob@example.com >/dev/null || fail "user add"
c key import bob.p12 --address bob@example.com --password-file bob.pass > import.log 2>&1 ||
  fail "key import of the armoured legacy PKCS#12: $(cat import.log)"
grep -q "imported key" import.log || fail "key import: $(cat import.log)"
c trust add ca.pem >/dev/null || fail "trust add"

send() {  # file
  swaks --silent 2 --server "127.0.0.1:$mx" --from alice@partner.example --to bob@example.com \
    --data "$1" > "$work/swaks.log" 2>&1 || fail "swaks $1: $(cat "$work/swaks.log")"
}
wait_file() {  # pattern -> the delivered file holding it
  for _ in $(seq 1 400); do
    f=$(grep -lrs -- "$1" "$home/mail/inbound/new" 2>/dev/null | head -1 || true)
    if [ -n "$f" ]; then echo "$f"; return 0; fi
    sleep 0.1
  done
  return 1
}
crlf() { sed 's/\r$//; s/$/\r/' "$@"; }
subject='BarCorp contract signed, let'"'"'s go!'
outer() {  # case -> the outer header as the sender's client writes it
  printf 'From: alice@partner.example\r\nTo: bob@example.com\r\nDate: %s\r\n' "$(date -R)"
  printf 'Message-ID: <%s-outer@partner.example>\r\nSubject: ...\r\nX-Case: %s\r\n' "$1" "$1"
}
payload() {  # content-type-parameter -> the v1 payload with a legacy display part
  printf 'Content-Type: multipart/mixed; boundary="lw"%s\r\n' "$1"
  printf 'From: Alice Lovelace <alice@partner.example>\r\nTo: Bob Babbage <bob@example.com>\r\n'
  printf 'Date: %s\r\nSubject: %s\r\nMessage-ID: <v1-inner@partner.example>\r\n\r\n' "$(date -R)" "$subject"
  printf -- '--lw\r\ncontent-type: text/rfc822-headers; protected-headers="v1"\r\n'
  printf 'Content-Disposition: inline\r\n\r\nSubject: %s\r\n\r\n' "$subject"
  printf -- '--lw\r\nContent-Type: text/plain; charset="us-ascii"\r\n\r\nHi Bob!\r\nSECRET-BODY\r\n'
  printf '\r\n--lw--\r\n'
}

# The inner Subject, From and To of the payload are the delivered message's.
restored() {
  grep -q "^Subject: .*BarCorp contract signed, let's go!" "$1" ||
    fail "inner Subject not restored: $(grep -i '^subject' "$1")"
  grep -q '^From: Alice Lovelace <alice@partner.example>' "$1" || fail "inner From not restored"
  grep -q '^To: Bob Babbage <bob@example.com>' "$1" || fail "inner To not restored"
}

# --- 1. sign+enc+legacy-display, protected-headers="v1" on the payload.
payload '; protected-headers="v1"' > p1.eml
openssl cms -sign -binary -nodetach -in p1.eml -signer alice.pem -inkey alice.key \
  -certfile ca.pem -out s1.eml 2>/dev/null || fail "openssl sign"
crlf s1.eml > s1.crlf
openssl cms -encrypt -aes-256-cbc -binary -in s1.crlf -out e1.eml bob.pem 2>/dev/null ||
  fail "openssl encrypt"
{ outer sign-enc-legacy; crlf e1.eml; } > in1.eml
send in1.eml
got=$(wait_file "X-Case: sign-enc-legacy") || fail "sign+enc+legacy-display not delivered"
restored "$got"
grep -q '^Message-ID: <v1-inner@partner.example>' "$got" || fail "inner Message-ID not restored"
openssl cms -verify -in "$got" -CAfile ca.pem -purpose any -out v1.out 2>/dev/null ||
  fail "the signature under the encryption no longer verifies"
grep -q 'protected-headers="v1"' v1.out || fail "the signed payload changed"

# --- 2. enc+legacy-display, no parameter on the payload (autocrypt's shape).
payload '' > p2.eml
openssl cms -encrypt -aes-256-cbc -binary -in p2.eml -out e2.eml bob.pem 2>/dev/null ||
  fail "openssl encrypt"
{ outer enc-legacy; crlf e2.eml; } > in2.eml
send in2.eml
got2=$(wait_file "X-Case: enc-legacy") || fail "enc+legacy-display not delivered"
restored "$got2"
grep -q "SECRET-BODY" "$got2" || fail "not decrypted"
grep -qi "rfc822-headers" "$got2" && fail "the legacy display part is still there"
grep -qi '^Content-Type: text/plain; charset="us-ascii"' "$got2" ||
  fail "the body part did not take the wrapper's place: $(grep -i '^content-type' "$got2")"
grep -q "^Subject: BarCorp" <(sed '1,/^\r\?$/d' "$got2") && fail "the legacy display text is still there"

kill -TERM "$pid"; wait "$pid" || true; pid=""
echo "protected-headers v1 e2e: armoured legacy PKCS#12 imported; sign+enc+legacy-display restored (signature verifies); enc+legacy-display restored, legacy display removed"
