#!/usr/bin/python3
"""Issue 19: the registry's global policy rules at run time, end to end
through one `smimegate run` (embedded queue) with the admin REST API, no
restart (docs/tenants.md "Global rules").

ann@a.example (tenant a, no policy override of its own) writes to
p@partner.example, which has no certificate: delivered signed
(opportunistic). A super token adds the global rule force_encrypt
partner.example over REST: within 5 seconds the same mail bounces with a
DSN ("must be encrypted"; no portal). Deleting the rule over REST restores
the opportunistic delivery within 5 seconds. A tenant token gets 403 on the
rules. The config file's rule force_encrypt cfg.example is the static
fallback: a registry exempt rule for cfg.example wins over it (mail that
bounced is delivered). smimegatectl policy rules add|list|remove|clear
work on the same list, and the changes are audited.

Usage: admin_global_rules_e2e_test.py <build dir>
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402
from admin_api_e2e_test import Api, expect  # noqa: E402

DEADLINE = 5.0  # seconds: issue 19, "takes effect in every stage within seconds"
fail = sgtest.fail_with_log

# sgtest.run_config() with the admin REST API and a force_encrypt rule in
# the config file (the registry's global rules come before it).
CONFIG = sgtest.run_config(
    keyservice_extra="admin_api: {enabled: true, address: 127.0.0.1, port: ADMIN_PORT, "
    "hostname: localhost}",
    policy="rules: [{match: cfg.example, action: force_encrypt}]")

SENDER = "ann@a.example"
_seq = [0]


def signed(msg):
    return b"multipart/signed" in msg and b"pkcs7-signature" in msg


def outcome(gw, mid):
    """("delivered", message) | ("bounced", dsn) | None, for message `mid`."""
    tag = mid.encode()
    for m in gw.maildir("outbound"):
        if tag in m:
            return "delivered", m
    for m in gw.maildir("inbound"):
        if tag in m and b"multipart/report" in m:
            return "bounced", m
    return None


def probe(gw, rcpt):
    """Sends one message from SENDER to `rcpt`; its (kind, message)."""
    _seq[0] += 1
    mid = f"probe-{_seq[0]}@a.example"
    gw.send("relay", SENDER, [rcpt],
            f"From: {SENDER}\r\nTo: {rcpt}\r\nSubject: probe\r\n"
            f"Message-ID: <{mid}>\r\n\r\nbody of {mid}\r\n".encode())
    sgtest.wait_until(lambda: outcome(gw, mid) is not None, 60, what=f"the outcome of {mid}",
                      proc=gw.proc)
    return outcome(gw, mid)


def time_until(gw, rcpt, want):
    """Seconds until mail to `rcpt` has the outcome `want` (the check of
    each message), probing again and again; fails after DEADLINE."""
    return sgtest.probe_until(f"mail to {rcpt}", lambda: probe(gw, rcpt), lambda km: want(*km),
                              gw.log_path, DEADLINE)


def bounced(kind, m):
    return kind == "bounced" and b"must be encrypted" in m


def delivered_signed(kind, m):
    return kind == "delivered" and signed(m)


def main():
    admin_port = sgtest.free_port()
    gw = None
    try:
        gw = sgtest.SmimegateRun(sys.argv[1], CONFIG.replace("ADMIN_PORT", str(admin_port)),
                                 prefix="sg-global-rules-")
        with gw:
            run(gw, Api(admin_port, os.path.join(gw.home, "admin", "tls", "selfsigned.pem")))
    except (TimeoutError, RuntimeError, OSError) as e:
        fail(str(e), gw.log_path if gw else "/dev/null")


def run(gw, api):
    log_path = gw.log_path
    sgtest.ctl_ok(gw, "tenant", "add", "a")
    sgtest.ctl_ok(gw, "domain", "add", "a.example", "--tenant", "a")
    sgtest.ctl_ok(gw, "user", "add", SENDER)
    super_token = sgtest.ctl_ok(gw, "token", "add", "--scope", "super").strip()
    tenant_token = sgtest.ctl_ok(gw, "token", "add", "--scope", "tenant:a").strip()

    kind, m = probe(gw, "p@partner.example")
    if not delivered_signed(kind, m):
        fail(f"before any global rule: {kind}, signed={signed(m)}", log_path)
    kind, m = probe(gw, "c@cfg.example")
    if not bounced(kind, m):
        fail(f"the config file's force_encrypt cfg.example: {kind} (want a bounce)", log_path)

    # A tenant token may neither read nor change the global rules.
    expect(api, gw, "GET", "/v1/policy/rules", tenant_token, 403)
    expect(api, gw, "POST", "/v1/policy/rules", tenant_token, 403, {"match": "partner.example"})

    # Added over REST: forced within seconds, no restart.
    added = expect(api, gw, "POST", "/v1/policy/rules", super_token, 200,
                   {"match": "Partner.Example", "action": "force_encrypt"})
    if added != {"rules": [{"match": "partner.example", "action": "force_encrypt"}]}:
        fail(f"POST /v1/policy/rules answered {added}", log_path)
    forced = time_until(gw, "p@partner.example", bounced)

    # Removed over REST: opportunistic again.
    expect(api, gw, "DELETE", "/v1/policy/rules/partner.example", super_token, 204)
    restored = time_until(gw, "p@partner.example", delivered_signed)

    # The registry comes before the config file: exempt cfg.example wins.
    bad = gw.ctl("policy", "rules", "add", "exempt:not a domain")
    if bad.returncode != 2 or "global rule match" not in bad.stderr:
        fail(f"policy rules add of a bad match: exit {bad.returncode}: {bad.stderr}", log_path)
    sgtest.ctl_ok(gw, "policy", "rules", "add", "exempt:cfg.example")
    listed = sgtest.ctl_json(gw, "policy", "rules", "list")
    if listed != [{"match": "cfg.example", "action": "exempt"}]:
        fail(f"policy rules list --json: {listed}", log_path)
    over_config = time_until(gw, "c@cfg.example", delivered_signed)
    sgtest.ctl_ok(gw, "policy", "rules", "remove", "cfg.example")
    time_until(gw, "c@cfg.example", bounced)
    sgtest.ctl_ok(gw, "policy", "rules", "add", "force_encrypt:x.example")
    sgtest.ctl_ok(gw, "policy", "rules", "clear")
    if expect(api, gw, "GET", "/v1/policy/rules", super_token, 200) != {"rules": []}:
        fail("policy rules clear left rules", log_path)

    methods = [a["method"] for a in sgtest.ctl_json(gw, "audit", "list")]
    for want in ("AdminApi/POST /v1/policy/rules", "AdminApi/DELETE /v1/policy/rules/{match}",
                 "KeyAdmin/GlobalRuleAdd", "KeyAdmin/GlobalRuleRemove", "KeyAdmin/GlobalRulesSet"):
        if want not in methods:
            fail(f"no audit record of {want}", log_path)
    print(f"ok: global force_encrypt over REST -> bounce {forced:.2f} s, removed -> signed "
          f"{restored:.2f} s; registry exempt over the config's force_encrypt {over_config:.2f} s "
          f"(limit {DEADLINE:g} s)")


if __name__ == "__main__":
    main()
