#!/usr/bin/python3
"""Inbound S/MIME as real clients send it, through the MX listener of a real
`smimegate run` to a participating user (issue 15, issue 13 points 1, 2, 5):

  * every structure of the behaviour table in docs/smime.md ("Inbound
    behaviour") is built at test time with NSS `cmsutil` and `openssl cms`
    (sign-then-encrypt, encrypt-then-sign opaque and detached, triple wrap,
    a forwarding signer, two SignerInfos with one broken, SHA-1, a future
    Date, an expired signer, a signer not matching From, ...), sent to
    alice@example.com and the delivered Subject mark and
    X-Smimegate-Verification fields compared with the table's row;
  * an inbound [noenc] subject arrives without the tag; a smuggled
    X-Smimegate-Verification field does not arrive;
  * a des-cbc message is not decrypted: the fixed DSN, nothing delivered;
  * 256 tampered variants of one AES-CBC message give at most one DSN in
    total, nothing is delivered, the rest is quarantined (metric).

Usage: inbound_layers_test.py <build dir> <docs/smime.md>
Run it against an older build to see which rows it fails.
"""
import base64
import datetime
import email.utils
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from sgtest import free_port, poll_until  # noqa: E402

BUILD = os.path.abspath(sys.argv[1])
TABLE_DOC = os.path.abspath(sys.argv[2])
GW = os.path.join(BUILD, "cmd/smimegate/smimegate")
CTL = os.path.join(BUILD, "cmd/smimegatectl/smimegatectl")
ALICE = "alice@example.com"
PARTNER = "partner@example.org"
FORWARDER = "lists@example.org"
FAILURES = []


def fail(what):
    FAILURES.append(what)
    print("FAIL:", what, flush=True)


def run(cmd, stdin=None, check=True):
    r = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr.decode(errors='replace')}")
    return r.stdout


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


# ---------------------------------------------------------------- the partner's PKI

class Pki:
    """The partner's CA and users, made with python3-cryptography (dates of
    our choosing: an expired signer needs a certificate from the past)."""

    def __init__(self, work):
        self.work = work
        now = datetime.datetime.utcnow()
        self.ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Partner CA")])
        self.ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                   .public_key(self.ca_key.public_key()).serial_number(1000)
                   .not_valid_before(now - datetime.timedelta(days=800))
                   .not_valid_after(now + datetime.timedelta(days=800))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                                False), critical=True)
                   .sign(self.ca_key, hashes.SHA256()))
        self.ca_pem = self.write("ca.pem", self.ca.public_bytes(serialization.Encoding.PEM))
        self.partner = self.user("partner", PARTNER, 1001, now - datetime.timedelta(days=1),
                                 now + datetime.timedelta(days=300))
        self.forwarder = self.user("forwarder", FORWARDER, 1002, now - datetime.timedelta(days=1),
                                   now + datetime.timedelta(days=300))
        self.expired = self.user("expired", PARTNER, 1003, now - datetime.timedelta(days=700),
                                 now - datetime.timedelta(days=300))

    def write(self, name, data):
        path = os.path.join(self.work, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def user(self, stem, address, serial, not_before, not_after):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, stem),
                                         x509.NameAttribute(NameOID.EMAIL_ADDRESS, address)]))
                .issuer_name(self.ca.subject).public_key(key.public_key()).serial_number(serial)
                .not_valid_before(not_before).not_valid_after(not_after)
                .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(address)]), critical=False)
                .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False,
                                             False), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                               critical=False)
                .sign(self.ca_key, hashes.SHA256()))
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return {"stem": stem, "serial": serial, "address": address,
                "cert": self.write(stem + ".pem", cert.public_bytes(serialization.Encoding.PEM)),
                "key": self.write(stem + ".key", key_pem)}


# ---------------------------------------------------------------- building messages

