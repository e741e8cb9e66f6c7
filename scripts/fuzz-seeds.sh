#!/usr/bin/env bash
# Regenerates the tool-made seeds of the fuzz corpora (scripts/fuzz.sh):
# S/MIME messages from `openssl cms`, gpgsm and NSS cmsutil, PKCS#12 files
# from openssl, NSS pk12util and gpgsm, certificate files, and SMTP sessions
# recorded from swaks, Python smtplib and Postfix smtp-source (client side)
# and from aiosmtpd and Postfix smtp-sink (server replies, for egress).
#
#   scripts/fuzz-seeds.sh [smime|pkcs12|certs|sessions|replies ...]   (default: all)
#
# Everything is made for the fixed test PKI in tests/support/fuzz_pki (made
# once by make_pki.py; the keys are test material, never used elsewhere), so
# the fuzz targets can decrypt and verify the seeds. The output is committed;
# running this again replaces the tool-made seeds (other seeds, written by
# hand or found by fuzzing, stay). Hand-written seeds have no prefix; these
# are named after the tool that made them.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pki="$repo/tests/support/fuzz_pki"
py=/usr/bin/python3  # Debian's, with python3-cryptography and aiosmtpd
work="$(mktemp -d /tmp/sgseeds.XXXXXX)"
gpg_home=""
cleanup() {
  [ -n "$gpg_home" ] && gpgconf --homedir "$gpg_home" --kill gpg-agent >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
export P12_PASS=fuzz  # the password the keyservice_pkcs12 target tries

[ -f "$pki/alice.key" ] || "$py" "$pki/make_pki.py" "$pki"

crlf() { sed 's/$/\r/'; }

# A realistic entity: multipart/alternative in multipart/mixed, QP UTF-8 text,
# HTML and a small attachment (what Thunderbird and Outlook send).
entity() {
  crlf <<'EOF'
Content-Type: multipart/mixed; boundary="------------mix0A1B2C"

This is a multi-part message in MIME format.
--------------mix0A1B2C
Content-Type: multipart/alternative; boundary="------------alt3D4E5F"

--------------alt3D4E5F
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: quoted-printable

Hallo Bob,

anbei die Unterlagen f=C3=BCr Montag.=20
Gr=C3=BC=C3=9Fe, Alice

--------------alt3D4E5F
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: 7bit

<html><body><p>Hallo Bob,</p><p>anbei die Unterlagen f&uuml;r Montag.</p></body></html>
--------------alt3D4E5F--
--------------mix0A1B2C
Content-Type: application/pdf; name="agenda.pdf"
Content-Disposition: attachment; filename="agenda.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKMSAwIG9iago8PCAvVHlwZSAvQ2F0YWxvZyA+PgplbmRvYmoKdHJhaWxlcgo8PCAv
Um9vdCAxIDAgUiA+PgolJUVPRgo=
--------------mix0A1B2C--
EOF
}

outer_headers() {  # from to subject
  printf 'Date: Sun, 6 Dec 2026 10:00:00 +0100\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\n' "$1" "$2" "$3"
  printf 'Message-ID: <%s@example.com>\r\nMIME-Version: 1.0\r\n' "$(printf %s "$3" | tr -c 'a-z0-9' '-')"
}

wrap_p7m() {  # der smime-type from
  outer_headers "$3" "bob@example.com" "p7m $2"
  printf 'Content-Type: application/pkcs7-mime; smime-type=%s; name="smime.p7m"\r\n' "$2"
  printf 'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7m"\r\n\r\n'
  base64 -w 76 "$1" | crlf
}

wrap_detached() {  # content-file der from
  local b="----sgseed$(sha1sum "$2" | cut -c1-12)"
  outer_headers "$3" "bob@example.com" "detached"
  printf 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256;\r\n\tboundary="%s"\r\n\r\n' "$b"
  printf 'This is an S/MIME signed message\r\n\r\n--%s\r\n' "$b"
  cat "$1"
  printf '\r\n--%s\r\nContent-Type: application/pkcs7-signature; name="smime.p7s"\r\n' "$b"
  printf 'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7s"\r\n\r\n'
  base64 -w 76 "$2" | crlf
  printf '\r\n--%s--\r\n' "$b"
}

smime_openssl() {
  local out="$1" ent="$work/entity.eml"
  entity >"$ent"
  local sign=(openssl cms -sign -signer "$pki/alice.pem" -inkey "$pki/alice.key" -binary
              -from alice@example.com -to bob@example.com -in "$ent")
  "${sign[@]}" -subject "openssl detached" -out "$out/openssl_signed_detached.eml"
  "${sign[@]}" -subject "openssl opaque" -nodetach -out "$out/openssl_signed_opaque.eml"
  "${sign[@]}" -subject "openssl sha1" -md sha1 -out "$out/openssl_signed_sha1.eml"
  "${sign[@]}" -subject "openssl md5" -md md5 -out "$out/openssl_signed_md5.eml"
  "${sign[@]}" -subject "openssl pss" -keyopt rsa_padding_mode:pss -out "$out/openssl_signed_pss.eml"
  "${sign[@]}" -subject "openssl nocerts" -nocerts -out "$out/openssl_signed_nocerts.eml"
  openssl cms -sign -signer "$pki/bob.pem" -inkey "$pki/bob.key" -binary -from bob@example.com \
    -to alice@example.com -subject "openssl ecdsa" -in "$ent" -out "$out/openssl_signed_ecdsa.eml"
  local enc=(openssl cms -encrypt -binary -from bob@example.com -to alice@example.com -in "$ent")
  "${enc[@]}" -subject "openssl aes256cbc" -aes256 -out "$out/openssl_enc_aes256cbc.eml" "$pki/alice.pem"
  "${enc[@]}" -subject "openssl aes128cbc" -aes128 -out "$out/openssl_enc_aes128cbc.eml" "$pki/alice.pem"
  "${enc[@]}" -subject "openssl aes256gcm" -aes-256-gcm -out "$out/openssl_enc_aes256gcm.eml" "$pki/alice.pem"
  "${enc[@]}" -subject "openssl des3" -des3 -out "$out/openssl_enc_des3.eml" "$pki/alice.pem"
  "${enc[@]}" -subject "openssl oaep" -aes256 -recip "$pki/alice.pem" -keyopt rsa_padding_mode:oaep \
    -out "$out/openssl_enc_oaep.eml"
  "${enc[@]}" -subject "openssl ecdh" -aes256 -out "$out/openssl_enc_ecdh_bob.eml" "$pki/bob.pem"
  "${enc[@]}" -subject "openssl two" -aes256 -out "$out/openssl_enc_two_recipients.eml" \
    "$pki/bob.pem" "$pki/alice.pem"
  # Signed, then encrypted (what a mail client sends): the signed message is the entity.
  openssl cms -sign -signer "$pki/bob.pem" -inkey "$pki/bob.key" -binary -in "$ent" \
    -out "$work/signed.eml"
  openssl cms -encrypt -binary -aes256 -from bob@example.com -to alice@example.com \
    -subject "openssl sign+encrypt" -in "$work/signed.eml" -out "$out/openssl_signed_then_enc.eml" \
    "$pki/alice.pem"
  for f in "$out"/openssl_*.eml; do  # openssl writes LF; mail on the wire is CRLF
    sed -i 's/\r\{0,1\}$/\r/' "$f"
  done
}

gpgsm_home() {
  gpg_home="$(mktemp -d /tmp/sggpg.XXXXXX)"
  printf 'disable-crl-checks\ndisable-policy-checks\n' >"$gpg_home/gpgsm.conf"
  printf 'allow-loopback-pinentry\n' >"$gpg_home/gpg-agent.conf"
  gpgconf --homedir "$gpg_home" --launch gpg-agent
  openssl x509 -in "$pki/root.pem" -noout -fingerprint -sha1 | cut -d= -f2 | sed 's/$/ S/' \
    >"$gpg_home/trustlist.txt"
  openssl pkcs12 -export -legacy -passout env:P12_PASS -inkey "$pki/alice.key" \
    -in "$pki/alice.pem" -out "$work/alice-legacy.p12"
  gpgsm_run --import "$pki/root.pem" "$work/alice-legacy.p12"
}
gpgsm_run() {
  echo "$P12_PASS" | GNUPGHOME="$gpg_home" gpgsm --batch --pinentry-mode loopback \
    --passphrase-fd 0 "$@" 2>>"$work/gpgsm.log"
}

smime_gpgsm() {
  local out="$1"
  [ -n "$gpg_home" ] || gpgsm_home
  entity >"$work/entity.eml"
  gpgsm_run -u alice@example.com --detach-sign -o "$work/g.sig" "$work/entity.eml"
  wrap_detached "$work/entity.eml" "$work/g.sig" alice@example.com >"$out/gpgsm_signed_detached.eml"
  gpgsm_run -u alice@example.com --sign -o "$work/g.p7" "$work/entity.eml"
  wrap_p7m "$work/g.p7" signed-data alice@example.com >"$out/gpgsm_signed_opaque.eml"
  gpgsm_run -r alice@example.com --encrypt -o "$work/g.enc" "$work/entity.eml"
  wrap_p7m "$work/g.enc" enveloped-data bob@example.com >"$out/gpgsm_enc.eml"
}

nss_db() {
  local db="$work/nss"
  [ -d "$db" ] && return 0
  mkdir -p "$db"
  certutil -N -d "$db" --empty-password
  certutil -A -d "$db" -n root -t C,C,C -i "$pki/root.pem"
  for who in alice bob; do
    openssl pkcs12 -export -passout env:P12_PASS -inkey "$pki/$who.key" -in "$pki/$who.pem" \
      -name "$who" -out "$work/$who.p12"
    pk12util -i "$work/$who.p12" -d "$db" -W "$P12_PASS" >/dev/null
  done
}

smime_nss() {
  local out="$1" db="$work/nss"
  nss_db
  entity >"$work/entity.eml"
  for who in alice bob; do
    cmsutil -S -N "$who" -T -G -P -H SHA256 -i "$work/entity.eml" -o "$work/n.sig" -d "$db"
    wrap_detached "$work/entity.eml" "$work/n.sig" "$who@example.com" \
      >"$out/cmsutil_signed_detached_$who.eml"
  done
  cmsutil -E -r alice@example.com -i "$work/entity.eml" -o "$work/n.enc" -d "$db"
  wrap_p7m "$work/n.enc" enveloped-data bob@example.com >"$out/cmsutil_enc_alice.eml"
  # (NSS 3.87 cmsutil cannot encrypt to an EC certificate: openssl's ECDH seed covers it.)
  cmsutil -O -r alice@example.com -d "$db" -o "$work/n.certs"
  wrap_p7m "$work/n.certs" certs-only alice@example.com >"$out/cmsutil_certs_only.eml"
}

do_smime() {
  local out="$repo/tests/workers/smime/corpus/smime_cms"
  mkdir -p "$out"
  rm -f "$out"/openssl_* "$out"/gpgsm_* "$out"/cmsutil_*
  smime_openssl "$out"
  smime_gpgsm "$out"
  smime_nss "$out"
  # The canonicaliser's corpus gets the clear-text entity and the signed ones.
  local mime="$repo/tests/workers/smime/corpus/smime_mime"
  mkdir -p "$mime"
  { outer_headers alice@example.com bob@example.com "thunderbird style"; entity; } \
    >"$mime/thunderbird_mixed.eml"
  cp "$out/openssl_signed_detached.eml" "$out/gpgsm_signed_detached.eml" "$mime/"
}

do_pkcs12() {
  local out="$repo/tests/keyservice/corpus/keyservice_pkcs12"
  mkdir -p "$out"
  rm -f "$out"/openssl_* "$out"/nss_* "$out"/gpgsm_*
  local base=(openssl pkcs12 -export -passout env:P12_PASS -inkey "$pki/alice.key" -in "$pki/alice.pem")
  "${base[@]}" -out "$out/openssl_modern.p12"                     # PBES2 AES-256, SHA-256 MAC
  "${base[@]}" -certfile "$pki/root.pem" -out "$out/openssl_modern_chain.p12"
  "${base[@]}" -legacy -out "$out/openssl_legacy_rc2_3des.p12"    # as Windows/Thunderbird write
  "${base[@]}" -keypbe NONE -certpbe NONE -out "$out/openssl_unencrypted.p12"
  "${base[@]}" -nomac -out "$out/openssl_nomac.p12"
  "${base[@]}" -iter 1 -maciter -out "$out/openssl_iter1.p12"      # cheap to fuzz deeply
  openssl pkcs12 -export -passout env:P12_PASS -inkey "$pki/bob.key" -in "$pki/bob.pem" \
    -out "$out/openssl_ec.p12"
  nss_db
  pk12util -o "$out/nss_alice.p12" -n alice -d "$work/nss" -W "$P12_PASS" >/dev/null
  [ -n "$gpg_home" ] || gpgsm_home
  local fpr
  fpr="$(openssl x509 -in "$pki/alice.pem" -noout -fingerprint -sha1 | cut -d= -f2)"
  gpgsm_run --export-secret-key-p12 -o "$out/gpgsm_alice.p12" "$fpr"
}

do_certs() {
  local out="$repo/tests/keyservice/corpus/keyservice_certs"
  mkdir -p "$out"
  rm -f "$out"/openssl_* "$out"/nss_* "$out"/gpgsm_*
  openssl x509 -in "$pki/alice.pem" -outform DER -out "$out/openssl_alice.der"
  openssl x509 -in "$pki/bob.pem" -text >"$out/openssl_bob_text.pem"  # text around the PEM
  cat "$pki/alice.pem" "$pki/bob.pem" "$pki/root.pem" >"$out/openssl_bundle.pem"
  nss_db
  certutil -L -d "$work/nss" -n bob -a >"$out/nss_bob.pem"
  [ -n "$gpg_home" ] || gpgsm_home
  GNUPGHOME="$gpg_home" gpgsm --batch --armor --export alice@example.com >"$out/gpgsm_alice.pem" \
    2>>"$work/gpgsm.log"
}

# An SMTP server that records what the client sends and answers like Postfix
# (PIPELINING, 8BITMIME, SMTPUTF8, DSN, CHUNKING, AUTH); one session per file.
recorder() {
  cat >"$work/recorder.py" <<'EOF'
import socket, sys
out, port_file = sys.argv[1], sys.argv[2]
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1); srv.settimeout(30)
open(port_file, "w").write(str(srv.getsockname()[1]))
conn, _ = srv.accept(); conn.settimeout(10)
rec = bytearray(); buf = b""
def send(s): conn.sendall(s.encode() + b"\r\n")
def need_line():
    global buf
    while b"\n" not in buf:
        d = conn.recv(65536)
        if not d: raise EOFError
        rec.extend(d); buf += d
    line, buf = buf.split(b"\n", 1)
    return line.rstrip(b"\r")
def need_bytes(n):
    global buf
    while len(buf) < n:
        d = conn.recv(65536)
        if not d: raise EOFError
        rec.extend(d); buf += d
    buf = buf[n:]
send("220 mx.example.org ESMTP Postfix")
try:
    while True:
        line = need_line(); verb = line.split(b" ")[0].upper()
        if verb in (b"EHLO",):
            for l in ["250-mx.example.org", "250-PIPELINING", "250-SIZE 10240000", "250-8BITMIME",
                      "250-SMTPUTF8", "250-DSN", "250-CHUNKING", "250-AUTH PLAIN LOGIN",
                      "250 ENHANCEDSTATUSCODES"]: send(l)
        elif verb == b"DATA":
            send("354 End data with <CR><LF>.<CR><LF>")
            while need_line() != b".": pass
            send("250 2.0.0 Ok: queued as 4Fx1")
        elif verb == b"BDAT":
            parts = line.split(); need_bytes(int(parts[1]))
            send("250 2.0.0 Ok")
        elif verb == b"AUTH":
            if len(line.split()) == 2: send("334 VXNlcm5hbWU6"); need_line(); send("334 UGFzc3dvcmQ6"); need_line()
            send("235 2.7.0 Authentication successful")
        elif verb == b"QUIT":
            send("221 2.0.0 Bye"); break
        else:
            send("250 2.0.0 Ok")
except (EOFError, socket.timeout):
    pass
open(out, "wb").write(bytes(rec))
EOF
}

