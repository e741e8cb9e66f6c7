#!/usr/bin/python3
"""The portal's stored messages over the admin REST API, end to end
(issue 19, "portal"): `smimegate run` with web encryption, the portal and
the admin API; two tenants (a: example.com, b: example.net) send
[confidential] mail to recipients without a certificate, which the portal
stores. Over REST with tenant tokens: each tenant lists only its own
messages, gets 404 for the other's, resends a link of its own (a new
notification), purges a recipient (only its own messages go) and one
message; the expiry is super only; the calls are in the audit trail.

Usage: admin_portal_e2e_test.py <build dir>
"""
import os
import sys
import email.policy
from email.message import EmailMessage

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402
from admin_api_e2e_test import Api, expect  # noqa: E402

fail = sgtest.fail_with_log
ctl_ok = sgtest.ctl_ok


def config(admin_port, portal_port):
    text = sgtest.run_config(keyservice_extra="admin_api: {enabled: true, address: 127.0.0.1, "
                             "port: %d, hostname: localhost}" % admin_port)
    text = text.replace("hosted_domains: [example.com]", "hosted_domains: [example.com, example.net]")
    text = text.replace("  policy:\n", "  policy:\n    web_encryption: true\n")
    return text + ("portal:\n  enabled: true\n  port: %d\n  hostname: localhost\n"
                   "  kek_file: portal/kek\n  kek_create: true\n" % portal_port)


def confidential(gw, sender, to, subject):
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, "[confidential] " + subject
    m.set_content("body of " + subject + "\n")
    gw.send("relay", sender, [to], m.as_bytes(policy=email.policy.SMTP))


def listed(api, gw, token, query=""):
    answer = expect(api, gw, "GET", "/v1/portal/messages" + query, token, 200)
    return sorted((m["recipient"], m["sender"]) for m in answer["messages"]), answer["messages"]


def run(gw, admin_port):
    api = Api(admin_port, os.path.join(gw.home, "admin", "tls", "selfsigned.pem"))
    root = ctl_ok(gw, "token", "add", "--scope", "super", "--name", "provider").strip()
    for tenant, domain in (("a", "example.com"), ("b", "example.net")):
        expect(api, gw, "POST", "/v1/tenants", root, 201, {"id": tenant, "name": tenant.upper()})
        expect(api, gw, "POST", "/v1/domains", root, 200, {"name": domain, "tenant": tenant})
    ctl_ok(gw, "user", "add", "alice@example.com")
    ctl_ok(gw, "user", "add", "carol@example.net")
    a = ctl_ok(gw, "token", "add", "--scope", "tenant:a").strip()
    b = ctl_ok(gw, "token", "add", "--scope", "tenant:b").strip()

    confidential(gw, "alice@example.com", "partner@example.org", "A1")
    confidential(gw, "carol@example.net", "partner@example.org", "B1")
    confidential(gw, "carol@example.net", "pat@example.org", "B2")
    sgtest.wait_until(lambda: len(listed(api, gw, root)[0]) == 3, 30,
                      what="3 messages in the portal", proc=gw.proc)
    sgtest.wait_until(lambda: len(gw.maildir("outbound")) >= 3, 30, what="3 notifications",
                      proc=gw.proc)

    # Each tenant sees its own messages only.
    if listed(api, gw, a)[0] != [("partner@example.org", "alice@example.com")]:
        fail(f"tenant a lists {listed(api, gw, a)[0]}", gw.log_path)
    if listed(api, gw, b)[0] != [("partner@example.org", "carol@example.net"),
                                 ("pat@example.org", "carol@example.net")]:
        fail(f"tenant b lists {listed(api, gw, b)[0]}", gw.log_path)
    expect(api, gw, "GET", "/v1/portal/messages?domain=example.net", a, 404)
    b_partner = [m for m in listed(api, gw, b)[1] if m["recipient"] == "partner@example.org"][0]
    b_pat = [m for m in listed(api, gw, b)[1] if m["recipient"] == "pat@example.org"][0]
    a_partner = listed(api, gw, a)[1][0]
    if a_partner["sender_domain"] != "example.com" or not a_partner["notified"]:
        fail(f"tenant a's message: {a_partner}", gw.log_path)

    # Tenant a cannot act on tenant b's message.
    expect(api, gw, "DELETE", f"/v1/portal/messages/partner@example.org/{b_partner['id']}", a, 404)
    expect(api, gw, "POST",
           f"/v1/portal/messages/partner@example.org/{b_partner['id']}/resend-link", a, 404)
    if len(listed(api, gw, root)[0]) != 3:
        fail("tenant a's refused purge removed a message", gw.log_path)

    # A resend of its own: a fourth notification.
    resent = expect(api, gw, "POST",
                    f"/v1/portal/messages/partner@example.org/{a_partner['id']}/resend-link", a, 200)
    if resent["id"] != a_partner["id"]:
        fail(f"resend-link answered {resent}", gw.log_path)
    sgtest.wait_until(lambda: len(gw.maildir("outbound")) >= 4, 30, what="the resent notification",
                      proc=gw.proc)

    # A recipient purge by tenant a removes only tenant a's message of that recipient.
    purged = expect(api, gw, "DELETE", "/v1/portal/recipients/partner@example.org", a, 200)
    if purged["messages"] != 1:
        fail(f"tenant a's recipient purge: {purged}", gw.log_path)
    if listed(api, gw, root)[0] != [("partner@example.org", "carol@example.net"),
                                    ("pat@example.org", "carol@example.net")]:
        fail(f"after tenant a's purge: {listed(api, gw, root)[0]}", gw.log_path)
    expect(api, gw, "DELETE", "/v1/portal/recipients/partner@example.org?account=true", b, 403)
    expect(api, gw, "POST", "/v1/portal/purge-expired", b, 403)
    expect(api, gw, "POST", "/v1/portal/purge-expired", root, 200)

    # Tenant b purges one message of its own.
    expect(api, gw, "DELETE", f"/v1/portal/messages/pat@example.org/{b_pat['id']}", b, 200)
    if listed(api, gw, root)[0] != [("partner@example.org", "carol@example.net")]:
        fail(f"after tenant b's purge: {listed(api, gw, root)[0]}", gw.log_path)

    records = expect(api, gw, "GET", "/v1/audit?limit=1000", root, 200)["records"]
    methods = {(r["method"], r["role"], r["result"]) for r in records}
    for want in (("AdminApi/DELETE /v1/portal/recipients/{recipient}", "tenant:a", "OK"),
                 ("AdminApi/DELETE /v1/portal/messages/{recipient}/{id}", "tenant:a", "NOT_FOUND"),
                 ("AdminApi/DELETE /v1/portal/messages/{recipient}/{id}", "tenant:b", "OK"),
                 ("AdminApi/POST /v1/portal/messages/{recipient}/{id}/resend-link", "tenant:a",
                  "OK")):
        if want not in methods:
            fail(f"no audit record {want}", gw.log_path)


def main():
    admin_port, portal_port = sgtest.free_port(), sgtest.free_port()
    gw = None
    try:
        gw = sgtest.SmimegateRun(sys.argv[1], config(admin_port, portal_port),
                                 prefix="sg-admin-portal-")
        with gw:
            run(gw, admin_port)
    except (TimeoutError, RuntimeError, OSError) as e:
        fail(str(e), gw.log_path if gw else "/dev/null")
    print("OK: portal messages over REST: per-tenant lists, 404 across tenants, resend, "
          "recipient and message purges, super-only expiry, audit")


if __name__ == "__main__":
    main()