class Builder:
    """S/MIME structures as clients make them: openssl cms and NSS cmsutil."""

    def __init__(self, work, pki, alice_pem):
        self.work, self.pki, self.alice_pem = work, pki, alice_pem
        self.db = "sql:" + os.path.join(work, "nssdb")
        os.makedirs(os.path.join(work, "nssdb"))
        run(["certutil", "-N", "-d", self.db, "--empty-password"])
        run(["certutil", "-A", "-d", self.db, "-n", "partnerca", "-t", "C,C,C", "-i", pki.ca_pem])
        run(["certutil", "-A", "-d", self.db, "-n", "alice", "-t", ",,", "-i", alice_pem])
        p12 = os.path.join(work, "partner.p12")
        run(["openssl", "pkcs12", "-export", "-in", pki.partner["cert"], "-inkey",
             pki.partner["key"], "-name", "partner", "-passout", "pass:pw", "-out", p12,
             "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"])
        run(["pk12util", "-i", p12, "-d", self.db, "-W", "pw"])

    def f(self, name):
        return os.path.join(self.work, name)

    def temp(self, data):
        path = self.f("in-%d" % time.monotonic_ns())
        with open(path, "wb") as out:
            out.write(data)
        return path

    # One RFC 5322 message from its outer headers and an S/MIME body.
    @staticmethod
    def headers(subject, sender=PARTNER, date=None, extra=b""):
        date = date or email.utils.formatdate(usegmt=True)
        return (f"From: Partner <{sender}>\r\nTo: {ALICE}\r\nSubject: {subject}\r\n"
                f"Date: {date}\r\nMessage-ID: <{time.monotonic_ns()}@example.org>\r\n").encode() + extra

    @staticmethod
    def entity(text):
        return (b"Content-Type: text/plain; charset=us-ascii\r\n\r\n" + text.encode() + b"\r\n")

    @staticmethod
    def p7m(der, smime_type):
        body = base64.encodebytes(der).replace(b"\n", b"\r\n")
        return (b"MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=" +
                smime_type.encode() + b"; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n"
                b"Content-Disposition: attachment; filename=smime.p7m\r\n\r\n" + body)

    # openssl
    def ossl_sign(self, entity, who, detached=True, md="sha256", extra=()):
        args = ["openssl", "cms", "-sign", "-binary", "-in", self.temp(entity), "-signer", who["cert"],
                "-inkey", who["key"], "-certfile", self.pki.ca_pem, "-md", md, *extra]
        if not detached:
            args.append("-nodetach")
        return crlf(run(args))  # a MIME entity (MIME-Version + Content-Type + body)

    def ossl_sign_two(self, entity, broken=None):
        der = run(["openssl", "cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-in",
                   self.temp(entity), "-signer", self.pki.partner["cert"], "-inkey",
                   self.pki.partner["key"], "-signer", self.pki.forwarder["cert"], "-inkey",
                   self.pki.forwarder["key"], "-certfile", self.pki.ca_pem])
        if broken is not None:
            # The SignerInfos follow the certificates: the last occurrence of the
            # serial is the signer's issuerAndSerialNumber; its signature value
            # is the next 256-byte OCTET STRING.
            serial = b"\x02\x02" + broken["serial"].to_bytes(2, "big")
            at = der.rfind(serial)
            sig = der.find(b"\x04\x82\x01\x00", at)
            assert at > 0 and sig > at, "signer not found"
            b = bytearray(der)
            b[sig + 20] ^= 0x01
            der = bytes(b)
        return self.p7m(der, "signed-data")

    def ossl_encrypt(self, entity, cipher="-aes256", der=False, extra=()):
        args = ["openssl", "cms", "-encrypt", "-binary", cipher, "-provider", "legacy",
                "-provider", "default", "-in", self.temp(entity), "-outform", "DER",
                "-recip", self.alice_pem, *extra]
        out = run(args)
        return out if der else self.p7m(out, "authEnveloped-data" if "gcm" in cipher else "enveloped-data")

    # NSS
    def nss_sign(self, entity, detached=False, hash_alg="SHA256"):
        args = ["cmsutil", "-S", "-N", "partner", "-G", "-P", "-H", hash_alg, "-d", self.db,
                "-i", self.temp(entity), "-o", self.f("nss.der")]
        if detached:
            args.append("-T")
        run(args)
        with open(self.f("nss.der"), "rb") as f:
            der = f.read()
        if not detached:
            return self.p7m(der, "signed-data")
        boundary = b"nss-boundary-%d" % time.monotonic_ns()
        sig = base64.encodebytes(der).replace(b"\n", b"\r\n")
        return (b"MIME-Version: 1.0\r\nContent-Type: multipart/signed; "
                b"protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"" +
                boundary + b"\"\r\n\r\n--" + boundary + b"\r\n" + entity + b"\r\n--" + boundary +
                b"\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
                b"Content-Transfer-Encoding: base64\r\n\r\n" + sig + b"--" + boundary + b"--\r\n")

    def nss_encrypt(self, entity):
        run(["cmsutil", "-E", "-r", ALICE, "-d", self.db, "-i", self.temp(entity), "-o",
             self.f("nssenc.der")])
        with open(self.f("nssenc.der"), "rb") as f:
            return self.p7m(f.read(), "enveloped-data")


