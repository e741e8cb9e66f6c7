#!/usr/bin/python3
"""Issue 22: DKIM signing of outbound mail after the gateway changed it.

`smimegate run` with a participating sender (alice@example.com) and a
partner certificate (carol@partner.example): `smimegatectl dkim keygen`
makes an RSA and an Ed25519 key, the TXT records it prints are served by a
local DNS server (tests/egress/peers/dns_server.py, dnslib, loopback, free
port); a message through the relay listener is delivered signed and
encrypted with a DKIM-Signature that dkimpy (python3-dkim, a second
implementation) verifies against the record it asks that DNS server for; a
tampered body fails. Rotation: the Ed25519 selector is activated, the next
message is signed with it, the first still verifies (the retired key stays
published), the active key cannot be removed, the retired one can. The
admin calls are in the audit log.

opendkim-testmsg is not used: it resolves through the system resolver
(libresolv, port 53), which a test cannot point at a DNS server on a free
loopback port; dkimpy takes a lookup function instead.

Usage: dkim_test.py <build dir>
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import sgtest  # noqa: E402

VERIFY = os.path.join(HERE, "..", "workers", "dkim", "dkim_verify.py")
fail = sgtest.fail_with_log


def partner_cert(work):
    """A self-signed S/MIME certificate of carol@partner.example (PEM path)."""
    key, cert = os.path.join(work, "carol.key"), os.path.join(work, "carol.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
                    "-subj", "/CN=Carol/emailAddress=carol@partner.example",
                    "-addext", "subjectAltName=email:carol@partner.example",
                    "-addext", "extendedKeyUsage=emailProtection",
                    "-addext", "keyUsage=digitalSignature,keyEncipherment",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert


def verify(work, message, dns_port):
    path = os.path.join(work, "check.eml")
    with open(path, "wb") as f:
        f.write(message)
    r = subprocess.run(["/usr/bin/python3", VERIFY, path, "--dns", "127.0.0.1:%d" % dns_port],
                       capture_output=True, text=True)
    return r.stdout.strip() + r.stderr.strip()


def selector_of(message):
    m = re.search(rb"DKIM-Signature:.*?\bs=([a-z0-9.-]+)", message, re.S)
    return m.group(1).decode() if m else None


def send(gw, n):
    marker = "<dkim-%d-%f@example.com>" % (n, time.time())
    data = ("From: Alice <alice@example.com>\r\nTo: carol@partner.example\r\n"
            "Subject: Figures %d\r\nMessage-ID: %s\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nThe figures, part %d.\r\n"
            % (n, marker, n))
    gw.send("relay", "alice@example.com", ["carol@partner.example"], data)
    return marker


def run(gw, work, dns):
    dns_port = dns.port
    sgtest.ctl_ok(gw, "user", "add", "alice@example.com")
    sgtest.ctl_ok(gw, "cert", "import", partner_cert(work), "--address", "carol@partner.example")

    lines = []
    for sel, alg in (("rsa1", "rsa"), ("ed1", "ed25519")):
        out = sgtest.ctl_ok(gw, "dkim", "keygen", "example.com", "--selector", sel,
                            "--algorithm", alg).strip()
        want = '%s._domainkey.example.com IN TXT "v=DKIM1; k=%s; p=' % (sel, alg)
        if not out.startswith(want):
            fail("keygen printed %r, want a line starting %r" % (out, want), gw.log_path)
        strings = re.findall(r'"([^"]*)"', out)
        if any(len(s) > 255 for s in strings) or (alg == "rsa" and len(strings) < 2):
            fail("the TXT record is not split into 255-byte strings: %r" % out, gw.log_path)
        lines.append(out.replace(" IN TXT ", " TXT ", 1))
    dns.set_zone(lines)
    keys = sgtest.ctl_json(gw, "dkim", "list", "example.com")
    if [(k["selector"], k["state"]) for k in keys] != [("ed1", "published"), ("rsa1", "published")]:
        fail("dkim list: %r" % keys, gw.log_path)
    sgtest.ctl_ok(gw, "dkim", "activate", "example.com", "rsa1")

    first = gw.wait_mail("outbound", send(gw, 1).encode())
    if b"application/pkcs7-mime" not in first:
        fail("the message was not encrypted", gw.log_path)
    if selector_of(first) != "rsa1":
        fail("not DKIM-signed with rsa1: %r" % first[:400], gw.log_path)
    verdict = verify(work, first, dns_port)
    if verdict != "pass":
        fail("dkimpy: %s" % verdict, gw.log_path)
    head, body = first.split(b"\r\n\r\n", 1)
    tampered = head + b"\r\n\r\n" + body.replace(b"A", b"B", 1)
    if verify(work, tampered, dns_port) == "pass":
        fail("a tampered body still verifies", gw.log_path)
    print("ok: signed+encrypted message verifies (rsa1); a tampered body fails")

    sgtest.ctl_ok(gw, "dkim", "activate", "example.com", "ed1")
    deadline = time.monotonic() + 15
    while True:  # the worker's key cache follows the change event
        second = gw.wait_mail("outbound", send(gw, 2).encode())
        if selector_of(second) == "ed1" or time.monotonic() > deadline:
            break
    if selector_of(second) != "ed1":
        fail("after activate ed1 still signed with %s" % selector_of(second), gw.log_path)
    verdict = verify(work, second, dns_port)
    if verdict != "pass":
        fail("dkimpy (ed25519): %s" % verdict, gw.log_path)
    if verify(work, first, dns_port) != "pass":
        fail("the first message no longer verifies after the rotation", gw.log_path)
    print("ok: rotation to ed1 (Ed25519); mail signed with the retired rsa1 still verifies")

    r = gw.ctl("dkim", "remove", "example.com", "ed1")
    if r.returncode == 0 or "activate another selector first" not in r.stderr + r.stdout:
        fail("removing the active key: exit %d %s%s" % (r.returncode, r.stdout, r.stderr),
             gw.log_path)
    sgtest.ctl_ok(gw, "dkim", "remove", "example.com", "rsa1")
    keys = sgtest.ctl_json(gw, "dkim", "list")
    if [(k["selector"], k["state"]) for k in keys] != [("ed1", "active")]:
        fail("dkim list after remove: %r" % keys, gw.log_path)
    audit = sgtest.ctl_json(gw, "audit", "list")
    methods = {a.get("method", "") for a in audit}
    for m in ("Dkim/DkimKeygen", "Dkim/DkimActivate", "Dkim/DkimRemove"):
        if not any(x.endswith(m) for x in methods):
            fail("%s not audited: %r" % (m, sorted(methods)), gw.log_path)
    _, metrics = sgtest.http_get("http://127.0.0.1:%d/metrics" % gw.ports["metrics"])
    if 'smimegate_dkim_messages_total{result="signed"}' not in metrics:
        fail("no signed count in /metrics", gw.log_path)
    print("ok: remove refuses the active key; calls audited; counted")


def main():
    work = tempfile.mkdtemp(prefix="sg-dkim-")
    gw = None
    try:
        with sgtest.DnsServer(work) as dns:
            gw = sgtest.SmimegateRun(sys.argv[1], sgtest.run_config(), prefix="sg-dkim-run-")
            with gw:
                run(gw, work, dns)
    except (TimeoutError, RuntimeError) as e:
        fail(str(e), gw.log_path if gw else "/dev/null")
    print("PASS")


if __name__ == "__main__":
    main()
