#!/usr/bin/python3
"""Issue 22: certificate discovery from a partner's LDAP directory
(docs/discovery.md "Partner LDAP directories").

`smimegate run` with workers.discovery on and SMIMEA off, one partner
directory for partner.example: a real slapd on loopback
(sgtest.TestSlapd: smimegate-test-slapd, tests/support/slapd_test_server.h: StartTLS required,
a bind identity that alone may read) holding bob@partner.example's
certificate (userCertificate;binary) from a partner CA the admin trusts, and
carol's from a CA nobody trusts. A second directory, for down.example,
accepts connections and never answers.

- alice -> bob: set aside while the worker looks him up, then delivered
  encrypted to the discovered certificate (openssl cms decrypts it with
  bob's key), which is stored like a harvested one;
- alice -> carol: her certificate fails the harvest check (untrusted CA):
  signed only;
- alice -> "b*@partner.example" (an LDAP filter injection attempt: unescaped,
  the filter would match bob): nothing found, signed only;
- alice -> dave@down.example: the lookup outlasts max_wait and the message
  goes on signed only; nothing is lost.

Usage: discovery_ldap_test.py <build dir>
"""
import base64
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import sgtest  # noqa: E402
# The PKI, message and bob's check of the SMIMEA test.
from discovery_test import expect_encrypted_to_bob, partner_pki, send  # noqa: E402

fail = sgtest.fail_with_log
SUFFIX = "dc=partner,dc=example"
BIND_DN = "cn=gateway," + SUFFIX


def write_ldif(path, entries):
    """entries: (uid, mail, certificate DER or None)."""
    with open(path, "w") as f:
        for uid, mail, der in entries:
            f.write("dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\n"
                    "mail: %s\n" % (uid, SUFFIX, uid, uid, uid, mail))
            if der:
                f.write("userCertificate;binary:: %s\n" % base64.b64encode(der).decode())
            f.write("\n")


def metric(gw, line):
    _, text = sgtest.http_get("http://127.0.0.1:%d/metrics" % gw.ports["metrics"])
    return line in text


def signed_only(gw, msg, who):
    if b"application/pkcs7-mime" in msg or b"multipart/signed" not in msg:
        fail("mail to %s was not signed-only: %r" % (who, msg[:400]), gw.log_path)


def run(gw, work, ca, users):
    sgtest.ctl_ok(gw, "user", "add", "alice@example.com")
    sgtest.ctl_ok(gw, "trust", "add", ca)

    expect_encrypted_to_bob(gw, work, users)
    print("ok: bob's certificate found in the partner directory, harvested and encrypted to")

    signed_only(gw, gw.wait_mail("outbound", send(gw, "carol@partner.example", 2).encode(),
                                 timeout=60), "carol (untrusted CA)")
    print("ok: a certificate from an untrusted CA is refused (signed only)")

    signed_only(gw, gw.wait_mail("outbound", send(gw, "b*@partner.example", 3).encode(),
                                 timeout=60), "b*@partner.example")
    print("ok: an injection attempt in the address finds nothing")

    start = time.monotonic()
    signed_only(gw, gw.wait_mail("outbound", send(gw, "dave@down.example", 4).encode(),
                                 timeout=60), "dave (directory down)")
    waited = time.monotonic() - start
    if waited < 2.5:
        fail("mail to dave went on after %.1f s, before max_wait (3s)" % waited, gw.log_path)
    print("ok: a directory that does not answer: signed only after max_wait (%.1f s)" % waited)

    want = ['smimegate_discovery_lookups_total{source="ldap",result="found"} 1',
            'smimegate_discovery_lookups_total{source="ldap",result="rejected"} 1',
            'smimegate_discovery_lookups_total{source="ldap",result="not_found"} 1',
            'smimegate_discovery_recipients_total{outcome="deadline"} ']
    for line in want:
        if not sgtest.poll_until(lambda line=line: metric(gw, line), timeout=20):
            fail("no %s in /metrics" % line, gw.log_path)
    print("ok: lookups counted (found, rejected, not_found; one deadline)")


def main():
    build = sys.argv[1]
    work = tempfile.mkdtemp(prefix="sg-disc-ldap-")
    for sub in ("pki", "other"):
        os.makedirs(os.path.join(work, sub))
    ca, users = partner_pki(os.path.join(work, "pki"))
    _, strangers = partner_pki(os.path.join(work, "other"))  # a CA nobody trusts
    ldif = os.path.join(work, "entries.ldif")
    write_ldif(ldif, [("bob", "bob@partner.example", users["bob"][2]),
                      ("bobby", "bobby@partner.example", users["bob"][2]),
                      ("carol", "carol@partner.example", strangers["carol"][2])])
    silent = socket.socket()  # the directory of down.example: accepts, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    gw = None
    try:
        with sgtest.TestSlapd(build, work, SUFFIX, BIND_DN, ldif) as slapd:
            workers = """\
                discovery:
                  enabled: true
                  smimea: false
                  retry: 200ms
                  max_wait: 3s
                  ldap:
                    - domains: [partner.example]
                      url: "ldap://127.0.0.1:%d"
                      ca_file: "%s"
                      bind_dn: "%s"
                      bind_password_file: "%s"
                      base_dn: "%s"
                    - domains: [down.example]
                      url: "ldap://127.0.0.1:%d"
                      base_dn: "dc=down,dc=example"
                      timeout: 6s
                """ % (slapd.ldap_port, slapd.ca_file, BIND_DN, slapd.password_file, SUFFIX,
                       silent.getsockname()[1])
            gw = sgtest.SmimegateRun(build, sgtest.run_config(workers=workers),
                                     prefix="sg-disc-ldap-run-")
            with gw:
                run(gw, work, ca, users)
    except (TimeoutError, RuntimeError, subprocess.CalledProcessError) as e:
        fail(str(e), gw.log_path if gw else "/dev/null")
    finally:
        silent.close()
    print("PASS")


if __name__ == "__main__":
    main()
