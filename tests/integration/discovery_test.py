#!/usr/bin/python3
"""Issue 22: certificate discovery before giving up (docs/discovery.md).

`smimegate run` with workers.discovery on, its DNS server a local dnslib
server (sgtest.DnsServer: tests/egress/peers/dns_server.py, loopback) standing in
for a validating resolver: it sets the AD bit ("!ad") and serves an SMIMEA
record (RFC 8162) with bob@partner.example's whole certificate, issued by a
partner CA the admin trusts (`smimegatectl trust add`). The keyservice knows
no certificate of bob; alice's outbound message to him is set aside while
the worker looks him up, then delivered encrypted to the discovered
certificate: openssl cms decrypts it with bob's key. The certificate was
stored like a harvested one (`cert list` names it). A second recipient whose
record is served without validation (the AD bit cleared before the lookup)
gets the message signed, not encrypted.

Usage: discovery_test.py <build dir>
"""
import hashlib
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import sgtest  # noqa: E402

fail = sgtest.fail_with_log


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def partner_pki(work):
    """A partner CA and bob's, carol's and dave's certificates from it (PEM paths)."""
    ca_key, ca = os.path.join(work, "ca.key"), os.path.join(work, "ca.pem")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
            "-subj", "/O=Partner/CN=Partner CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", ca_key, "-out", ca)
    out = {}
    for user in ("bob", "carol", "dave"):
        key, csr, pem = (os.path.join(work, user + ext) for ext in (".key", ".csr", ".pem"))
        ext = os.path.join(work, user + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=email:%s@partner.example\n"
                    "extendedKeyUsage=emailProtection\n"
                    "keyUsage=digitalSignature,keyEncipherment\n" % user)
        openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + user,
                "-keyout", key, "-out", csr)
        openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
                "-days", "30", "-extfile", ext, "-out", pem)
        der = subprocess.run(["openssl", "x509", "-in", pem, "-outform", "DER"], check=True,
                             capture_output=True).stdout
        out[user] = (key, pem, der)
    return ca, out


def owner(local):
    return hashlib.sha256(local.encode()).hexdigest()[:56] + "._smimecert.partner.example"


def send(gw, rcpt, n):
    marker = "<disc-%d-%f@example.com>" % (n, time.time())
    data = ("From: Alice <alice@example.com>\r\nTo: %s\r\nSubject: Figures %d\r\n"
            "Message-ID: %s\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain\r\n\r\nThe discovered figures, part %d.\r\n"
            % (rcpt, n, marker, n))
    gw.send("relay", "alice@example.com", [rcpt], data)
    return marker


def expect_encrypted_to_bob(gw, work, users):
    """alice -> bob (message 1): delivered encrypted to bob's discovered
    certificate (his key decrypts it), which was stored like a harvested one."""
    msg = gw.wait_mail("outbound", send(gw, "bob@partner.example", 1).encode(), timeout=60)
    if b"application/pkcs7-mime" not in msg:
        fail("mail to bob was not encrypted: %r" % msg[:400], gw.log_path)
    path = os.path.join(work, "bob.eml")
    with open(path, "wb") as f:
        f.write(msg)
    r = subprocess.run(["openssl", "cms", "-decrypt", "-in", path, "-inkey", users["bob"][0],
                        "-recip", users["bob"][1]], capture_output=True)
    if r.returncode != 0 or b"The discovered figures, part 1." not in r.stdout:
        # Signed and encrypted: the plaintext is the signed entity.
        fail("bob's key does not decrypt it: %r %r" % (r.stdout[:300], r.stderr), gw.log_path)
    certs = sgtest.ctl_ok(gw, "cert", "list", "--owner", "bob@partner.example")
    if "\tpartner\tbob@partner.example" not in certs:
        fail("bob's certificate was not stored like a harvested one: %s" % certs, gw.log_path)


def run(gw, work, dns):
    ca, users = partner_pki(work)
    sgtest.ctl_ok(gw, "user", "add", "alice@example.com")
    sgtest.ctl_ok(gw, "trust", "add", ca)

    # Validated: bob's certificate is discovered and used.
    dns.set_zone(["!ad", owner("bob") + " SMIMEA 3 0 0 " + users["bob"][2].hex()])
    expect_encrypted_to_bob(gw, work, users)
    if "set_aside" not in gw.log_text() or "discovery_wait" not in gw.log_text():
        fail("the message did not wait for the lookup", gw.log_path)
    print("ok: bob's SMIMEA certificate discovered, harvested and encrypted to")

    # RFC 8162 hashes the local-part as written: the partner published dave's
    # record under "Dave", and alice writes "Dave@partner.example".
    dns.set_zone(["!ad", owner("Dave") + " SMIMEA 3 0 0 " + users["dave"][2].hex()])
    msg = gw.wait_mail("outbound", send(gw, "Dave@partner.example", 3).encode(), timeout=60)
    if b"application/pkcs7-mime" not in msg:
        fail("mail to Dave (record under the local-part as written) was not encrypted: %r"
             % msg[:400], gw.log_path)
    print("ok: the local-part is hashed as written (Dave)")

    # Not validated (AD clear): carol's record is ignored, the mail is signed only.
    dns.set_zone([owner("carol") + " SMIMEA 3 0 0 " + users["carol"][2].hex()])
    msg = gw.wait_mail("outbound", send(gw, "carol@partner.example", 2).encode(), timeout=60)
    if b"application/pkcs7-mime" in msg or b"multipart/signed" not in msg:
        fail("mail to carol (unvalidated record) was not signed-only: %r" % msg[:400],
             gw.log_path)
    _, metrics = sgtest.http_get("http://127.0.0.1:%d/metrics" % gw.ports["metrics"])
    for want in ('smimegate_discovery_lookups_total{source="smimea",result="found"} 2',
                 'smimegate_discovery_lookups_total{source="smimea",result="not_validated"} 1'):
        if want not in metrics:
            fail("no %s in /metrics" % want, gw.log_path)
    print("ok: an unvalidated record is ignored (signed only); lookups counted")


def main():
    work = tempfile.mkdtemp(prefix="sg-disc-")
    gw = None
    try:
        with sgtest.DnsServer(work) as dns:
            workers = ("discovery: {enabled: true, dns: {servers: [\"127.0.0.1:%d\"], timeout: 1s}, "
                       "retry: 200ms, max_wait: 20s}" % dns.port)
            gw = sgtest.SmimegateRun(sys.argv[1], sgtest.run_config(workers=workers),
                                     prefix="sg-disc-run-")
            with gw:
                run(gw, work, dns)
    except (TimeoutError, RuntimeError, subprocess.CalledProcessError) as e:
        fail(str(e), gw.log_path if gw else "/dev/null")
    print("PASS")


if __name__ == "__main__":
    main()
