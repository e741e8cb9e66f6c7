#!/usr/bin/python3
"""Issue 19: per-tenant policy overrides at run time, end to end through one
`smimegate run` (embedded queue), no restart.

Two tenants a and b with a participating user each. Tenant a gets a
force_encrypt rule for partner.example at run time (`smimegatectl tenant
policy set`): within 5 seconds a's mail to partner.example (no certificate,
no web encryption) bounces with a DSN to the sender and nothing is
delivered, while b's mail to partner.example is still delivered signed.
Tenant b switches the [plain] tag off: b's "[plain]" mail is signed
anyway (the tag removed), a's "[plain]" mail still leaves unchanged.
`policy show --json` answers, and every change is audited.

Usage: tenant_policy_test.py <build dir>
"""
import os
import smtplib
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402

DEADLINE = 5.0  # seconds: issue 19, "within seconds without restart"
fail = sgtest.fail_with_log

CONFIG = sgtest.run_config()


def send(gw, sender, rcpt, subject, mid):
    smtp = smtplib.SMTP("127.0.0.1", gw.ports["relay"], timeout=10)
    smtp.sendmail(sender, [rcpt],
                  f"From: {sender}\r\nTo: {rcpt}\r\nSubject: {subject}\r\n"
                  f"Message-ID: <{mid}>\r\n\r\nbody of {mid}\r\n".encode())
    smtp.quit()


def signed(msg):
    return b"multipart/signed" in msg and b"pkcs7-signature" in msg


def outcome(gw, mid):
    """("delivered", message) | ("bounced", dsn) | None, for message `mid`."""
    tag = mid.encode()
    for m in sgtest.maildir_messages(os.path.join(gw.home, "mail", "outbound")):
        if tag in m:
            return "delivered", m
    for m in sgtest.maildir_messages(os.path.join(gw.home, "mail", "inbound")):
        if tag in m and b"multipart/report" in m:
            return "bounced", m
    return None


def wait_outcome(gw, mid):
    sgtest.wait_until(lambda: outcome(gw, mid) is not None, 60, what=f"the outcome of {mid}",
                      proc=gw.proc)
    return outcome(gw, mid)


def main():
    gw = None
    try:
        gw = sgtest.SmimegateRun(sys.argv[1], CONFIG, prefix="sg-tpolicy-")
        with gw:
            run(gw)
    except (TimeoutError, RuntimeError) as e:
        fail(str(e), gw.log_path if gw else "/dev/null")


def run(gw):
    for t in ("a", "b"):
        sgtest.ctl_ok(gw, "tenant", "add", t)
        sgtest.ctl_ok(gw, "domain", "add", f"{t}.example", "--tenant", t)
        sgtest.ctl_ok(gw, "user", "add", f"ann@{t}.example")
    run_rules(gw)


def run_rules(gw):
    log_path = gw.log_path
    # Before any override: both tenants' mail to the partner is signed.
    for t in ("a", "b"):
        send(gw, f"ann@{t}.example", "p@partner.example", "hello", f"before-{t}@x")
        kind, m = wait_outcome(gw, f"before-{t}@x")
        if kind != "delivered" or not signed(m):
            fail(f"{t}'s mail before the rule: {kind}, signed={signed(m)}", log_path)

    # Tenant a: force encryption to partner.example, at run time.
    r = gw.ctl("tenant", "policy", "set", "a", "--rule", "force_encrypt:not a domain")
    if r.returncode == 0 or "rules[0] match" not in r.stderr:
        fail(f"a bad rule: {r.returncode} {r.stderr}", log_path)
    sgtest.ctl_ok(gw, "tenant", "policy", "set", "a", "--rule", "force_encrypt:partner.example")
    start = time.monotonic()
    for i in range(500):
        sent = time.monotonic() - start
        mid = f"probe-{i}@a.example"
        send(gw, "ann@a.example", "p@partner.example", "probe", mid)
        kind, m = wait_outcome(gw, mid)
        if kind == "bounced":
            if b"must be encrypted" not in m:
                fail(f"the DSN does not say why: {m[:600]!r}", log_path)
            break
        if sent > DEADLINE:
            fail(f"a's mail to partner.example still {kind} {sent:.1f} s after the rule", log_path)
    applied = sent
    # b's mail to the partner is not affected.
    send(gw, "ann@b.example", "p@partner.example", "hello", "after-b@x")
    kind, m = wait_outcome(gw, "after-b@x")
    if kind != "delivered" or not signed(m):
        fail(f"b's mail after a's rule: {kind} (a's rule must not apply to b)", log_path)

    # Tenant b: [plain] is not honoured; a's [plain] still is.
    sgtest.ctl_ok(gw, "tenant", "policy", "set", "b", "--tags-off", "plain")
    shown = sgtest.ctl_json(gw, "tenant", "policy", "show", "b")
    if shown.get("tags_off") != ["plain"] or shown.get("web_encryption") != "inherit":
        fail(f"policy show --json: {shown}", log_path)
    start = time.monotonic()
    for i in range(500):
        sent = time.monotonic() - start
        mid = f"plain-{i}@b.example"
        send(gw, "ann@b.example", "q@other.example", "[plain] offer", mid)
        kind, m = wait_outcome(gw, mid)
        if kind == "delivered" and signed(m):
            if b"[plain]" in m:
                fail("the switched-off tag was not removed from the subject", log_path)
            break
        if sent > DEADLINE:
            fail(f"b's [plain] mail still unchanged {sent:.1f} s after tags_off", log_path)
    tag_applied = sent
    send(gw, "ann@a.example", "q@other.example", "[plain] offer", "plain-a@a.example")
    kind, m = wait_outcome(gw, "plain-a@a.example")
    if kind != "delivered" or signed(m) or b"[plain]" in m:
        fail(f"a's [plain] mail: {kind}, signed={signed(m)} (want unchanged, tag removed)",
             log_path)

    # Cleared: a's mail to the partner is delivered again.
    sgtest.ctl_ok(gw, "tenant", "policy", "clear", "a")
    sgtest.wait_until(lambda: probe_delivered(gw), 10, what="a's mail after policy clear",
                      proc=gw.proc)

    methods = [a["method"] for a in sgtest.ctl_json(gw, "audit", "list")]
    for m in ("KeyAdmin/TenantPolicySet", "KeyAdmin/TenantPolicyClear"):
        if m not in methods:
            fail(f"no audit record of {m}", log_path)
    print(f"ok: a's force_encrypt rule -> bounce {applied:.2f} s, b unaffected; "
          f"b's tags_off plain -> signed {tag_applied:.2f} s, a's [plain] unchanged "
          f"(limit {DEADLINE:g} s)")


_probe = [0]


def probe_delivered(gw):
    _probe[0] += 1
    mid = f"cleared-{_probe[0]}@a.example"
    send(gw, "ann@a.example", "p@partner.example", "again", mid)
    kind, _ = wait_outcome(gw, mid)
    return kind == "delivered"


if __name__ == "__main__":
    main()