def cases(b, pki):
    """Case id (as in the docs table) -> the message to send."""
    H = Builder.headers
    E = Builder.entity
    future = "Tue, 01 Jan 2036 10:00:00 +0000"
    pss = ("-keyopt", "rsa_padding_mode:pss")
    oaep = ("-keyopt", "rsa_padding_mode:oaep")
    return {
        "plain": H("plain") + b"MIME-Version: 1.0\r\n" + E("PLAIN-BODY"),
        "signed": H("signed") + b.ossl_sign(E("SIGNED-BODY"), pki.partner),
        "signed-opaque-nss": H("signed-opaque-nss") + b.nss_sign(E("OPAQUE-BODY")),
        "sign-encrypt-nss": H("sign-encrypt-nss") + b.nss_encrypt(b.nss_sign(E("SE-NSS-BODY"), detached=True)),
        "sign-encrypt-openssl": H("sign-encrypt-openssl") + b.ossl_encrypt(b.ossl_sign(E("SE-OSSL-BODY"), pki.partner)),
        "encrypt-sign-opaque": H("encrypt-sign-opaque") + b.nss_sign(b.nss_encrypt(E("ES-OPAQUE-BODY"))),
        "encrypt-sign-detached": H("encrypt-sign-detached") + b.ossl_sign(b.ossl_encrypt(E("ES-DETACHED-BODY")), pki.partner),
        "triple-wrap": H("triple-wrap") + b.ossl_sign(b.nss_encrypt(b.ossl_sign(E("TRIPLE-BODY"), pki.partner)), pki.partner),
        "forwarding-signer": H("forwarding-signer") + b.ossl_sign(b.ossl_sign(E("FWD-BODY"), pki.partner), pki.forwarder),
        "two-signers-other-broken": H("two-signers-other-broken") + b.ossl_sign_two(E("TWO-BODY"), broken=pki.forwarder),
        "two-signers-from-broken": H("two-signers-from-broken") + b.ossl_sign_two(E("TWO-BODY"), broken=pki.partner),
        "sha1": H("sha1") + b.ossl_sign(E("SHA1-BODY"), pki.partner, md="sha1"),
        "signed-pss": H("signed-pss") + b.ossl_sign(E("PSS-BODY"), pki.partner, extra=pss),
        "md5": H("md5") + b.ossl_sign(E("MD5-BODY"), pki.partner, md="md5"),
        "duplicate-from": H("duplicate-from", extra=b"From: ceo@example.org\r\n") + b.ossl_sign(E("DUPFROM-BODY"), pki.partner),
        "sha1-nss": H("sha1-nss") + b.nss_sign(E("SHA1-NSS-BODY"), hash_alg="SHA1"),
        "future-date": H("future-date", date=future) + b.ossl_sign(E("FUTURE-BODY"), pki.partner),
        "expired-signer": H("expired-signer") + b.ossl_sign(E("EXPIRED-BODY"), pki.expired),
        "signer-not-from": H("signer-not-from", sender="someone@example.org") + b.ossl_sign(E("NOTFROM-BODY"), pki.partner),
        "encrypted-aes-gcm": H("encrypted-aes-gcm") + b.ossl_encrypt(E("GCM-BODY"), "-aes-256-gcm"),
        "encrypted-oaep": H("encrypted-oaep") + b.ossl_encrypt(E("OAEP-BODY"), extra=oaep),
        "sign-encrypt-pss-oaep": H("sign-encrypt-pss-oaep") + b.ossl_encrypt(b.ossl_sign(E("PSS-OAEP-BODY"), pki.partner, extra=pss), extra=oaep),
        "encrypted-3des": H("encrypted-3des") + b.ossl_encrypt(E("3DES-BODY"), "-des3"),
        "encrypted-des": H("encrypted-des") + b.ossl_encrypt(E("DES-BODY"), "-des"),
        "encrypted-rc2": H("encrypted-rc2") + b.ossl_encrypt(E("RC2-BODY"), "-rc2-40-cbc"),
        "noenc-tag": H("[noenc] noenc-tag") + b"MIME-Version: 1.0\r\n" + E("TAG-BODY"),
        "smuggled-header": H("smuggled-header", extra=b"X-Smimegate-Verification: 1 signed-detached; verdict=good\r\n")
                           + b"MIME-Version: 1.0\r\n" + E("SMUGGLE-BODY"),
    }


