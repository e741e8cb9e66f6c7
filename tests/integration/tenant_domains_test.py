#!/usr/bin/python3
"""Issue 19 points 1 and 2 end to end through `smimegate run`, on the embedded
queue or (--queue kafka) on Kafka, the test broker (sgtest.SmimegateRun).

Tenants and resellers are managed with smimegatectl; a domain added to a
tenant with `smimegatectl domain add --tenant` is accepted by the running MX
listener within 5 seconds (no restart) and its mail is delivered; removed
with `smimegatectl domain remove`, it is refused with 550 within 5 seconds.
The lists answer with --json, and every admin call is in the audit log.

Usage: tenant_domains_test.py <build dir> [--queue embedded|kafka]
"""
import os
import re
import smtplib
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402

DEADLINE = 5.0  # seconds: issue 19, "within 5 seconds without restart"

fail = sgtest.fail_with_log
ctl_ok = sgtest.ctl_ok
ctl_json = sgtest.ctl_json


rcpt_code = sgtest.rcpt_code


def time_until(port, rcpt, want, log_path):
    return sgtest.seconds_until_rcpt(port, rcpt, want, log_path, DEADLINE)




def maildir_count(path):
    new = os.path.join(path, "new")
    return len(os.listdir(new)) if os.path.isdir(new) else 0


def main():
    gw = None
    try:
        gw = sgtest.SmimegateRun(sys.argv[1], sgtest.run_config(), prefix="sg-tenants-",
                                 queue=sgtest.queue_arg())
        with gw:
            run(gw)
    except (TimeoutError, RuntimeError) as e:
        fail(str(e), gw.log_path if gw else "/dev/null")


def run(gw):
    mx, log_path = gw.ports["mx"], gw.log_path
    if rcpt_code(mx, "ann@acme.example") != 550:
        fail("acme.example is accepted before it was added", log_path)

    ctl_ok(gw, "reseller", "add", "sh1", "--name", "System House One")
    ctl_ok(gw, "tenant", "add", "acme", "--name", "ACME Corp", "--reseller", "sh1")
    r = gw.ctl("domain", "add", "acme.example", "--tenant", "nosuch")
    if r.returncode != 1 or "smimegatectl tenant add nosuch" not in r.stderr + r.stdout:
        fail(f"domain add --tenant of an unknown tenant: {r.returncode} {r.stderr}", log_path)
    ctl_ok(gw, "domain", "add", "acme.example", "--tenant", "acme")
    added = time_until(mx, "ann@acme.example", 250, log_path)

    # Its mail is delivered like any hosted domain's.
    inbound = os.path.join(gw.home, "mail", "inbound")
    smtp = smtplib.SMTP("127.0.0.1", mx, timeout=10)
    smtp.sendmail("sender@remote.example", ["ann@acme.example"],
                  b"From: sender@remote.example\r\nTo: ann@acme.example\r\n"
                  b"Subject: runtime domain\r\nMessage-ID: <rt-1@remote.example>\r\n\r\nhello\r\n")
    smtp.quit()
    sgtest.wait_until(lambda: maildir_count(inbound) >= 1, 30,
                      what="delivery to ann@acme.example", proc=gw.proc)

    tenants = {t["id"]: t for t in ctl_json(gw, "tenant", "list")}
    want = {"id": "acme", "name": "ACME Corp", "reseller": "sh1", "domains": ["acme.example"]}
    got = {k: tenants.get("acme", {}).get(k) for k in want}
    if got != want or tenants.get("default", {}).get("domains") != ["example.com"]:
        fail(f"tenant list --json: {tenants}", log_path)
    resellers = ctl_json(gw, "reseller", "list")
    if [(x["id"], x["tenants"]) for x in resellers] != [("sh1", ["acme"])]:
        fail(f"reseller list --json: {resellers}", log_path)
    domains = {d["name"]: d["tenant"] for d in ctl_json(gw, "domain", "list")}
    if domains != {"acme.example": "acme", "example.com": "default"}:
        fail(f"domain list --json: {domains}", log_path)

    metrics = sgtest.wait_http(f"http://127.0.0.1:{gw.ports['metrics']}/metrics", proc=gw.proc)
    if not re.search(r"^smimegate_hosted_domains 2(\.0)?$", metrics, re.M):
        fail("smimegate_hosted_domains is not 2", log_path)

    r = gw.ctl("tenant", "remove", "acme")
    if r.returncode != 2 or "acme.example" not in r.stderr:
        fail(f"tenant remove of a tenant with domains: {r.returncode} {r.stderr}", log_path)
    ctl_ok(gw, "domain", "remove", "acme.example")
    removed = time_until(mx, "ann@acme.example", 550, log_path)
    if rcpt_code(mx, "bob@example.com") != 250:
        fail("the config file's domain is refused after another domain was removed", log_path)
    ctl_ok(gw, "tenant", "remove", "acme")
    ctl_ok(gw, "reseller", "remove", "sh1")

    methods = [a["method"] for a in ctl_json(gw, "audit", "list")]
    for m in ("KeyAdmin/ResellerAdd", "KeyAdmin/TenantAdd", "KeyAdmin/AddDomain",
              "KeyAdmin/TenantList", "KeyAdmin/TenantRemoveDomain", "KeyAdmin/TenantRemove",
              "KeyAdmin/ResellerRemove"):
        if m not in methods:
            fail(f"no audit record of {m}: {methods}", log_path)
    print(f"ok: domain accepted {added:.2f} s after `domain add`, refused {removed:.2f} s after "
          f"`domain remove` (limit {DEADLINE:g} s); tenants, resellers, --json and audit")


if __name__ == "__main__":
    main()
