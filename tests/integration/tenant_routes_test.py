#!/usr/bin/python3
"""Issue 19: per-tenant inbound routes and registry relay-client bindings,
end to end through `smimegate run`, no restart; on the embedded queue or
(--queue kafka) on Kafka, the test broker (sgtest.SmimegateRun).

Two tenants, two SMTP sinks (aiosmtpd): after `smimegatectl tenant route set`
each tenant's inbound mail reaches its own sink; a route changed at run time
takes effect within 5 seconds; `route clear` goes back to the config file's
egress.inbound (a Maildir). A relay client (the loopback network) bound to
tenant a with `smimegatectl tenant bind` gets 553 for tenant b's domain
within 5 seconds and nothing of it leaves (so nothing is signed); unbound and
bound to b, it may send as b within 5 seconds. `route show`, `bindings`
answer with --json, and every call is audited.

Usage: tenant_routes_test.py <build dir> [--queue embedded|kafka]
"""
import json
import itertools
import os
import re
import smtplib
import sys
import threading
import time

from aiosmtpd.controller import Controller

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import sgtest  # noqa: E402

DEADLINE = 5.0  # seconds: issue 19, "within seconds without restart"
fail = sgtest.fail_with_log

CONFIG = sgtest.run_config()


class Sink:
    """Records the Message-IDs delivered to it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ids = []

    async def handle_DATA(self, server, session, envelope):
        m = re.search(rb"^Message-ID:\s*<([^>]+)>", envelope.content, re.M | re.I)
        with self.lock:
            self.ids.append(m.group(1).decode() if m else "?")
        return "250 OK"

    def has(self, mid):
        with self.lock:
            return mid in self.ids


ctl_ok = sgtest.ctl_ok
ctl_json = sgtest.ctl_json


def maildir_ids(path):
    new = os.path.join(path, "new")
    out = []
    if not os.path.isdir(new):
        return out
    for name in os.listdir(new):
        with open(os.path.join(new, name), "rb") as f:
            m = re.search(rb"^Message-ID:\s*<([^>]+)>", f.read(), re.M | re.I)
            out.append(m.group(1).decode() if m else "?")
    return out


def send_mx(port, rcpt, mid):
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
    smtp.sendmail("sender@remote.example", [rcpt],
                  f"From: sender@remote.example\r\nTo: {rcpt}\r\nSubject: route\r\n"
                  f"Message-ID: <{mid}>\r\n\r\nhello\r\n".encode())
    smtp.quit()


def mail_from_code(port, sender):
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
    try:
        smtp.ehlo("client.example")
        code, _ = smtp.mail(sender)
        return code
    finally:
        try:
            smtp.quit()
        except smtplib.SMTPException:
            pass


def time_until(what, probe, want, log_path):
    return sgtest.probe_until(what, probe, lambda got: got == want, log_path, DEADLINE)


def where(mid, sinks, inbound):
    for name, s in sinks.items():
        if s.has(mid):
            return name
    return "maildir" if mid in maildir_ids(inbound) else None


def delivered_to(gw, mid, sinks, inbound):
    """Where message `mid` was delivered (waits up to 30 s)."""
    sgtest.wait_until(lambda: where(mid, sinks, inbound) is not None, 30,
                      what=f"delivery of {mid}", proc=gw.proc)
    return where(mid, sinks, inbound)


def route_switch_time(gw, sinks, inbound, target):
    """Seconds from now until a probe to ann@a.example is delivered to `target`."""
    seq = itertools.count()

    def probe():
        mid = f"probe-{target}-{next(seq)}@remote.example"
        send_mx(gw.ports["mx"], "ann@a.example", mid)
        return delivered_to(gw, mid, sinks, inbound)

    return sgtest.probe_until(f"mail to a.example (want {target})", probe,
                              lambda got: got == target, gw.log_path, DEADLINE)


def main():
    sinks = {"sink-a": Sink(), "sink-b": Sink()}
    ports = {}
    controllers = []
    for name, sink in sinks.items():
        ports[name] = sgtest.free_port()
        c = Controller(sink, hostname="127.0.0.1", port=ports[name])
        c.start()
        controllers.append(c)
    gw = None
    try:
        gw = sgtest.SmimegateRun(sys.argv[1], CONFIG, prefix="sg-troutes-",
                                 queue=sgtest.queue_arg())
        with gw:
            run(gw, sinks, ports)
    except (TimeoutError, RuntimeError) as e:
        fail(str(e), gw.log_path if gw else "/dev/null")
    finally:
        for c in controllers:
            c.stop()


def run(gw, sinks, ports):
    log_path = gw.log_path
    inbound = os.path.join(gw.home, "mail", "inbound")
    outbound = os.path.join(gw.home, "mail", "outbound")
    for t in ("a", "b"):
        ctl_ok(gw, "tenant", "add", t)
        ctl_ok(gw, "domain", "add", f"{t}.example", "--tenant", t)
    time_until("a.example accepted", lambda: mail_from_code(gw.ports["relay"], "x@b.example"),
               250, log_path)

    # Routes: each tenant's inbound mail to its own server.
    r = gw.ctl("tenant", "route", "set", "a", "127.0.0.1:0")
    if r.returncode != 2 or "port" not in r.stderr:
        fail(f"route set with port 0: {r.returncode} {r.stderr}", log_path)
    ctl_ok(gw, "tenant", "route", "set", "a", f"127.0.0.1:{ports['sink-a']}", "--tls", "none")
    ctl_ok(gw, "tenant", "route", "set", "b", f"127.0.0.1:{ports['sink-b']}", "--tls", "none")
    route_switch_time(gw, sinks, inbound, "sink-a")
    send_mx(gw.ports["mx"], "bob@b.example", "to-b@remote.example")
    send_mx(gw.ports["mx"], "carl@example.com", "to-default@remote.example")
    got_b = delivered_to(gw, "to-b@remote.example", sinks, inbound)
    got_default = delivered_to(gw, "to-default@remote.example", sinks, inbound)
    if (got_b, got_default) != ("sink-b", "maildir"):
        fail(f"b.example went to {got_b}, example.com to {got_default}", log_path)
    shown = ctl_json(gw, "tenant", "route", "show", "a")
    if shown != {"tenant": "a", "hosts": [f"127.0.0.1:{ports['sink-a']}"], "tls": "none"}:
        fail(f"route show --json: {shown}", log_path)

    # Changed at run time: a's mail goes to sink b's server within 5 s.
    ctl_ok(gw, "tenant", "route", "set", "a", f"127.0.0.1:{ports['sink-b']}", "--tls", "none")
    changed = route_switch_time(gw, sinks, inbound, "sink-b")
    ctl_ok(gw, "tenant", "route", "clear", "a")
    cleared = route_switch_time(gw, sinks, inbound, "maildir")

    # Bindings: the loopback relay client bound to tenant a.
    before_out = len(maildir_ids(outbound))
    ctl_ok(gw, "tenant", "bind", "a", "network", "127.0.0.1/32")
    relay = gw.ports["relay"]
    bound = time_until("x@b.example from a client bound to a",
                       lambda: mail_from_code(relay, "x@b.example"), 553, log_path)
    if mail_from_code(relay, "x@a.example") != 250:
        fail("a client bound to a cannot send as a.example", log_path)
    smtp = smtplib.SMTP("127.0.0.1", relay, timeout=10)
    try:
        smtp.sendmail("ceo@b.example", ["partner@remote.example"],
                      b"From: ceo@b.example\r\nSubject: s\r\nMessage-ID: <forged@b.example>\r\n\r\nx\r\n")
        fail("a client bound to a sent as b.example", log_path)
    except smtplib.SMTPSenderRefused as e:
        if e.smtp_code != 553:
            fail(f"sending as b.example: {e.smtp_code} (want 553)", log_path)
    smtp.close()
    r = gw.ctl("tenant", "bind", "b", "network", "127.0.0.1/32")
    if r.returncode != 2 or "bound to tenant a" not in r.stderr:
        fail(f"binding a bound client again: {r.returncode} {r.stderr}", log_path)
    bindings = ctl_json(gw, "tenant", "bindings")
    if bindings != [{"kind": "network", "value": "127.0.0.1/32", "tenant": "a"}]:
        fail(f"bindings --json: {bindings}", log_path)
    ctl_ok(gw, "tenant", "unbind", "network", "127.0.0.1/32")
    ctl_ok(gw, "tenant", "bind", "b", "network", "127.0.0.1/32")
    rebound = time_until("x@b.example after rebinding to b",
                         lambda: mail_from_code(relay, "x@b.example"), 250, log_path)
    if mail_from_code(relay, "x@a.example") != 553:
        fail("a client rebound to b can still send as a.example", log_path)
    smtp = smtplib.SMTP("127.0.0.1", relay, timeout=10)
    smtp.sendmail("ceo@b.example", ["partner@remote.example"],
                  b"From: ceo@b.example\r\nSubject: s\r\nMessage-ID: <ok@b.example>\r\n\r\nx\r\n")
    smtp.quit()
    sgtest.wait_until(lambda: "ok@b.example" in maildir_ids(outbound), 30,
                      what="the rebound client's message", proc=gw.proc)
    out = maildir_ids(outbound)
    if "forged@b.example" in out or len(out) != before_out + 1:
        fail(f"outbound mail: {out} (the refused message must not leave)", log_path)

    # Usage: a participating user of b signs one message; the counter is
    # per tenant at once, in the keyservice's month report after a batch.
    ctl_ok(gw, "user", "add", "ann@b.example")
    ctl_ok(gw, "user", "add", "nobody@b.example", "--no-participate")
    smtp = smtplib.SMTP("127.0.0.1", relay, timeout=10)
    smtp.sendmail("ann@b.example", ["partner@remote.example"],
                  b"From: ann@b.example\r\nSubject: s\r\nMessage-ID: <signed@b.example>\r\n\r\nx\r\n")
    smtp.quit()
    sgtest.wait_until(lambda: "signed@b.example" in maildir_ids(outbound), 60,
                      what="ann's signed message", proc=gw.proc)
    metrics_url = f"http://127.0.0.1:{gw.ports['metrics']}/metrics"
    m = sgtest.http_get(metrics_url)[1]
    if not re.search(r'^smimegate_tenant_messages_total\{tenant="b",kind="signed"\} 1', str(m), re.M):
        fail("smimegate_tenant_messages_total of b's signed message is not 1", log_path)
    ctl_ok(gw, "usage", "snapshot")
    month = time.strftime("%Y-%m", time.gmtime())

    def b_row():
        rep = json.loads(ctl_ok(gw, "usage", "report", "--month", month, "--format", "json"))
        return {t["tenant"]: t for t in rep["tenants"]}.get("b", {})
    sgtest.wait_until(lambda: b_row().get("messages", {}).get("signed") == 1, 30,
                      what="b's signed counter in the usage report", proc=gw.proc)
    if b_row().get("billable_users") != 1:
        fail(f"usage report row of b: {b_row()} (ann participates, nobody does not)", log_path)
    csv = ctl_ok(gw, "usage", "report", "--month", month, "--tenant", "b", "--format", "csv")
    if f"domain,{month},b.example,b,,1," not in csv:
        fail(f"usage report csv: {csv}", log_path)
    m = sgtest.http_get(metrics_url)[1]
    if not re.search(r'^smimegate_usage_participating_users\{tenant="b"\} 1', str(m), re.M):
        fail("smimegate_usage_participating_users of b is not 1", log_path)

    methods = [a["method"] for a in ctl_json(gw, "audit", "list")]
    for m in ("KeyAdmin/TenantRouteSet", "KeyAdmin/TenantRouteClear", "KeyAdmin/TenantBind",
              "KeyAdmin/TenantUnbind"):
        if m not in methods:
            fail(f"no audit record of {m}", log_path)
    print(f"ok: route changed -> new server {changed:.2f} s, cleared -> egress.inbound "
          f"{cleared:.2f} s, bound -> 553 {bound:.2f} s, rebound -> 250 {rebound:.2f} s "
          f"(limit {DEADLINE:g} s)")


if __name__ == "__main__":
    main()