# ---------------------------------------------------------------- the behaviour table

def read_table(path):
    """Rows of the "Inbound behaviour" table: case id -> (mark, [detail fragments], delivered)."""
    rows = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) < 5 or not re.fullmatch(r"`[a-z0-9-]+`", cells[0]):
                continue
            case = cells[0].strip("`")
            mark = re.findall(r"`([^`]*)`", cells[2])
            details = re.findall(r"`([^`]*)`", cells[3])
            rows[case] = {"mark": mark[0] if mark else "", "details": details,
                          "delivered": "DSN" not in cells[2]}
    return rows


# ---------------------------------------------------------------- the gateway

class Gateway:
    def __init__(self, work):
        self.work = work
        self.home = os.path.join(work, "home")
        os.makedirs(os.path.join(self.home, "mail/inbound"))
        os.makedirs(os.path.join(self.home, "mail/outbound"))
        self.mx, self.relay, self.metrics, self.ks = (free_port() for _ in range(4))
        self.config = os.path.join(self.home, "smimegate.yaml")
        with open(self.config, "w") as f:
            f.write(f"""hosted_domains: [example.com]
log: {{format: text, level: info}}
metrics: {{address: 127.0.0.1, port: {self.metrics}}}
queue: {{type: embedded}}
ingress:
  listeners:
    - {{name: mx, address: 127.0.0.1, port: {self.mx}, role: mx}}
    - {{name: relay, address: 127.0.0.1, port: {self.relay}, role: relay, trusted_networks: [127.0.0.0/8]}}
keyservice: {{listen: "127.0.0.1:{self.ks}", kek_file: kek, kek_create: true}}
workers:
  threads: 2
  policy:
    dsn: {{reporting_mta: gw.example.com}}
egress:
  inbound: {{transport: maildir, path: mail/inbound}}
  outbound: {{transport: maildir, path: mail/outbound}}
""")
        self.log = open(os.path.join(work, "gw.log"), "w")
        self.proc = subprocess.Popen([GW, "run", "--config", self.config], stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(os.path.join(work, "gw.log"), errors="replace") as f:
                if "smimegate ready" in f.read():
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError("smimegate did not start:\n" + self.log_tail())

    def log_tail(self):
        with open(os.path.join(self.work, "gw.log"), errors="replace") as f:
            return f.read()[-3000:]

    def ctl(self, *args):
        return run([CTL, "--config", self.config, "--timeout", "30", *args])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def send(self, port, sender, rcpt, data):
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.sendmail(sender, [rcpt], data)

    def box(self, which):
        d = os.path.join(self.home, "mail", which, "new")
        out = []
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                out.append(f.read())
        return out

    def metric(self, name_and_labels):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name_and_labels + " "):
                    return float(line.rsplit(" ", 1)[1])
        return 0.0


def header_values(msg, name):
    head = msg.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    out = []
    for line in head.split(b"\r\n"):
        if line.lower().startswith(name.lower().encode() + b":"):
            out.append(line.split(b":", 1)[1].strip().decode(errors="replace"))
    return out


def main():
    work = tempfile.mkdtemp(prefix="sg-inbound-layers-")
    gw = None
    try:
        table = read_table(TABLE_DOC)
        if len(table) < 15:
            raise RuntimeError(f"the behaviour table in {TABLE_DOC} has {len(table)} rows")
        gw = Gateway(work)
        gw.ctl("user", "add", ALICE)
        pki = Pki(work)
        gw.ctl("trust", "add", pki.ca_pem)
        # alice's key is issued on her first message.
        gw.send(gw.relay, ALICE, "nobody@nocert.example",
                b"From: alice@example.com\r\nTo: nobody@nocert.example\r\nSubject: hello\r\n\r\nhi\r\n")
        alice_pem = os.path.join(work, "alice.pem")
        if not poll_until(lambda: gw.box("outbound")):
            raise RuntimeError("alice's first message did not go out:\n" + gw.log_tail())
        gw.ctl("cert", "export", ALICE, "--out", alice_pem)
        b = Builder(work, pki, alice_pem)
        messages = cases(b, pki)
        missing = set(messages) - set(table)
        if missing:
            raise RuntimeError(f"cases without a row in the behaviour table: {sorted(missing)}")
        for case, data in messages.items():
            gw.send(gw.mx, PARTNER, ALICE, data)
        check_table(gw, table, messages)
        check_tampered(gw, b)
    finally:
        if gw:
            gw.stop()
        if FAILURES:
            print("--- gateway log (tail)\n" + (gw.log_tail() if gw else ""))
        shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        sys.exit(1)
    print("inbound layers: every row of the behaviour table as documented")