record() {  # name control-bytes(octal escapes) client command... ({port} is replaced)
  local name="$1" ctl="$2"; shift 2
  local pf="$work/port.$name"
  rm -f "$pf"
  "$py" "$work/recorder.py" "$work/$name.raw" "$pf" &
  local srv=$! i
  for i in $(seq 50); do [ -s "$pf" ] && break; sleep 0.1; done
  local port; port="$(cat "$pf")"
  local cmd=("${@//\{port\}/$port}")
  timeout 20 "${cmd[@]}" >/dev/null 2>&1 || true
  wait "$srv" || true
  { printf "$ctl"; cat "$work/$name.raw"; } >"$out/$name"
}

do_sessions() {
  local out="$repo/tests/ingress/session_seeds"
  rm -f "$out"/swaks_* "$out"/smtplib_* "$out"/smtp-source_*
  recorder
  entity >"$work/entity.eml"
  printf 'attachment\n' >"$work/att.txt"
  # Control bytes (smtp_session_fuzz.cc): [0] bit0 relay, bit1 trusted network;
  # [1] queue ack mode; [2] chunk size.
  record swaks_mx '\000\000\077' swaks --server 127.0.0.1:{port} --from a@r.example \
    --to kim@example.org --header "Subject: swaks" --body "hello from swaks"
  record swaks_pipelining '\000\000\011' swaks --server 127.0.0.1:{port} --pipeline \
    --from a@r.example --to kim@example.org,nobody@example.org --attach "@$work/att.txt"
  # AUTH is offered only under TLS: the relay sessions get a STARTTLS after
  # their EHLO (the recorder cannot do TLS; the target completes it), fed a
  # byte at a time so nothing is pipelined past it.
  record swaks_relay_auth '\001\000\000' swaks --server 127.0.0.1:{port} --auth PLAIN \
    --auth-user alice --auth-password x --from alice@example.org --to x@y.example
  record swaks_relay_login '\001\003\000' swaks --server 127.0.0.1:{port} --auth LOGIN \
    --auth-user alice --auth-password x --from alice@example.org --to x@y.example --data "@$work/entity.eml"
  for f in swaks_relay_auth swaks_relay_login; do
    "$py" - "$out/$f" <<'EOF'
import sys
data = open(sys.argv[1], "rb").read()
eol = data.index(b"\r\n", 3) + 2
open(sys.argv[1], "wb").write(data[:eol] + b"STARTTLS\r\n" + data[3:eol] + data[eol:])
EOF
  done
  record swaks_relay_trusted '\003\000\077' swaks --server 127.0.0.1:{port} \
    --from bob@example.org --to x@y.example --header "Subject: from the mail server"
  cat >"$work/smtplib_client.py" <<'EOF'
import smtplib, sys
msg = open(sys.argv[2], "rb").read()
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.ehlo("client.example")
    s.sendmail("jörg@r.example", ["kim@example.org"], msg,
               mail_options=["SMTPUTF8", "BODY=8BITMIME", "RET=HDRS", "ENVID=x+2By"],
               rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;kim@example.org"])
    s.rset(); s.noop()
EOF
  record smtplib_utf8_dsn '\000\000\100' "$py" "$work/smtplib_client.py" {port} "$work/entity.eml"
  record smtp-source_3msgs '\000\001\077' /usr/sbin/smtp-source -m 3 -s 1 -l 512 -f a@r.example \
    -t kim@example.org 127.0.0.1:{port}
}

# Server replies for the egress parser: a client that sends a session and
# records what the server answers. Control byte [0]: chunk size.
do_replies() {
  local out="$repo/tests/egress/corpus/egress_reply"
  mkdir -p "$out"
  rm -f "$out"/aiosmtpd_* "$out"/smtp-sink_*
  cat >"$work/client.py" <<'EOF'
import socket, sys, time
port, out = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
rec = bytearray()
def read_reply():
    buf = b""
    while True:
        d = s.recv(65536)
        if not d: return
        buf += d; rec.extend(d)
        lines = buf.split(b"\r\n")
        if len(lines) > 1 and len(lines[-2]) >= 4 and lines[-2][3:4] == b" ": return
for cmd in [None, b"EHLO client.example", b"MAIL FROM:<a@r.example> SIZE=100",
            b"RCPT TO:<b@example.org>", b"RCPT TO:<bad\x01@x>", b"DATA",
            b"Subject: x\r\n\r\nhello\r\n.", b"VRFY b", b"FOO", b"QUIT"]:
    if cmd is not None: s.sendall(cmd + b"\r\n")
    read_reply()
open(out, "wb").write(b"\x3f" + bytes(rec))
EOF
  local port
  port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$py" -m aiosmtpd -n -l "127.0.0.1:$port" -c aiosmtpd.handlers.Sink &
  local srv=$!
  sleep 1.5
  "$py" "$work/client.py" "$port" "$out/aiosmtpd_session" || true
  kill "$srv" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
  port="$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  local sink_user=()
  [ "$(id -u)" -ne 0 ] || sink_user=(-u nobody)  # it refuses to run as root
  /usr/sbin/smtp-sink "${sink_user[@]}" "127.0.0.1:$port" 10 &
  srv=$!
  sleep 0.5
  "$py" "$work/client.py" "$port" "$out/smtp-sink_session" || true
  kill "$srv" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(smime pkcs12 certs sessions replies)
for t in "${targets[@]}"; do
  case "$t" in
    smime|pkcs12|certs|sessions|replies) "do_$t" ;;
    *) echo "fuzz-seeds.sh: unknown part '$t'" >&2; exit 2 ;;
  esac
done