def check_table(gw, table, messages):
    expected_delivered = [c for c in messages if table[c]["delivered"]]
    expected_dsn = [c for c in messages if not table[c]["delivered"]]

    def by_case():
        got = {}
        for m in gw.box("inbound"):
            subject = " ".join(header_values(m, "Subject"))
            for case in messages:
                if re.search(r"(^|\] |^\s*)" + re.escape(case) + r"$", subject):
                    got[case] = m
        return got if len(got) >= len(expected_delivered) else None

    def dsn_list():
        found = [m for m in gw.box("outbound") if b"Status: 5.7.5" in m]
        return found if len(found) >= len(expected_dsn) else None

    delivered = poll_until(by_case, 60) or {}
    dsns = poll_until(dsn_list, 30) or []
    for case in messages:
        row = table[case]
        if not row["delivered"]:
            if case in delivered:
                fail(f"{case}: delivered, the table says DSN")
            continue
        m = delivered.get(case)
        if m is None:
            fail(f"{case}: not delivered")
            continue
        subject = " ".join(header_values(m, "Subject"))
        want = (row["mark"] + " " + case).strip() if row["mark"] else case
        if subject != want:
            fail(f"{case}: Subject {subject!r}, table says {want!r}")
        details = "\n".join(header_values(m, "X-Smimegate-Verification"))
        for d in row["details"]:
            if d not in details:
                fail(f"{case}: X-Smimegate-Verification lacks {d!r}: {details!r}")
        if not row["details"] and details:
            fail(f"{case}: unexpected X-Smimegate-Verification {details!r}")
        if row["mark"].startswith("[secure]") and b"-BODY" not in m:
            fail(f"{case}: the delivered message is not readable")
        if b"smime-type=enveloped-data" in m and "[secure]" in row["mark"]:
            fail(f"{case}: still encrypted")
    if len(dsns) != len(expected_dsn):
        fail(f"{len(dsns)} DSNs, the table says {len(expected_dsn)} ({expected_dsn})")
    for d in dsns:
        if b"could not be decrypted for this recipient. It was not delivered." not in d:
            fail("a DSN without the fixed wording")
        if re.search(rb"bad decrypt|unsupported|not allowed|error:", d, re.I):
            fail("a DSN quoting library error text")


def check_tampered(gw, b):
    """256 variants of one AES-CBC message: at most one DSN, nothing delivered."""
    der = b.ossl_encrypt(Builder.entity("TAMPER-BODY of the original"), der=True)
    before_dsn = len([m for m in gw.box("outbound") if b"Status: 5.7.5" in m])
    before_in = len(gw.box("inbound"))
    with smtplib.SMTP("127.0.0.1", gw.mx, timeout=60) as s:
        for i in range(256):
            v = bytearray(der)
            if i < 255:
                v[-17] ^= i + 1  # the next-to-last block: the last one's padding changes
            else:
                v[-18] ^= 1
            msg = Builder.headers(f"tampered {i}", sender="eve@evil.example") + Builder.p7m(bytes(v), "enveloped-data")
            s.sendmail("eve@evil.example", [ALICE], msg)
    quarantined = poll_until(lambda: gw.metric(
        'smimegate_policy_quarantined_total{reason="content_key_replayed"}') >= 255, 120)
    time.sleep(1)
    dsns = len([m for m in gw.box("outbound") if b"Status: 5.7.5" in m]) - before_dsn
    delivered = len(gw.box("inbound")) - before_in
    q = gw.metric('smimegate_policy_quarantined_total{reason="content_key_replayed"}')
    print(f"256 tampered variants: {dsns} DSN(s), {delivered} delivered, {int(q)} quarantined")
    if dsns > 1:
        fail(f"256 tampered variants gave {dsns} DSNs")
    if delivered:
        fail(f"{delivered} tampered variants were delivered")
    if not quarantined or q != 255:
        fail(f"{q} of 256 quarantined (want 255)")


if __name__ == "__main__":
    main()
